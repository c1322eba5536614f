"""SMS channel of the desk: gateway account, templates, auto-reply log

Revision ID: e1a0c0de0033
Revises: e1a0c0de0032
Create Date: 2026-12-04 12:40:00

``desk_sms_account`` (one per tenant: provider, API URL, encrypted API key and inbound
secret, numbers, sender ID, queue, auto-reply), ``desk_sms_template`` and
``desk_sms_auto_reply`` (the auto-reply loop guard). See :mod:`controlplane.models.sms`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0033"
down_revision = "e1a0c0de0032"
branch_labels = None
depends_on = None


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(),
                     sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "desk_sms_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("public_id", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("api_url", sa.String(length=500), nullable=False),
        sa.Column("api_key_enc", sa.Text(), nullable=False),
        sa.Column("inbound_secret_enc", sa.Text(), nullable=False),
        sa.Column("numbers", sa.JSON(), nullable=False),
        sa.Column("sender_id", sa.String(length=16), nullable=False),
        sa.Column("queue_id", sa.Integer(),
                  sa.ForeignKey("acd_queue.id", ondelete="SET NULL"), nullable=True),
        sa.Column("auto_reply_enabled", sa.Boolean(), nullable=False),
        sa.Column("auto_reply_text", sa.String(length=1000), nullable=False),
        sa.Column("auto_reply_quiet_hours", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id"),
        sa.UniqueConstraint("public_id"),
    )
    op.create_index("ix_desk_sms_account_tenant_id", "desk_sms_account", ["tenant_id"])
    op.create_table(
        "desk_sms_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.String(length=1600), nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_desk_sms_template_tenant_id", "desk_sms_template", ["tenant_id"])
    op.create_table(
        "desk_sms_auto_reply",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "number"),
    )
    op.create_index("ix_desk_sms_auto_reply_tenant_id", "desk_sms_auto_reply", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_desk_sms_auto_reply_tenant_id", table_name="desk_sms_auto_reply")
    op.drop_table("desk_sms_auto_reply")
    op.drop_index("ix_desk_sms_template_tenant_id", table_name="desk_sms_template")
    op.drop_table("desk_sms_template")
    op.drop_index("ix_desk_sms_account_tenant_id", table_name="desk_sms_account")
    op.drop_table("desk_sms_account")
