"""The desk's working tables: ticket history, time, templates, saved views, business rules

Revision ID: e1a0c0de0031
Revises: e1a0c0de0030
Create Date: 2026-12-04 12:40:00

``ticket_event`` (a ticket's audited history), ``ticket_time`` (time tracking),
``ticket_template`` (response templates), ``ticket_view`` (saved list views),
``ticket_rule``, ``ticket_rule_usage`` and ``ticket_rule_fired`` (business rules, their
monthly run count, and when a time rule last acted on a ticket). See
:mod:`controlplane.models.desk`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0031"
down_revision = "e1a0c0de0030"
branch_labels = None
depends_on = None


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(),
                     sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False)


def _ticket() -> sa.Column:
    return sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id", ondelete="CASCADE"),
                     nullable=False)


def _at(name: str = "created_at") -> sa.Column:
    return sa.Column(name, UtcDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "ticket_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        _ticket(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("actor_user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
        sa.Column("old", sa.String(length=300), nullable=False),
        sa.Column("new", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        _at(),
    )
    op.create_index("ix_ticket_event_tenant_id", "ticket_event", ["tenant_id"])
    op.create_index("ix_ticket_event_ticket_id", "ticket_event", ["ticket_id"])
    op.create_table(
        "ticket_time",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        _ticket(),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        _at(),
        sa.CheckConstraint("minutes > 0", name=op.f("ck_ticket_time_minutes")),
    )
    op.create_index("ix_ticket_time_tenant_id", "ticket_time", ["tenant_id"])
    op.create_index("ix_ticket_time_ticket_id", "ticket_time", ["ticket_id"])
    op.create_table(
        "ticket_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at(),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_ticket_template_tenant_id", "ticket_template", ["tenant_id"])
    op.create_table(
        "ticket_view",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        _at(),
        sa.UniqueConstraint("user_id", "name"),
    )
    op.create_index("ix_ticket_view_tenant_id", "ticket_view", ["tenant_id"])
    op.create_index("ix_ticket_view_user_id", "ticket_view", ["user_id"])
    op.create_table(
        "ticket_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _at(),
        sa.UniqueConstraint("tenant_id", "name"),
        sa.CheckConstraint("trigger IN ('created', 'updated', 'message', 'time')",
                           name=op.f("ck_ticket_rule_trigger")),
    )
    op.create_index("ix_ticket_rule_tenant_id", "ticket_rule", ["tenant_id"])
    op.create_table(
        "ticket_rule_usage",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("month", sa.String(length=7), primary_key=True),
        sa.Column("runs", sa.Integer(), nullable=False),
    )
    op.create_table(
        "ticket_rule_fired",
        sa.Column("rule_id", sa.Integer(), sa.ForeignKey("ticket_rule.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id", ondelete="CASCADE"),
                  primary_key=True),
        _at("ticket_updated_at"),
        _at("fired_at"),
    )


def downgrade() -> None:
    for table in ("ticket_rule_fired", "ticket_rule_usage", "ticket_rule", "ticket_view",
                  "ticket_template", "ticket_time", "ticket_event"):
        op.drop_table(table)
