"""Security audit log: audit events of each tenant; failed attempts per API key

A new table ``audit_events`` (who did what to which resource, when and from where;
rows cascade from their tenant only, so they outlive the project they name), and two
columns of ``api_keys`` counting failed authentication attempts: existing keys start
at 0 failures.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:40:10.611187
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_events",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("principal", sa.String(length=300), nullable=False),
        sa.Column("target_kind", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=255), nullable=True),
        sa.Column("project_id", sa.String(length=255), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column(
            "detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_audit_events_scope_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_action_created_at"),
        "audit_events",
        ["tenant_id", "action", "created_at"],
    )
    op.create_index(op.f("ix_audit_events_list"), "audit_events", ["tenant_id", "created_at", "id"])
    op.create_index(
        op.f("ix_audit_events_principal_created_at"),
        "audit_events",
        ["tenant_id", "principal", "created_at"],
    )

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_attempts", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_failed_at")
        batch_op.drop_column("failed_attempts")

    op.drop_index(op.f("ix_audit_events_principal_created_at"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_list"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_action_created_at"), table_name="audit_events")
    op.drop_table("audit_events")
