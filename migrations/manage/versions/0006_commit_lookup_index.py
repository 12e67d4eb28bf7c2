"""Drop the commits' parent index: it made PostgreSQL look commits up the slow way

No query finds a commit by its parent (history walks go from a commit to its parents,
by primary key), but the index shared the primary key's leading ``tenant_id,
project_id``. With statistics taken while ``vc_commits`` was small, PostgreSQL's plans
for a lookup by id (the commit's parent, and the foreign-key checks of every change,
snapshot row and branch head) chose it and filtered every commit of the project, so
each commit cost more than the one before until the table was analysed again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("vc_commits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vc_commits_parent_id"))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("vc_commits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vc_commits_parent_id"),
            ["tenant_id", "project_id", "parent_id"],
            unique=False,
        )
