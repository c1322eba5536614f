"""Chats and their messages

Revision ID: e1a0c0de0030
Revises: e1a0c0de0029
Create Date: 2026-12-04 12:05:00

``chat`` (a visitor's conversation: status, queue, agent, visitor, ticket, survey) and
``chat_message`` (numbered per chat). See :mod:`controlplane.models.chat`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0030"
down_revision = "e1a0c0de0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("acd_queue.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("agent_user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
        sa.Column("visitor_name", sa.String(length=200), nullable=False),
        sa.Column("visitor_email", sa.String(length=254), nullable=False),
        sa.Column("visitor_phone", sa.String(length=32), nullable=False),
        sa.Column("visitor_kind", sa.String(length=16), nullable=False),
        sa.Column("visitor_fields", sa.JSON(), nullable=False),
        sa.Column("page_url", sa.String(length=1000), nullable=False),
        sa.Column("contact_id", sa.Integer(), sa.ForeignKey("contact.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=16), nullable=True),
        sa.Column("survey_score", sa.Integer(), nullable=True),
        sa.Column("survey_comment", sa.String(length=2000), nullable=False),
        sa.CheckConstraint("status IN ('waiting', 'offered', 'active', 'ended', 'missed')",
                           name=op.f("ck_chat_status")),
        sa.CheckConstraint("visitor_kind IN ('new', 'returning', 'identified')",
                           name=op.f("ck_chat_visitor_kind")),
    )
    op.create_index("ix_chat_tenant_id", "chat", ["tenant_id"])
    op.create_index("ix_chat_agent_user_id", "chat", ["agent_user_id"])
    op.create_table(
        "chat_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("chat_id", sa.Integer(), sa.ForeignKey("chat.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("chat_id", "seq"),
        sa.CheckConstraint("author IN ('visitor', 'agent', 'system')",
                           name=op.f("ck_chat_message_author")),
    )
    op.create_index("ix_chat_message_tenant_id", "chat_message", ["tenant_id"])
    op.create_index("ix_chat_message_chat_id", "chat_message", ["chat_id"])


def downgrade() -> None:
    op.drop_table("chat_message")
    op.drop_table("chat")
