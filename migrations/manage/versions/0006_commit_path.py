"""Commit path: capture pausable per branch, no commit parent index, fewer per-row checks

No query finds a commit by its parent (history walks go from a commit to its parents,
by primary key), but the index shared the primary key's leading ``tenant_id,
project_id``. With statistics taken while ``vc_commits`` was small, PostgreSQL's plans
for a lookup by id (the commit's parent, and the foreign-key checks of every change,
snapshot row and branch head) chose it and filtered every commit of the project, so
each commit cost more than the one before until the table was analysed again.

The foreign keys version control's own writes satisfy by construction go: a commit's
changes and snapshot rows (written in one batch with the commit, deleted only with
the project: a 1,000-row snapshot was 1,000 lookups of one commit, each as slow as the
plan cached while the table was young), the branch head (moved only to a commit of the
same transaction or one just read) and the head manifest's branch (a lookup per row of
every commit and branch copy). Tags keep theirs. A branch row now also carries its
head's generation and depth, so a commit finds its parent with the branch lock alone.

Capture can pause for one branch (a row in ``vc_paused``, written and deleted inside one
transaction): copying a branch, materialising a commit and dropping a branch write
rows that are exactly a manifest, and recorded every key only to forget it again.
Every capture trigger is installed again with that condition.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

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


_COMMITS = ("tenant_id", "project_id", "id")
_BRANCHES = ("tenant_id", "project_id", "branch")


def _scope(*names: str) -> list[sa.Column[str]]:
    return [
        sa.Column(n, sa.String(256), nullable=False) for n in ("tenant_id", "project_id", *names)
    ]


def _table(name: str, *, checked: bool, counted: bool = False) -> sa.Table:
    # The table as a batch finds it (SQLite rebuilds it from this description, so
    # offline SQL needs no live database to reflect it): with its foreign key to the
    # commit (or, for the head manifest, the branch) when ``checked``; a branch row with
    # its head's generation and depth when ``counted``.
    metadata = sa.MetaData()
    sa.Table(
        "vc_commits", metadata, *(sa.Column(c, sa.String(256), primary_key=True) for c in _COMMITS)
    )
    columns: list[sa.Column[Any]]
    if name == "vc_branches":
        key, refers, to, referenced = (
            list(_BRANCHES),
            ["tenant_id", "project_id", "head"],
            "vc_commits",
            _COMMITS,
        )
        columns = [
            *_scope("branch"),
            sa.Column("head", sa.String(40), nullable=False),
            sa.Column("internal", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
            *(
                [
                    sa.Column(c, sa.Integer(), nullable=False, server_default="0")
                    for c in ("head_generation", "head_depth")
                ]
                if counted
                else []
            ),
        ]
        fk_name = "fk_vc_branches_head_vc_commits"
    elif name == "vc_heads":
        sa.Table(
            "vc_branches",
            metadata,
            *(sa.Column(c, sa.String(256), primary_key=True) for c in _BRANCHES),
        )
        key, refers, to = [*_BRANCHES, "table_name", "row_key"], list(_BRANCHES), "vc_branches"
        referenced = _BRANCHES
        columns = [
            *_scope("branch"),
            sa.Column("table_name", sa.String(64), nullable=False),
            sa.Column("row_key", sa.String(1024), nullable=False),
            sa.Column("row_hash", sa.String(40), nullable=False),
        ]
        fk_name = "fk_vc_heads_scope_vc_branches"
    else:
        key = ["tenant_id", "project_id", "commit_id", "table_name", "row_key"]
        refers, to, referenced = ["tenant_id", "project_id", "commit_id"], "vc_commits", _COMMITS
        payload = (
            [sa.Column("before_hash", sa.String(40)), sa.Column("after_hash", sa.String(40))]
            if name == "vc_changes"
            else [sa.Column("row_hash", sa.String(40), nullable=False)]
        )
        columns = [
            *_scope(),
            sa.Column("commit_id", sa.String(40), nullable=False),
            sa.Column("table_name", sa.String(64), nullable=False),
            sa.Column("row_key", sa.String(1024), nullable=False),
            *payload,
        ]
        fk_name = f"fk_{name}_commit_id_vc_commits"
    check = [
        sa.ForeignKeyConstraint(
            refers, [f"{to}.{c}" for c in referenced], name=fk_name, ondelete="CASCADE"
        )
    ]
    return sa.Table(
        name,
        metadata,
        *columns,
        *(check if checked else []),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{name}"),
    )


_UNCHECKED = ("vc_changes", "vc_snapshots", "vc_branches", "vc_heads")
_FOREIGN_KEYS = {
    "vc_changes": ("fk_vc_changes_commit_id_vc_commits", "vc_commits", "commit_id", _COMMITS),
    "vc_snapshots": ("fk_vc_snapshots_commit_id_vc_commits", "vc_commits", "commit_id", _COMMITS),
    "vc_branches": ("fk_vc_branches_head_vc_commits", "vc_commits", "head", _COMMITS),
    "vc_heads": ("fk_vc_heads_scope_vc_branches", "vc_branches", "branch", _BRANCHES),
}

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


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("vc_commits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vc_commits_parent_id"))
    for table in _UNCHECKED:
        with op.batch_alter_table(table, copy_from=_table(table, checked=True)) as batch_op:
            batch_op.drop_constraint(_FOREIGN_KEYS[table][0], type_="foreignkey")
            if table == "vc_branches":
                for column in ("head_generation", "head_depth"):
                    batch_op.add_column(
                        sa.Column(column, sa.Integer(), nullable=False, server_default="0")
                    )
    # Each branch row learns its head's generation and depth.
    op.execute(
        "UPDATE vc_branches SET "
        "head_generation = (SELECT c.generation FROM vc_commits c WHERE c.tenant_id = "
        "vc_branches.tenant_id AND c.project_id = vc_branches.project_id "
        "AND c.id = vc_branches.head), "
        "head_depth = (SELECT c.depth FROM vc_commits c WHERE c.tenant_id = "
        "vc_branches.tenant_id AND c.project_id = vc_branches.project_id "
        "AND c.id = vc_branches.head)"
    )
    op.create_table(
        "vc_paused",
        *_scope("branch"),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "branch", name=op.f("pk_vc_paused")),
    )
    enable_row_security("vc_paused")
    _reinstall_capture(pausable=True)


def downgrade() -> None:
    """Revert this revision."""
    _reinstall_capture(pausable=False)
    disable_row_security("vc_paused")
    op.drop_table("vc_paused")
    for table in reversed(_UNCHECKED):
        name, parent, column, columns = _FOREIGN_KEYS[table]
        copy = _table(table, checked=False, counted=True)
        with op.batch_alter_table(table, copy_from=copy) as batch_op:
            if table == "vc_branches":
                batch_op.drop_column("head_depth")
                batch_op.drop_column("head_generation")
            local = ["tenant_id", "project_id", column]
            batch_op.create_foreign_key(name, parent, local, list(columns), ondelete="CASCADE")
    with op.batch_alter_table("vc_commits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vc_commits_parent_id"),
            ["tenant_id", "project_id", "parent_id"],
            unique=False,
        )
