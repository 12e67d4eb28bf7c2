"""History of existing projects: a root commit per branch

Data only (migrations/README.md rule 3): every project branch that exists when version
control is installed gets a root commit holding its rows as they are, so that history,
diffs and status start clean. Running it twice does nothing more: branches that have
history are skipped. The downgrade leaves the rows alone; 0003's downgrade drops the
history tables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:45:00
"""

from collections.abc import Sequence

from agentfold_core.migrations.ops import initialise_history

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    initialise_history()


def downgrade() -> None:
    """Revert this revision (nothing: the history tables go with 0003)."""
