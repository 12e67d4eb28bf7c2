"""Row-level security: every tenant-scoped table confined to the transaction's tenant

On PostgreSQL, each table whose key starts with ``tenant_id`` (version control's
``vc_*`` tables included) gets row-level security enabled and forced, a policy
comparing its tenant with the transaction-local ``agentfold.tenant_id`` setting, and a
policy letting the migrating (owner) role read and write across tenants when
``agentfold.system`` is ``on`` (``agentfold_core.db.row_security``). With
``AGENTFOLD_APP_ROLE`` set, that role is granted the rows of each table. Nothing
changes on SQLite.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000
"""

from collections.abc import Sequence

from agentfold_core.migrations.ops import (
    disable_row_security,
    enable_row_security,
    grant_version_table,
)

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "agents",
    "artifact_components",
    "context_configs",
    "credential_references",
    "data_components",
    "external_agents",
    "function_tools",
    "functions",
    "projects",
    "skill_files",
    "skills",
    "sub_agent_artifact_components",
    "sub_agent_data_components",
    "sub_agent_external_agent_relations",
    "sub_agent_function_tool_relations",
    "sub_agent_relations",
    "sub_agent_skills",
    "sub_agent_team_agent_relations",
    "sub_agent_tool_relations",
    "sub_agents",
    "tools",
    "triggers",
    "vc_branches",
    "vc_changes",
    "vc_commits",
    "vc_dirty",
    "vc_heads",
    "vc_images",
    "vc_snapshots",
    "vc_tags",
)


def upgrade() -> None:
    """Apply this revision."""
    grant_version_table()
    for table in TABLES:
        enable_row_security(table)


def downgrade() -> None:
    """Revert this revision."""
    for table in reversed(TABLES):
        disable_row_security(table)
