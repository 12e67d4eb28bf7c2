"""Credential secrets: the sealed secrets of the encrypted credential store

One row per secret of a project (``id`` is the secret's key name): the master key id
wrapping its data key, the wrapped data key, the nonces and the AES-256-GCM
ciphertext (base64), and a version that key rotation compares and sets. Rows cascade
from their project. A new table: nothing to migrate.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:15:24.214520
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "credential_secrets",
        sa.Column("tenant_id", sa.String(length=256), nullable=False),
        sa.Column("project_id", sa.String(length=256), nullable=False),
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("wrapped_key", sa.String(length=128), nullable=False),
        sa.Column("wrap_nonce", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "project_id"],
            ["project_metadata.tenant_id", "project_metadata.id"],
            name=op.f("fk_credential_secrets_scope_project_metadata"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "project_id", "id", name=op.f("pk_credential_secrets")
        ),
    )
    op.create_index(
        op.f("ix_credential_secrets_list"),
        "credential_secrets",
        ["tenant_id", "project_id", "created_at", "id"],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_credential_secrets_list"), table_name="credential_secrets")
    op.drop_table("credential_secrets")
