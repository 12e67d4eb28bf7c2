"""Tenant-wide API keys with roles; list-order indexes on every listed table

API keys (``api_keys``):

- Roles become ``admin`` (the whole tenant: no project, no agent), ``editor`` and
  ``viewer`` (one project, no agent) and ``runner`` (one project, optionally one agent).
  ``project_id`` becomes nullable for admin keys, and the CHECK constraint
  ``ck_api_keys_role_binding`` holds every row to its role's binding.
- Existing rows (all bound to a project) are mapped, never widened: ``run`` becomes
  ``runner``; ``member`` and the old project-bound ``admin`` become ``editor``; a
  ``member`` or ``admin`` key bound to an agent becomes ``runner`` (editors take no
  agent, and dropping the agent would widen the key). A row with any other role stops
  the upgrade with an error naming the count; nothing is changed.

Downgrade maps ``editor`` back to ``member`` and ``runner`` to ``run``. It **refuses**
(an error naming the counts; nothing is changed) while the table holds keys the old
schema cannot express without widening them: tenant-wide ``admin`` keys (no project)
and ``viewer`` keys. Delete or re-issue those first, for example
``DELETE FROM api_keys WHERE project_id IS NULL OR role = 'viewer'``.

Schema and data move in one revision here (migrations/README.md, rule 3, asks for two):
the constraint cannot exist while old role names do, and the change ships as one step.
The data statements are idempotent.

List order: ``ix_<table>_list`` on (list scope, created_at, id) of every listed table
(declared once in ``agentfold_core.db.list_order``); plain ``CREATE INDEX`` on both
backends, no batch copy.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:42:49.657297
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.util import CommandError

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ("admin", "editor", "viewer", "runner")
# The same text as the model's CheckConstraint (agentfold_core.db.runtime.schema).
ROLE_BINDING = (
    "(role = 'admin' AND project_id IS NULL AND agent_id IS NULL)"
    " OR (role IN ('editor', 'viewer') AND project_id IS NOT NULL AND agent_id IS NULL)"
    " OR (role = 'runner' AND project_id IS NOT NULL)"
)

api_keys = sa.table(
    "api_keys",
    sa.column("role", sa.String),
    sa.column("project_id", sa.String),
    sa.column("agent_id", sa.String),
)


def _count(condition: sa.ColumnElement[bool]) -> int:
    """Rows of ``api_keys`` matching ``condition`` (0 when only writing SQL, offline)."""
    if op.get_context().as_sql:
        return 0
    query = sa.select(sa.func.count()).select_from(api_keys).where(condition)
    return int(op.get_bind().execute(query).scalar_one())


def _set_role(new: str, condition: sa.ColumnElement[bool]) -> None:
    op.execute(api_keys.update().where(condition).values(role=new))


def upgrade() -> None:
    """Apply this revision."""
    old_admin_or_member = api_keys.c.role.in_(("admin", "member"))
    _set_role("runner", sa.and_(old_admin_or_member, api_keys.c.agent_id.is_not(None)))
    _set_role("editor", old_admin_or_member)
    _set_role("runner", api_keys.c.role == "run")
    unknown = _count(api_keys.c.role.not_in(ROLES))
    if unknown:
        raise CommandError(
            f"api_keys: {unknown} row(s) have a role other than admin, member or run; "
            "give them one of those (or delete them) and upgrade again"
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("project_id", existing_type=sa.String(length=255), nullable=True)
        batch_op.create_check_constraint(op.f("ck_api_keys_role_binding"), ROLE_BINDING)

    op.create_index(op.f("ix_api_keys_list"), "api_keys", ["tenant_id", "created_at", "id"])
    op.create_index(
        op.f("ix_context_cache_list"),
        "context_cache",
        ["tenant_id", "project_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_conversations_list"),
        "conversations",
        ["tenant_id", "project_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_events_list"),
        "events",
        ["tenant_id", "project_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_feedback_list"),
        "feedback",
        ["tenant_id", "project_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_ledger_artifacts_list"),
        "ledger_artifacts",
        ["tenant_id", "project_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_messages_list"),
        "messages",
        ["tenant_id", "project_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_project_metadata_list"),
        "project_metadata",
        ["tenant_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_task_relations_list"),
        "task_relations",
        ["tenant_id", "project_id", "created_at", "id"],
    )
    op.create_index(op.f("ix_tasks_list"), "tasks", ["tenant_id", "project_id", "created_at", "id"])
    op.create_index(
        op.f("ix_trigger_invocations_list"),
        "trigger_invocations",
        ["tenant_id", "project_id", "agent_id", "created_at", "id"],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_trigger_invocations_list"), table_name="trigger_invocations")
    op.drop_index(op.f("ix_tasks_list"), table_name="tasks")
    op.drop_index(op.f("ix_task_relations_list"), table_name="task_relations")
    op.drop_index(op.f("ix_project_metadata_list"), table_name="project_metadata")
    op.drop_index(op.f("ix_messages_list"), table_name="messages")
    op.drop_index(op.f("ix_ledger_artifacts_list"), table_name="ledger_artifacts")
    op.drop_index(op.f("ix_feedback_list"), table_name="feedback")
    op.drop_index(op.f("ix_events_list"), table_name="events")
    op.drop_index(op.f("ix_conversations_list"), table_name="conversations")
    op.drop_index(op.f("ix_context_cache_list"), table_name="context_cache")
    op.drop_index(op.f("ix_api_keys_list"), table_name="api_keys")

    tenant_wide = _count(api_keys.c.project_id.is_(None))
    viewers = _count(api_keys.c.role == "viewer")
    if tenant_wide or viewers:
        raise CommandError(
            f"api_keys: {tenant_wide} tenant-wide admin key(s) and {viewers} viewer key(s) "  # noqa: S608 - a message naming SQL, not a query
            "cannot be expressed by revision 0001 without widening them; delete them "
            "(DELETE FROM api_keys WHERE project_id IS NULL OR role = 'viewer') "
            "and downgrade again"
        )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_keys_role_binding"), type_="check")
        batch_op.alter_column("project_id", existing_type=sa.String(length=255), nullable=False)
    _set_role("member", api_keys.c.role == "editor")
    _set_role("run", api_keys.c.role == "runner")
