"""Tickets routed by the live ACD, and the e-mail capacity

Revision ID: e1a0c0de0040
Revises: e1a0c0de0034
Create Date: 2026-12-05 10:00:00

``ticket_route`` (a ticket in the ACD's hands: waiting, offered to, or held by an agent;
see :mod:`controlplane.models.ticket_routes`) and two columns of ``acd_channel_settings``:
``emails_per_agent`` (default 3) and ``email_offer_timeout_s`` (default 60); an agent's own
e-mail limit in ``acd_agent_capacity.emails`` (its ``chats`` may now be null: only e-mails).
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0040"
down_revision = "e1a0c0de0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_route",
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
        sa.Column("entered_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("offer_until", UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('waiting', 'offered', 'held')",
                           name=op.f("ck_ticket_route_state")),
    )
    op.create_index("ix_ticket_route_tenant_id", "ticket_route", ["tenant_id"])
    op.create_index("ix_ticket_route_user_id", "ticket_route", ["user_id"])
    with op.batch_alter_table("acd_channel_settings") as batch:
        batch.add_column(sa.Column("emails_per_agent", sa.Integer(), nullable=False,
                                   server_default="3"))
        batch.add_column(sa.Column("email_offer_timeout_s", sa.Integer(), nullable=False,
                                   server_default="60"))
        batch.create_check_constraint(op.f("ck_acd_channel_settings_emails_per_agent"),
                                      "emails_per_agent BETWEEN 0 AND 20")
        batch.create_check_constraint(op.f("ck_acd_channel_settings_email_offer_timeout_s"),
                                      "email_offer_timeout_s BETWEEN 5 AND 3600")
    with op.batch_alter_table("acd_agent_capacity") as batch:
        batch.alter_column("chats", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("emails", sa.Integer(), nullable=True))
        batch.create_check_constraint(op.f("ck_acd_agent_capacity_emails"),
                                      "emails BETWEEN 0 AND 20")


def downgrade() -> None:
    op.execute("DELETE FROM acd_agent_capacity WHERE chats IS NULL")
    with op.batch_alter_table("acd_agent_capacity") as batch:
        batch.drop_constraint(op.f("ck_acd_agent_capacity_emails"), type_="check")
        batch.drop_column("emails")
        batch.alter_column("chats", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("acd_channel_settings") as batch:
        batch.drop_constraint(op.f("ck_acd_channel_settings_email_offer_timeout_s"), type_="check")
        batch.drop_constraint(op.f("ck_acd_channel_settings_emails_per_agent"), type_="check")
        batch.drop_column("email_offer_timeout_s")
        batch.drop_column("emails_per_agent")
    op.drop_index("ix_ticket_route_user_id", "ticket_route")
    op.drop_index("ix_ticket_route_tenant_id", "ticket_route")
    op.drop_table("ticket_route")
