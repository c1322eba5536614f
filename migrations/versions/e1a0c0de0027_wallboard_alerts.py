"""Wallboard alert rules

Revision ID: e1a0c0de0027
Revises: e1a0c0de0026
Create Date: 2026-12-04 08:00:00

``wallboard_alert_rule``: a tenant's thresholds on live wallboard figures (wait over X s,
service level under Y %, abandons over Z, an agent on break over N min), with the
debounce column ``firing_since``.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0027"
down_revision = "e1a0c0de0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallboard_alert_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("queue_id", sa.Integer(),
                  sa.ForeignKey("acd_queue.id", ondelete="CASCADE"), nullable=True),
        sa.Column("firing_since", UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('wait_over', 'service_level_under', 'abandons_over', 'break_over')",
            name=op.f("ck_wallboard_alert_rule_kind")),
        sa.CheckConstraint("threshold >= 0", name=op.f("ck_wallboard_alert_rule_threshold")),
    )
    op.create_index("ix_wallboard_alert_rule_tenant_id", "wallboard_alert_rule", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_wallboard_alert_rule_tenant_id", table_name="wallboard_alert_rule")
    op.drop_table("wallboard_alert_rule")
