"""user e-mail, single-use links (activation, reset), tenant active flag

Revision ID: e1a0c0de0013
Revises: e1a0c0de0011
Create Date: 2026-12-04 10:00:00

Onboarding by e-mail (controlplane.tenants): ``user_account.email`` (unique per tenant),
``user_token`` (activation and password-reset links, stored hashed) and ``tenant.active``
(the platform operator deactivates a tenant).
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c0de0013"
down_revision = "e1a0c0de0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.create_unique_constraint("uq_user_account_tenant_id_email", ["tenant_id", "email"])
    op.create_table(
        "user_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("purpose", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_from", sa.String(100), nullable=False),
    )
    op.create_index("ix_user_token_tenant_id", "user_token", ["tenant_id"])
    op.create_index("ix_user_token_user_id", "user_token", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_user_token_user_id", "user_token")
    op.drop_index("ix_user_token_tenant_id", "user_token")
    op.drop_table("user_token")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_constraint("uq_user_account_tenant_id_email", type_="unique")
        batch.drop_column("email")
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("active")
