"""API tokens; the tenant's monthly API request limit

Revision ID: e1a0c0de0012
Revises: e1a0c0de0016
Create Date: 2026-12-03 22:30:00

Personal API tokens kept as SHA-256 hashes (``api_token``) and the number of API requests
a user of the tenant may make a month (``tenant.api_monthly_limit``, 30000 by default: the
smallest package).
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0012"
down_revision = "e1a0c0de0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("api_monthly_limit", sa.Integer(), nullable=False,
                                   server_default="30000"))
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_used_from", sa.String(100), nullable=False),
    )
    op.create_index("ix_api_token_tenant_id", "api_token", ["tenant_id"])
    op.create_index("ix_api_token_user_id", "api_token", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_api_token_user_id", table_name="api_token")
    op.drop_index("ix_api_token_tenant_id", table_name="api_token")
    op.drop_table("api_token")
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("api_monthly_limit")
