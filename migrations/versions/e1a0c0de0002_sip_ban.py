"""SIP brute-force bans

Revision ID: e1a0c0de0002
Revises: e1a0c0de0001
Create Date: 2026-12-03 16:30:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0002"
down_revision = "e1a0c0de0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sip_ban",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("offence", sa.Integer(), nullable=False),
        sa.Column("accounts", sa.JSON(), nullable=False),
        sa.Column("created_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("expires_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("lifted_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=True),
        sa.Column("lifted_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint("failures >= 0 AND offence >= 1", name=op.f("ck_sip_ban_counts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sip_ban")),
    )
    op.create_index(op.f("ix_sip_ban_address"), "sip_ban", ["address"], unique=False)
    op.create_index(op.f("ix_sip_ban_created_at"), "sip_ban", ["created_at"], unique=False)
    op.create_index("ix_sip_ban_active", "sip_ban", ["lifted_at", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sip_ban_active", table_name="sip_ban")
    op.drop_index(op.f("ix_sip_ban_created_at"), table_name="sip_ban")
    op.drop_index(op.f("ix_sip_ban_address"), table_name="sip_ban")
    op.drop_table("sip_ban")
