"""Run records: runs, steps, LLM and tool calls, credits, retention settings

Agent runs and steps, the LLM and tool call log, credit grants and their ledger, and
per-project retention settings on project_metadata.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 13:11:28.260021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "agent_runs",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent_id", sa.String(length=255), nullable=False),
        sa.Column("sub_agent_id", sa.String(length=255), nullable=True),
        sa.Column("conversation_id", sa.String(length=255), nullable=True),
        sa.Column("ref", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("parent_run_id", sa.String(length=255), nullable=True),
        sa.Column(
            "ancestors", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("root_run_id", sa.String(length=255), nullable=False),
        sa.Column("depth", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column(
            "cost",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "credits",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "subtree_cost",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "subtree_credits",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "parent_run_id"],
            ["agent_runs.tenant_id", "agent_runs.project_id", "agent_runs.id"],
            name=op.f("fk_agent_runs_parent_run_id_agent_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_agent_runs_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_agent_runs")),
    )
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_runs_list"),
            ["tenant_id", "project_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_agent_runs_parent_run_id"),
            ["tenant_id", "project_id", "parent_run_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_agent_runs_root_run_id"),
            ["tenant_id", "project_id", "root_run_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_agent_runs_status_heartbeat", ["status", "heartbeat_at"], unique=False
        )

    op.create_table(
        "credit_grants",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operation_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column(
            "amount",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "remaining",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_credit_grants_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_credit_grants_scope_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_credit_grants")),
        sa.UniqueConstraint(
            "tenant_id", "operation_id", name=op.f("uq_credit_grants_operation_id")
        ),
    )
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_grants_list"), ["tenant_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_credit_grants_principal", ["tenant_id", "project_id"], unique=False
        )

    op.create_table(
        "credit_ledger",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operation_id", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column(
            "amount",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "debt",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "allocations", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "properties", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_credit_ledger_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_credit_ledger_scope_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_credit_ledger")),
        sa.UniqueConstraint(
            "tenant_id", "operation_id", name=op.f("uq_credit_ledger_operation_id")
        ),
    )
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_ledger_list"), ["tenant_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "agent_steps",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=255), nullable=False),
        sa.Column("step_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "child_run_ids",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "credits",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "run_id"],
            ["agent_runs.tenant_id", "agent_runs.project_id", "agent_runs.id"],
            name=op.f("fk_agent_steps_run_id_agent_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_agent_steps_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_agent_steps")),
        sa.UniqueConstraint(
            "tenant_id",
            "project_id",
            "run_id",
            "step_number",
            name=op.f("uq_agent_steps_run_id_step_number"),
        ),
    )
    with op.batch_alter_table("agent_steps", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agent_steps_list"),
            ["tenant_id", "project_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "llm_calls",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=255), nullable=False),
        sa.Column("step_id", sa.String(length=255), nullable=True),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=256), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column(
            "cost",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "credits",
            sa.Numeric(precision=18, scale=9).with_variant(sa.BigInteger(), "sqlite"),
            nullable=False,
        ),
        sa.Column("byok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.BigInteger(), nullable=True),
        sa.Column("ttft_ms", sa.BigInteger(), nullable=True),
        sa.Column(
            "request_body", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column(
            "response_body", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "run_id"],
            ["agent_runs.tenant_id", "agent_runs.project_id", "agent_runs.id"],
            name=op.f("fk_llm_calls_run_id_agent_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "step_id"],
            ["agent_steps.tenant_id", "agent_steps.project_id", "agent_steps.id"],
            name=op.f("fk_llm_calls_step_id_agent_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_llm_calls_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_llm_calls")),
    )
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_llm_calls_created_at"), ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_llm_calls_list"),
            ["tenant_id", "project_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_llm_calls_run_id"), ["tenant_id", "project_id", "run_id"], unique=False
        )

    op.create_table(
        "tool_calls",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=255), nullable=False),
        sa.Column("step_id", sa.String(length=255), nullable=True),
        sa.Column("parent_call_id", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("input", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column(
            "output", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "parent_call_id"],
            ["tool_calls.tenant_id", "tool_calls.project_id", "tool_calls.id"],
            name=op.f("fk_tool_calls_parent_call_id_tool_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "run_id"],
            ["agent_runs.tenant_id", "agent_runs.project_id", "agent_runs.id"],
            name=op.f("fk_tool_calls_run_id_agent_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id", "step_id"],
            ["agent_steps.tenant_id", "agent_steps.project_id", "agent_steps.id"],
            name=op.f("fk_tool_calls_step_id_agent_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_tool_calls_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "project_id", "id", name=op.f("pk_tool_calls")),
    )
    with op.batch_alter_table("tool_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tool_calls_list"),
            ["tenant_id", "project_id", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_tool_calls_run_id"), ["tenant_id", "project_id", "run_id"], unique=False
        )

    with op.batch_alter_table("project_metadata", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_run_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retention_message_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("retention_event_days", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("store_llm_bodies", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("project_metadata", schema=None) as batch_op:
        batch_op.drop_column("store_llm_bodies")
        batch_op.drop_column("retention_event_days")
        batch_op.drop_column("retention_message_days")
        batch_op.drop_column("retention_run_days")

    with op.batch_alter_table("tool_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tool_calls_run_id"))
        batch_op.drop_index(batch_op.f("ix_tool_calls_list"))

    op.drop_table("tool_calls")
    with op.batch_alter_table("llm_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_llm_calls_run_id"))
        batch_op.drop_index(batch_op.f("ix_llm_calls_list"))
        batch_op.drop_index(batch_op.f("ix_llm_calls_created_at"))

    op.drop_table("llm_calls")
    with op.batch_alter_table("agent_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_steps_list"))

    op.drop_table("agent_steps")
    with op.batch_alter_table("credit_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_ledger_list"))

    op.drop_table("credit_ledger")
    with op.batch_alter_table("credit_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_grants_principal")
        batch_op.drop_index(batch_op.f("ix_credit_grants_list"))

    op.drop_table("credit_grants")
    with op.batch_alter_table("agent_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_runs_status_heartbeat")
        batch_op.drop_index(batch_op.f("ix_agent_runs_root_run_id"))
        batch_op.drop_index(batch_op.f("ix_agent_runs_parent_run_id"))
        batch_op.drop_index(batch_op.f("ix_agent_runs_list"))

    op.drop_table("agent_runs")
