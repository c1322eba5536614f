"""Chat capacity per tenant and per agent

Revision ID: e1a0c0de0035
Revises: e1a0c0de0039
Create Date: 2026-12-04 13:00:00

``acd_channel_settings`` (chats per agent, voice while in chats, the chat offer timeout)
and ``acd_agent_capacity`` (an agent's own chat limit). See
:mod:`controlplane.models.acd_channels`.
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c0de0035"
down_revision = "e1a0c0de0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acd_channel_settings",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("chats_per_agent", sa.Integer(), nullable=False),
        sa.Column("voice_with_chats", sa.Boolean(), nullable=False),
        sa.Column("chat_offer_timeout_s", sa.Integer(), nullable=False),
        sa.CheckConstraint("chats_per_agent BETWEEN 0 AND 20",
                           name=op.f("ck_acd_channel_settings_chats_per_agent")),
        sa.CheckConstraint("chat_offer_timeout_s BETWEEN 5 AND 300",
                           name=op.f("ck_acd_channel_settings_chat_offer_timeout_s")),
    )
    op.create_table(
        "acd_agent_capacity",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("chats", sa.Integer(), nullable=False),
        sa.CheckConstraint("chats BETWEEN 0 AND 20", name=op.f("ck_acd_agent_capacity_chats")),
    )
    op.create_index("ix_acd_agent_capacity_tenant_id", "acd_agent_capacity", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("acd_agent_capacity")
    op.drop_table("acd_channel_settings")
