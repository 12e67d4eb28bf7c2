"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 14:01:29.831688
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from agentfold_core.migrations.ops import create_sqlite_set_null_triggers, drop_sqlite_triggers

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "projects",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "models", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "stop_when", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", "branch", name=op.f("pk_projects")),
    )
    op.create_table(
        "agents",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column("default_sub_agent_id", sa.String(length=255), nullable=True),
        sa.Column("context_config_id", sa.String(length=255), nullable=True),
        sa.Column(
            "models", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "stop_when", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "status_updates",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("execution_mode", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_agents_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "branch", "id", name=op.f("pk_agents")),
    )
    op.create_table(
        "artifact_components",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("props", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column(
            "render", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_artifact_components_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "id", name=op.f("pk_artifact_components")
        ),
    )
    op.create_table(
        "credential_references",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("credential_store_id", sa.String(length=256), nullable=False),
        sa.Column(
            "retrieval_params",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("tool_id", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.String(length=256), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_credential_references_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "id", name=op.f("pk_credential_references")
        ),
    )
    op.create_table(
        "data_components",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("props", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column(
            "render", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_data_components_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "id", name=op.f("pk_data_components")
        ),
    )
    op.create_table(
        "functions",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "input_schema", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("execute_code", sa.Text(), nullable=False),
        sa.Column(
            "dependencies", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_functions_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "id", name=op.f("pk_functions")
        ),
    )
    op.create_table(
        "skills",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "properties", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_skills_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "branch", "id", name=op.f("pk_skills")),
    )
    op.create_table(
        "context_configs",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "headers_schema",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "context_variables",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id"],
            ["agents.tenant_id", "agents.project_id", "agents.branch", "agents.id"],
            name=op.f("fk_context_configs_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "agent_id", "id", name=op.f("pk_context_configs")
        ),
    )
    external_agents_table = op.create_table(
        "external_agents",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("base_url", sa.String(length=2048), nullable=False),
        sa.Column("credential_reference_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "credential_reference_id"],
            [
                "credential_references.tenant_id",
                "credential_references.project_id",
                "credential_references.branch",
                "credential_references.id",
            ],
            name=op.f("fk_external_agents_credential_reference_id_credential_references"),
            ondelete="SET NULL (credential_reference_id)",
            info={"set_null_column": "credential_reference_id"},
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_external_agents_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "id", name=op.f("pk_external_agents")
        ),
    )
    create_sqlite_set_null_triggers(external_agents_table)
    op.create_table(
        "function_tools",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("function_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id"],
            ["agents.tenant_id", "agents.project_id", "agents.branch", "agents.id"],
            name=op.f("fk_function_tools_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "function_id"],
            ["functions.tenant_id", "functions.project_id", "functions.branch", "functions.id"],
            name=op.f("fk_function_tools_function_id_functions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "agent_id", "id", name=op.f("pk_function_tools")
        ),
    )
    with op.batch_alter_table("function_tools", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_function_tools_function_id"),
            ["tenant_id", "project_id", "branch", "function_id"],
            unique=False,
        )

    op.create_table(
        "skill_files",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("skill_id", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "skill_id"],
            ["skills.tenant_id", "skills.project_id", "skills.branch", "skills.id"],
            name=op.f("fk_skill_files_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_skill_files_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "id", name=op.f("pk_skill_files")
        ),
    )
    with op.batch_alter_table("skill_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_skill_files_skill_id"),
            ["tenant_id", "project_id", "branch", "skill_id"],
            unique=False,
        )

    op.create_table(
        "sub_agents",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=True),
        sa.Column(
            "conversation_history_config",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "models", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "stop_when", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "output_contract",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id"],
            ["agents.tenant_id", "agents.project_id", "agents.branch", "agents.id"],
            name=op.f("fk_sub_agents_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "agent_id", "id", name=op.f("pk_sub_agents")
        ),
    )
    tools_table = op.create_table(
        "tools",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "config", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("credential_reference_id", sa.String(length=255), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        sa.Column(
            "capabilities", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "credential_reference_id"],
            [
                "credential_references.tenant_id",
                "credential_references.project_id",
                "credential_references.branch",
                "credential_references.id",
            ],
            name=op.f("fk_tools_credential_reference_id_credential_references"),
            ondelete="SET NULL (credential_reference_id)",
            info={"set_null_column": "credential_reference_id"},
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch"],
            ["projects.tenant_id", "projects.id", "projects.branch"],
            name=op.f("fk_tools_scope_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "branch", "id", name=op.f("pk_tools")),
    )
    create_sqlite_set_null_triggers(tools_table)
    triggers_table = op.create_table(
        "triggers",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "input_schema", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "output_transform",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("message_template", sa.Text(), nullable=True),
        sa.Column(
            "authentication",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "signature_verification",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("signing_secret_credential_reference_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id"],
            ["agents.tenant_id", "agents.project_id", "agents.branch", "agents.id"],
            name=op.f("fk_triggers_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "signing_secret_credential_reference_id"],
            [
                "credential_references.tenant_id",
                "credential_references.project_id",
                "credential_references.branch",
                "credential_references.id",
            ],
            name=op.f("fk_triggers_signing_secret_credential_reference_id_credential_references"),
            ondelete="SET NULL (signing_secret_credential_reference_id)",
            info={"set_null_column": "signing_secret_credential_reference_id"},
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "branch", "agent_id", "id", name=op.f("pk_triggers")
        ),
    )
    create_sqlite_set_null_triggers(triggers_table)
    op.create_table(
        "sub_agent_artifact_components",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("artifact_component_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_artifact_components_agent_id_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "artifact_component_id"],
            [
                "artifact_components.tenant_id",
                "artifact_components.project_id",
                "artifact_components.branch",
                "artifact_components.id",
            ],
            name=op.f("fk_sub_agent_artifact_components_artifact_component_id_artifact_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "sub_agent_id",
            "id",
            name=op.f("pk_sub_agent_artifact_components"),
        ),
    )
    with op.batch_alter_table("sub_agent_artifact_components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_artifact_components_artifact_component_id"),
            ["tenant_id", "project_id", "branch", "artifact_component_id"],
            unique=False,
        )

    op.create_table(
        "sub_agent_data_components",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_component_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_data_components_agent_id_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "data_component_id"],
            [
                "data_components.tenant_id",
                "data_components.project_id",
                "data_components.branch",
                "data_components.id",
            ],
            name=op.f("fk_sub_agent_data_components_data_component_id_data_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "sub_agent_id",
            "id",
            name=op.f("pk_sub_agent_data_components"),
        ),
    )
    with op.batch_alter_table("sub_agent_data_components", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_data_components_data_component_id"),
            ["tenant_id", "project_id", "branch", "data_component_id"],
            unique=False,
        )

    op.create_table(
        "sub_agent_external_agent_relations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("external_agent_id", sa.String(length=255), nullable=False),
        sa.Column(
            "headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_external_agent_relations_agent_id_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "external_agent_id"],
            [
                "external_agents.tenant_id",
                "external_agents.project_id",
                "external_agents.branch",
                "external_agents.id",
            ],
            name=op.f("fk_sub_agent_external_agent_relations_external_agent_id_external_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "sub_agent_id",
            "id",
            name=op.f("pk_sub_agent_external_agent_relations"),
        ),
    )
    with op.batch_alter_table("sub_agent_external_agent_relations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_external_agent_relations_external_agent_id"),
            ["tenant_id", "project_id", "branch", "external_agent_id"],
            unique=False,
        )

    op.create_table(
        "sub_agent_function_tool_relations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("function_tool_id", sa.String(length=255), nullable=False),
        sa.Column(
            "tool_policies", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "function_tool_id"],
            [
                "function_tools.tenant_id",
                "function_tools.project_id",
                "function_tools.branch",
                "function_tools.agent_id",
                "function_tools.id",
            ],
            name=op.f(
                "fk_sub_agent_function_tool_relations_agent_id_function_tool_id_function_tools"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_function_tool_relations_agent_id_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "sub_agent_id",
            "id",
            name=op.f("pk_sub_agent_function_tool_relations"),
        ),
    )
    with op.batch_alter_table("sub_agent_function_tool_relations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_function_tool_relations_agent_id_function_tool_id"),
            ["tenant_id", "project_id", "branch", "agent_id", "function_tool_id"],
            unique=False,
        )

    op.create_table(
        "sub_agent_relations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_sub_agent_id", sa.String(length=255), nullable=False),
        sa.Column("target_sub_agent_id", sa.String(length=255), nullable=False),
        sa.Column("relation_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "source_sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_relations_agent_id_source_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "target_sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_relations_agent_id_target_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id"],
            ["agents.tenant_id", "agents.project_id", "agents.branch", "agents.id"],
            name=op.f("fk_sub_agent_relations_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "id",
            name=op.f("pk_sub_agent_relations"),
        ),
    )
    with op.batch_alter_table("sub_agent_relations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_relations_agent_id_target_sub_agent_id"),
            ["tenant_id", "project_id", "branch", "agent_id", "target_sub_agent_id"],
            unique=False,
        )

    op.create_table(
        "sub_agent_skills",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("skill_id", sa.String(length=255), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("always_loaded", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_skills_agent_id_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "skill_id"],
            ["skills.tenant_id", "skills.project_id", "skills.branch", "skills.id"],
            name=op.f("fk_sub_agent_skills_skill_id_skills"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "sub_agent_id",
            "id",
            name=op.f("pk_sub_agent_skills"),
        ),
    )
    with op.batch_alter_table("sub_agent_skills", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_skills_skill_id"),
            ["tenant_id", "project_id", "branch", "skill_id"],
            unique=False,
        )

    op.create_table(
        "sub_agent_team_agent_relations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("target_agent_id", sa.String(length=255), nullable=False),
        sa.Column(
            "headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_team_agent_relations_agent_id_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "target_agent_id"],
            ["agents.tenant_id", "agents.project_id", "agents.branch", "agents.id"],
            name=op.f("fk_sub_agent_team_agent_relations_target_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "sub_agent_id",
            "id",
            name=op.f("pk_sub_agent_team_agent_relations"),
        ),
    )
    with op.batch_alter_table("sub_agent_team_agent_relations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_team_agent_relations_target_agent_id"),
            ["tenant_id", "project_id", "branch", "target_agent_id"],
            unique=False,
        )

    op.create_table(
        "sub_agent_tool_relations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("branch", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tool_id", sa.String(length=255), nullable=False),
        sa.Column(
            "selected_tools",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "headers", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "tool_policies", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "agent_id", "sub_agent_id"],
            [
                "sub_agents.tenant_id",
                "sub_agents.project_id",
                "sub_agents.branch",
                "sub_agents.agent_id",
                "sub_agents.id",
            ],
            name=op.f("fk_sub_agent_tool_relations_agent_id_sub_agent_id_sub_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "branch", "tool_id"],
            ["tools.tenant_id", "tools.project_id", "tools.branch", "tools.id"],
            name=op.f("fk_sub_agent_tool_relations_tool_id_tools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id",
            "project_id",
            "branch",
            "agent_id",
            "sub_agent_id",
            "id",
            name=op.f("pk_sub_agent_tool_relations"),
        ),
    )
    with op.batch_alter_table("sub_agent_tool_relations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sub_agent_tool_relations_tool_id"),
            ["tenant_id", "project_id", "branch", "tool_id"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("sub_agent_tool_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_agent_tool_relations_tool_id"))

    op.drop_table("sub_agent_tool_relations")
    with op.batch_alter_table("sub_agent_team_agent_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_agent_team_agent_relations_target_agent_id"))

    op.drop_table("sub_agent_team_agent_relations")
    with op.batch_alter_table("sub_agent_skills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_agent_skills_skill_id"))

    op.drop_table("sub_agent_skills")
    with op.batch_alter_table("sub_agent_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_agent_relations_agent_id_target_sub_agent_id"))

    op.drop_table("sub_agent_relations")
    with op.batch_alter_table("sub_agent_function_tool_relations", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_sub_agent_function_tool_relations_agent_id_function_tool_id")
        )

    op.drop_table("sub_agent_function_tool_relations")
    with op.batch_alter_table("sub_agent_external_agent_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_agent_external_agent_relations_external_agent_id"))

    op.drop_table("sub_agent_external_agent_relations")
    with op.batch_alter_table("sub_agent_data_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_agent_data_components_data_component_id"))

    op.drop_table("sub_agent_data_components")
    with op.batch_alter_table("sub_agent_artifact_components", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sub_agent_artifact_components_artifact_component_id"))

    op.drop_table("sub_agent_artifact_components")
    drop_sqlite_triggers("trg_triggers_signing_secret_credential_reference_id_set_null")
    op.drop_table("triggers")
    drop_sqlite_triggers("trg_tools_credential_reference_id_set_null")
    op.drop_table("tools")
    op.drop_table("sub_agents")
    with op.batch_alter_table("skill_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skill_files_skill_id"))

    op.drop_table("skill_files")
    with op.batch_alter_table("function_tools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_function_tools_function_id"))

    op.drop_table("function_tools")
    drop_sqlite_triggers("trg_external_agents_credential_reference_id_set_null")
    op.drop_table("external_agents")
    op.drop_table("context_configs")
    op.drop_table("skills")
    op.drop_table("functions")
    op.drop_table("data_components")
    op.drop_table("credential_references")
    op.drop_table("artifact_components")
    op.drop_table("agents")
    op.drop_table("projects")
