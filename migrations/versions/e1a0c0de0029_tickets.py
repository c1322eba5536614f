"""Tickets: the thread every chat, e-mail and SMS lands in

Revision ID: e1a0c0de0029
Revises: e1a0c0de0028
Create Date: 2026-12-04 12:10:00

``ticket_category``, ``ticket`` (per-tenant number, status, priority, channel, requester,
contact, assignee, queue, merged-into) and ``ticket_message`` (in/out/note, the channel's
own message id for threading and idempotence). See :mod:`controlplane.models.tickets`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0029"
down_revision = "e1a0c0de0028"
branch_labels = None
depends_on = None

STATUSES = "status IN ('new', 'open', 'pending', 'solved', 'closed')"
PRIORITIES = "priority IN ('low', 'normal', 'high', 'urgent')"
CHANNELS = "channel IN ('email', 'sms', 'chat', 'call', 'web', 'panel')"


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(),
                     sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "ticket_category",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_ticket_category_tenant_id", "ticket_category", ["tenant_id"])
    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("requester", sa.String(length=320), nullable=False),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("contact_id", sa.Integer(),
                  sa.ForeignKey("contact.id", ondelete="SET NULL"), nullable=True),
        sa.Column("category_id", sa.Integer(),
                  sa.ForeignKey("ticket_category.id", ondelete="SET NULL"), nullable=True),
        sa.Column("assignee_user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
        sa.Column("queue_id", sa.Integer(),
                  sa.ForeignKey("acd_queue.id", ondelete="SET NULL"), nullable=True),
        sa.Column("merged_into_id", sa.Integer(),
                  sa.ForeignKey("ticket.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("solved_at", UtcDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("tenant_id", "number"),
        sa.CheckConstraint(STATUSES, name=op.f("ck_ticket_status")),
        sa.CheckConstraint(PRIORITIES, name=op.f("ck_ticket_priority")),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_ticket_channel")),
    )
    op.create_index("ix_ticket_tenant_id", "ticket", ["tenant_id"])
    op.create_index("ix_ticket_tenant_status", "ticket", ["tenant_id", "status"])
    op.create_index("ix_ticket_contact_id", "ticket", ["contact_id"])
    op.create_index("ix_ticket_assignee_user_id", "ticket", ["assignee_user_id"])
    op.create_table(
        "ticket_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("author_user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "external_id"),
        sa.CheckConstraint("direction IN ('in', 'out', 'note')",
                           name=op.f("ck_ticket_message_direction")),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_ticket_message_channel")),
    )
    op.create_index("ix_ticket_message_tenant_id", "ticket_message", ["tenant_id"])
    op.create_index("ix_ticket_message_ticket_id", "ticket_message", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("ticket_message")
    op.drop_table("ticket")
    op.drop_table("ticket_category")
