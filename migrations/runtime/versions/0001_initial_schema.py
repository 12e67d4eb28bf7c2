"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 14:01:29.966670
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    op.create_table(
        "project_metadata",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("main_branch_name", sa.String(length=256), nullable=False),
        sa.Column("created_by", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_project_metadata_scope_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_project_metadata")),
    )
    op.create_table(
        "api_keys",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=512), nullable=False),
        sa.Column("key_prefix", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_api_keys_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_api_keys_scope_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("tenant_id", "public_id", name=op.f("uq_api_keys_public_id")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index("ix_api_keys_public_id_lookup", ["public_id"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=False),
        sa.Column("active_sub_agent_id", sa.String(length=255), nullable=True),
        sa.Column("ref", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("title", sa.String(length=1024), nullable=True),
        sa.Column(
            "properties", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_conversations_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conversations_agent_id_created_at"),
            ["tenant_id", "project_id", "agent_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "tasks",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=True),
        sa.Column("sub_agent_id", sa.String(length=255), nullable=False),
        sa.Column("context_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column(
            "properties", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_tasks_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tasks_context_id"),
            ["tenant_id", "project_id", "context_id"],
            unique=False,
        )

    op.create_table(
        "trigger_invocations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("agent_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trigger_id", sa.String(length=255), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "request_payload",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "transformed_payload",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("ref", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_trigger_invocations_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "agent_id", "id", name=op.f("pk_trigger_invocations")
        ),
    )
    with op.batch_alter_table("trigger_invocations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trigger_invocations_agent_id_trigger_id_created_at"),
            ["tenant_id", "project_id", "agent_id", "trigger_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "context_cache",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("context_config_id", sa.String(length=255), nullable=False),
        sa.Column("context_variable_key", sa.String(length=256), nullable=False),
        sa.Column("value", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("request_hash", sa.String(length=128), nullable=True),
        sa.Column("ref", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.project_id", "conversations.id"],
            name=op.f("fk_context_cache_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_context_cache_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_context_cache")),
    )
    with op.batch_alter_table("context_cache", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_context_cache_conversation_id_context_config_id_context_variable_key"),
            [
                "tenant_id",
                "project_id",
                "conversation_id",
                "context_config_id",
                "context_variable_key",
            ],
            unique=False,
        )

    op.create_table(
        "events",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.project_id", "conversations.id"],
            name=op.f("fk_events_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_events_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_conversation_id_created_at"),
            ["tenant_id", "project_id", "conversation_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "ledger_artifacts",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.Column("context_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("parts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column(
            "properties", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "task_id"],
            ["tasks.tenant_id", "tasks.project_id", "tasks.id"],
            name=op.f("fk_ledger_artifacts_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_ledger_artifacts_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_ledger_artifacts")),
    )
    with op.batch_alter_table("ledger_artifacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_artifacts_context_id"),
            ["tenant_id", "project_id", "context_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_artifacts_task_id"),
            ["tenant_id", "project_id", "task_id"],
            unique=False,
        )

    op.create_table(
        "messages",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("from_sub_agent_id", sa.String(length=255), nullable=True),
        sa.Column("to_sub_agent_id", sa.String(length=255), nullable=True),
        sa.Column("from_external_agent_id", sa.String(length=255), nullable=True),
        sa.Column(
            "content", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("visibility", sa.String(length=32), nullable=False),
        sa.Column("message_type", sa.String(length=32), nullable=False),
        sa.Column("task_id", sa.String(length=255), nullable=True),
        sa.Column("parent_message_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.project_id", "conversations.id"],
            name=op.f("fk_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_messages_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_conversation_id_created_at"),
            ["tenant_id", "project_id", "conversation_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "task_relations",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parent_task_id", sa.String(length=255), nullable=False),
        sa.Column("child_task_id", sa.String(length=255), nullable=False),
        sa.Column("relation_type", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "child_task_id"],
            ["tasks.tenant_id", "tasks.project_id", "tasks.id"],
            name=op.f("fk_task_relations_child_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "parent_task_id"],
            ["tasks.tenant_id", "tasks.project_id", "tasks.id"],
            name=op.f("fk_task_relations_parent_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_task_relations_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_task_relations")),
    )
    with op.batch_alter_table("task_relations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_relations_child_task_id"),
            ["tenant_id", "project_id", "child_task_id"],
            unique=False,
        )

    op.create_table(
        "feedback",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.project_id", "conversations.id"],
            name=op.f("fk_feedback_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "message_id"],
            ["messages.tenant_id", "messages.project_id", "messages.id"],
            name=op.f("fk_feedback_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_feedback_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_message_id"),
            ["tenant_id", "project_id", "message_id"],
            unique=False,
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_message_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("task_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_relations_child_task_id"))

    op.drop_table("task_relations")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_conversation_id_created_at"))

    op.drop_table("messages")
    with op.batch_alter_table("ledger_artifacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_artifacts_task_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_artifacts_context_id"))

    op.drop_table("ledger_artifacts")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_conversation_id_created_at"))

    op.drop_table("events")
    with op.batch_alter_table("context_cache", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_context_cache_conversation_id_context_config_id_context_variable_key")
        )

    op.drop_table("context_cache")
    with op.batch_alter_table("trigger_invocations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trigger_invocations_agent_id_trigger_id_created_at"))

    op.drop_table("trigger_invocations")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_context_id"))

    op.drop_table("tasks")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_agent_id_created_at"))

    op.drop_table("conversations")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_api_keys_public_id_lookup")

    op.drop_table("api_keys")
    op.drop_table("project_metadata")
    op.drop_table("tenants")
