"""The version-control tables, in the manage database.

Every key starts ``tenant_id, project_id`` like every other key, so a project's whole
history lives (and is distributed) with its configuration. Row images are stored once
per project, addressed by the hash of their canonical JSON; a commit stores only its
changes against its first parent; each branch keeps a head manifest (table, row key
-> image hash) so diff and merge of heads read no history; a full manifest is kept
every ``SNAPSHOT_EVERY`` commits of depth so any past commit rebuilds quickly.

These tables are internal (``info["internal"]``): no entity, no routes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKeyConstraint,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from agentfold_core.db.base import INTERNAL, manage_metadata
from agentfold_core.db.fields import SCOPE_LENGTH
from agentfold_core.db.types import UTCDateTime

HASH_LENGTH = 40
TABLE_NAME_LENGTH = 64
ROW_KEY_LENGTH = 1024
SNAPSHOT_EVERY = 64
_INFO = {INTERNAL: "versioning"}


def _scope() -> list[Column[str]]:
    return [
        Column("tenant_id", String(SCOPE_LENGTH), nullable=False),
        Column("project_id", String(SCOPE_LENGTH), nullable=False),
    ]


def _commit_of(column: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["tenant_id", "project_id", column],
        ["vc_commits.tenant_id", "vc_commits.project_id", "vc_commits.id"],
        ondelete="CASCADE",
    )


commits = Table(
    "vc_commits",
    manage_metadata,
    *_scope(),
    Column("id", String(HASH_LENGTH), nullable=False),
    Column("parent_id", String(HASH_LENGTH)),
    Column("merge_parent_id", String(HASH_LENGTH)),
    # Longest path from the root (orders merge bases) and first-parent depth (snapshots).
    Column("generation", Integer, nullable=False),
    Column("depth", Integer, nullable=False),
    Column("snapshot", Boolean, nullable=False),
    Column("author", String(256), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # No index by parent: nothing looks a commit up by its parent, and one sharing the
    # key's leading columns drew PostgreSQL's lookups by id (migration 0006).
    PrimaryKeyConstraint("tenant_id", "project_id", "id"),
    info=_INFO,
)

branches = Table(
    "vc_branches",
    manage_metadata,
    *_scope(),
    Column("branch", String(SCOPE_LENGTH), nullable=False),
    # No foreign key to the commit: the head only ever moves to a commit written in the
    # same transaction or read a moment before, and each check was a lookup in the
    # fastest-growing table (migration 0006).
    Column("head", String(HASH_LENGTH), nullable=False),
    # An internal branch holds a materialised tag or commit, read-only; user names
    # can never take its name (it contains '~', which no branch name may).
    Column("internal", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    # The head commit's generation and depth, so that a commit reads its parent with
    # the branch lock alone.
    Column("head_generation", Integer, nullable=False, server_default="0"),
    Column("head_depth", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("tenant_id", "project_id", "branch"),
    info=_INFO,
)

tags = Table(
    "vc_tags",
    manage_metadata,
    *_scope(),
    Column("name", String(SCOPE_LENGTH), nullable=False),
    Column("commit_id", String(HASH_LENGTH), nullable=False),
    Column("author", String(256), nullable=False),
    Column("message", Text),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("tenant_id", "project_id", "name"),
    _commit_of("commit_id"),
    info=_INFO,
)

images = Table(
    "vc_images",
    manage_metadata,
    *_scope(),
    Column("hash", String(HASH_LENGTH), nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("tenant_id", "project_id", "hash"),
    info=_INFO,
)

changes = Table(
    "vc_changes",
    manage_metadata,
    *_scope(),
    Column("commit_id", String(HASH_LENGTH), nullable=False),
    Column("table_name", String(TABLE_NAME_LENGTH), nullable=False),
    Column("row_key", String(ROW_KEY_LENGTH), nullable=False),
    Column("before_hash", String(HASH_LENGTH)),
    Column("after_hash", String(HASH_LENGTH)),
    PrimaryKeyConstraint("tenant_id", "project_id", "commit_id", "table_name", "row_key"),
    # No foreign key to the commit: written in one batch with it and deleted only with
    # the project, a per-row check bought nothing (migration 0006).
    info=_INFO,
)

heads = Table(
    "vc_heads",
    manage_metadata,
    *_scope(),
    Column("branch", String(SCOPE_LENGTH), nullable=False),
    Column("table_name", String(TABLE_NAME_LENGTH), nullable=False),
    Column("row_key", String(ROW_KEY_LENGTH), nullable=False),
    Column("row_hash", String(HASH_LENGTH), nullable=False),
    PrimaryKeyConstraint("tenant_id", "project_id", "branch", "table_name", "row_key"),
    # No foreign key to the branch: written only by version control, with its branch,
    # and deleted with it (``materialise.drop_branch_rows``); a check per row cost a
    # lookup for every row of a commit and of a branch copy (migration 0006).
    info=_INFO,
)

snapshots = Table(
    "vc_snapshots",
    manage_metadata,
    *_scope(),
    Column("commit_id", String(HASH_LENGTH), nullable=False),
    Column("table_name", String(TABLE_NAME_LENGTH), nullable=False),
    Column("row_key", String(ROW_KEY_LENGTH), nullable=False),
    Column("row_hash", String(HASH_LENGTH), nullable=False),
    PrimaryKeyConstraint("tenant_id", "project_id", "commit_id", "table_name", "row_key"),
    # No foreign key to the commit, as for changes.
    info=_INFO,
)

# Keys written since the branch's last commit, recorded by the capture triggers: the
# row key, and its parts (the table's key columns after the scope, in order) so that a
# commit finds the rows by their primary key.
KEY_PARTS = 3
dirty = Table(
    "vc_dirty",
    manage_metadata,
    *_scope(),
    Column("branch", String(SCOPE_LENGTH), nullable=False),
    Column("table_name", String(TABLE_NAME_LENGTH), nullable=False),
    Column("row_key", String(ROW_KEY_LENGTH), nullable=False),
    *(Column(f"key_{n}", String(SCOPE_LENGTH)) for n in range(1, KEY_PARTS + 1)),
    PrimaryKeyConstraint("tenant_id", "project_id", "branch", "table_name", "row_key"),
    info=_INFO,
)

# Branches whose capture is paused for the rest of the transaction: a row here is
# written and deleted by one operation (``versioning.capture.paused``), never committed.
paused = Table(
    "vc_paused",
    manage_metadata,
    *_scope(),
    Column("branch", String(SCOPE_LENGTH), nullable=False),
    PrimaryKeyConstraint("tenant_id", "project_id", "branch"),
    info=_INFO,
)

VERSIONING_TABLES = (
    commits,
    branches,
    tags,
    images,
    changes,
    heads,
    snapshots,
    dirty,
    paused,
)
