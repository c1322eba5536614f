"""Chat widgets and canned responses

Revision ID: e1a0c0de0034
Revises: e1a0c0de0033
Create Date: 2026-12-04 12:40:00

``chat_widget`` (a website's chat: public key, identity secret, queue, allowed origins,
looks, greetings, pre-chat fields, opening hours, survey) and ``chat_canned_response``
(an agent's prepared answers). See :mod:`controlplane.models.chat_widgets`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0034"
down_revision = "e1a0c0de0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_widget",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False, unique=True),
        sa.Column("identity_secret", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("acd_queue.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("origins", sa.JSON(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=False),
        sa.Column("greetings", sa.JSON(), nullable=False),
        sa.Column("form_fields", sa.JSON(), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=True),
        sa.Column("survey", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chat_widget_tenant_id", "chat_widget", ["tenant_id"])
    op.create_table(
        "chat_canned_response",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("shortcut", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.UniqueConstraint("tenant_id", "shortcut"),
    )
    op.create_index("ix_chat_canned_response_tenant_id", "chat_canned_response", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("chat_canned_response")
    op.drop_table("chat_widget")
