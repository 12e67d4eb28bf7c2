"""List-order indexes on every listed table

``ix_<table>_list`` on (list scope columns, created_at, id). A list reads one scope
newest first (``ORDER BY created_at DESC, id DESC``); scanned backwards, these indexes
return the rows in that order, so no sort over the whole scope is needed. The models
declare them in one place, ``agentfold_core.db.list_order``.

Index-only: plain ``CREATE INDEX`` / ``DROP INDEX`` on both backends (SQLite needs no
batch copy for them, so the SET NULL triggers are left alone).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 10:42:48.116160
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        op.f("ix_agents_list"),
        "agents",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_artifact_components_list"),
        "artifact_components",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_context_configs_list"),
        "context_configs",
        ["tenant_id", "project_id", "branch", "agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_credential_references_list"),
        "credential_references",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_data_components_list"),
        "data_components",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_external_agents_list"),
        "external_agents",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_function_tools_list"),
        "function_tools",
        ["tenant_id", "project_id", "branch", "agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_functions_list"),
        "functions",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_projects_list"),
        "projects",
        ["tenant_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_skill_files_list"),
        "skill_files",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_skills_list"),
        "skills",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_artifact_components_list"),
        "sub_agent_artifact_components",
        ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_data_components_list"),
        "sub_agent_data_components",
        ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_external_agent_relations_list"),
        "sub_agent_external_agent_relations",
        ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_function_tool_relations_list"),
        "sub_agent_function_tool_relations",
        ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_relations_list"),
        "sub_agent_relations",
        ["tenant_id", "project_id", "branch", "agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_skills_list"),
        "sub_agent_skills",
        ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_team_agent_relations_list"),
        "sub_agent_team_agent_relations",
        ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agent_tool_relations_list"),
        "sub_agent_tool_relations",
        ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_sub_agents_list"),
        "sub_agents",
        ["tenant_id", "project_id", "branch", "agent_id", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_tools_list"),
        "tools",
        ["tenant_id", "project_id", "branch", "created_at", "id"],
    )
    op.create_index(
        op.f("ix_triggers_list"),
        "triggers",
        ["tenant_id", "project_id", "branch", "agent_id", "created_at", "id"],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_triggers_list"), table_name="triggers")
    op.drop_index(op.f("ix_tools_list"), table_name="tools")
    op.drop_index(op.f("ix_sub_agents_list"), table_name="sub_agents")
    op.drop_index(op.f("ix_sub_agent_tool_relations_list"), table_name="sub_agent_tool_relations")
    op.drop_index(
        op.f("ix_sub_agent_team_agent_relations_list"), table_name="sub_agent_team_agent_relations"
    )
    op.drop_index(op.f("ix_sub_agent_skills_list"), table_name="sub_agent_skills")
    op.drop_index(op.f("ix_sub_agent_relations_list"), table_name="sub_agent_relations")
    op.drop_index(
        op.f("ix_sub_agent_function_tool_relations_list"),
        table_name="sub_agent_function_tool_relations",
    )
    op.drop_index(
        op.f("ix_sub_agent_external_agent_relations_list"),
        table_name="sub_agent_external_agent_relations",
    )
    op.drop_index(op.f("ix_sub_agent_data_components_list"), table_name="sub_agent_data_components")
    op.drop_index(
        op.f("ix_sub_agent_artifact_components_list"), table_name="sub_agent_artifact_components"
    )
    op.drop_index(op.f("ix_skills_list"), table_name="skills")
    op.drop_index(op.f("ix_skill_files_list"), table_name="skill_files")
    op.drop_index(op.f("ix_projects_list"), table_name="projects")
    op.drop_index(op.f("ix_functions_list"), table_name="functions")
    op.drop_index(op.f("ix_function_tools_list"), table_name="function_tools")
    op.drop_index(op.f("ix_external_agents_list"), table_name="external_agents")
    op.drop_index(op.f("ix_data_components_list"), table_name="data_components")
    op.drop_index(op.f("ix_credential_references_list"), table_name="credential_references")
    op.drop_index(op.f("ix_context_configs_list"), table_name="context_configs")
    op.drop_index(op.f("ix_artifact_components_list"), table_name="artifact_components")
    op.drop_index(op.f("ix_agents_list"), table_name="agents")
