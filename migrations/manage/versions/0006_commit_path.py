"""Commit path: capture pausable per branch, no commit parent index, fewer per-row checks

No query finds a commit by its parent (history walks go from a commit to its parents,
by primary key), but the index shared the primary key's leading ``tenant_id,
project_id``. With statistics taken while ``vc_commits`` was small, PostgreSQL's plans
for a lookup by id (the commit's parent, and the foreign-key checks of every change,
snapshot row and branch head) chose it and filtered every commit of the project, so
each commit cost more than the one before until the table was analysed again.

A commit's changes and snapshot rows are written in the same statement batch as the
commit itself and only ever deleted with their project, so their foreign keys to
``vc_commits`` checked one commit once per row (a 1,000-row snapshot: 1,000 lookups,
each as slow as the plan cached for it while the table was young). Branch heads and
tags keep theirs.

Capture can pause for one branch (a row in ``vc_paused``, written and deleted inside one
transaction): copying a branch, materialising a commit and dropping a branch write
rows that are exactly a manifest, and recorded every key only to forget it again.
Every capture trigger is installed again with that condition.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from agentfold_core.migrations.ops import (
    create_capture_triggers,
    disable_row_security,
    drop_capture_triggers,
    enable_row_security,
)

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_COMMIT_KEY = ["tenant_id", "project_id", "commit_id"]
_COMMITS_KEY = ["tenant_id", "project_id", "id"]
_TABLES = ("vc_changes", "vc_snapshots")
# Every versioned table at this revision: its key after the scope, its project column.
_CAPTURED: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("projects", ("id",), "id"),
    ("agents", ("id",), "project_id"),
    ("artifact_components", ("id",), "project_id"),
    ("credential_references", ("id",), "project_id"),
    ("data_components", ("id",), "project_id"),
    ("functions", ("id",), "project_id"),
    ("skills", ("id",), "project_id"),
    ("context_configs", ("agent_id", "id"), "project_id"),
    ("external_agents", ("id",), "project_id"),
    ("function_tools", ("agent_id", "id"), "project_id"),
    ("skill_files", ("id",), "project_id"),
    ("sub_agents", ("agent_id", "id"), "project_id"),
    ("tools", ("id",), "project_id"),
    ("triggers", ("agent_id", "id"), "project_id"),
    ("sub_agent_artifact_components", ("agent_id", "sub_agent_id", "id"), "project_id"),
    ("sub_agent_data_components", ("agent_id", "sub_agent_id", "id"), "project_id"),
    ("sub_agent_external_agent_relations", ("agent_id", "sub_agent_id", "id"), "project_id"),
    ("sub_agent_function_tool_relations", ("agent_id", "sub_agent_id", "id"), "project_id"),
    ("sub_agent_relations", ("agent_id", "id"), "project_id"),
    ("sub_agent_skills", ("agent_id", "sub_agent_id", "id"), "project_id"),
    ("sub_agent_team_agent_relations", ("agent_id", "sub_agent_id", "id"), "project_id"),
    ("sub_agent_tool_relations", ("agent_id", "sub_agent_id", "id"), "project_id"),
)


def _reinstall_capture(*, pausable: bool) -> None:
    for table, keys, project_column in _CAPTURED:
        drop_capture_triggers(table)
        create_capture_triggers(table, keys, project_column=project_column, pausable=pausable)


def _table(name: str, *, checked: bool) -> sa.Table:
    # The table as this revision finds it (SQLite rebuilds it from this description, so
    # offline SQL needs no live database to reflect it).
    metadata = sa.MetaData()
    sa.Table(
        "vc_commits",
        metadata,
        *(sa.Column(c, sa.String(256), primary_key=True) for c in _COMMITS_KEY),
    )
    payload = (
        [sa.Column("before_hash", sa.String(40)), sa.Column("after_hash", sa.String(40))]
        if name == "vc_changes"
        else [sa.Column("row_hash", sa.String(40), nullable=False)]
    )
    check = (
        [
            sa.ForeignKeyConstraint(
                _COMMIT_KEY,
                [f"vc_commits.{c}" for c in _COMMITS_KEY],
                name=f"fk_{name}_commit_id_vc_commits",
                ondelete="CASCADE",
            )
        ]
        if checked
        else []
    )
    return sa.Table(
        name,
        metadata,
        sa.Column("tenant_id", sa.String(256), nullable=False),
        sa.Column("project_id", sa.String(256), nullable=False),
        sa.Column("commit_id", sa.String(40), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("row_key", sa.String(1024), nullable=False),
        *payload,
        *check,
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "commit_id", "table_name", "row_key", name=f"pk_{name}"
        ),
    )


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("vc_commits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vc_commits_parent_id"))
    for table in _TABLES:
        with op.batch_alter_table(table, copy_from=_table(table, checked=True)) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_commit_id_vc_commits", type_="foreignkey")
    op.create_table(
        "vc_paused",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "branch", name=op.f("pk_vc_paused")),
    )
    enable_row_security("vc_paused")
    _reinstall_capture(pausable=True)


def downgrade() -> None:
    """Revert this revision."""
    _reinstall_capture(pausable=False)
    disable_row_security("vc_paused")
    op.drop_table("vc_paused")
    for table in _TABLES:
        with op.batch_alter_table(table, copy_from=_table(table, checked=False)) as batch_op:
            batch_op.create_foreign_key(
                f"fk_{table}_commit_id_vc_commits",
                "vc_commits",
                _COMMIT_KEY,
                _COMMITS_KEY,
                ondelete="CASCADE",
            )
    with op.batch_alter_table("vc_commits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vc_commits_parent_id"),
            ["tenant_id", "project_id", "parent_id"],
            unique=False,
        )
