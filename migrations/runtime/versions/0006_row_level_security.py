"""Row-level security: every tenant-scoped table confined to the transaction's tenant

On PostgreSQL, each table whose key starts with ``tenant_id`` (``tenants`` by its
``id``, the tenant itself) gets row-level security enabled and forced, a policy
comparing its tenant with the transaction-local ``agentfold.tenant_id`` setting, and a
policy letting the migrating (owner) role read and write across tenants when
``agentfold.system`` is ``on`` (``agentfold_core.db.row_security``). With
``AGENTFOLD_APP_ROLE`` set, that role is granted the rows of each table. Nothing
changes on SQLite.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

from agentfold_core.migrations.ops import (
    disable_row_security,
    enable_row_security,
    grant_version_table,
)

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "agent_runs",
    "agent_steps",
    "api_keys",
    "audit_events",
    "context_cache",
    "conversations",
    "credential_secrets",
    "credit_grants",
    "credit_ledger",
    "events",
    "feedback",
    "ledger_artifacts",
    "llm_calls",
    "messages",
    "project_metadata",
    "task_relations",
    "tasks",
    "tool_calls",
    "trigger_invocations",
)


def upgrade() -> None:
    """Apply this revision."""
    grant_version_table()
    for table in TABLES:
        enable_row_security(table)
    enable_row_security("tenants", tenant_column="id")


def downgrade() -> None:
    """Revert this revision."""
    disable_row_security("tenants")
    for table in reversed(TABLES):
        disable_row_security(table)
