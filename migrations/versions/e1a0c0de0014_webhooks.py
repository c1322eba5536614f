"""webhooks: subscriptions, event outbox, deliveries, attempts

Revision ID: e1a0c0de0014
Revises: e1a0c0de0012
Create Date: 2026-12-03 22:40:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0014"
down_revision = "e1a0c0de0012"
branch_labels = None
depends_on = None

Utc = controlplane.models.base.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "webhook_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failing_since", Utc(timezone=True), nullable=True),
        sa.Column("disabled_at", Utc(timezone=True), nullable=True),
        sa.Column("disabled_reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE",
                                name=op.f("fk_webhook_subscription_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscription")),
    )
    op.create_index(op.f("ix_webhook_subscription_tenant_id"), "webhook_subscription",
                    ["tenant_id"], unique=False)
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("fanned_out_at", Utc(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE",
                                name=op.f("fk_webhook_event_tenant_id_tenant")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_event_event_id")),
    )
    op.create_index(op.f("ix_webhook_event_tenant_id"), "webhook_event", ["tenant_id"],
                    unique=False)
    op.create_index(op.f("ix_webhook_event_fanned_out_at"), "webhook_event",
                    ["fanned_out_at"], unique=False)
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", Utc(timezone=True), nullable=False),
        sa.Column("retry_since", Utc(timezone=True), nullable=False),
        sa.Column("next_attempt_at", Utc(timezone=True), nullable=True),
        sa.Column("leased_until", Utc(timezone=True), nullable=True),
        sa.Column("delivered_at", Utc(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"], ondelete="CASCADE",
                                name=op.f("fk_webhook_delivery_tenant_id_tenant")),
        sa.ForeignKeyConstraint(["event_id"], ["webhook_event.id"], ondelete="CASCADE",
                                name=op.f("fk_webhook_delivery_event_id_webhook_event")),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["webhook_subscription.id"], ondelete="CASCADE",
            name=op.f("fk_webhook_delivery_subscription_id_webhook_subscription")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_delivery")),
        sa.UniqueConstraint("event_id", "subscription_id",
                            name=op.f("uq_webhook_delivery_event_id")),
    )
    for column in ("tenant_id", "subscription_id", "state", "next_attempt_at"):
        op.create_index(op.f(f"ix_webhook_delivery_{column}"), "webhook_delivery", [column],
                        unique=False)
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", Utc(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_delivery.id"], ondelete="CASCADE",
                                name=op.f("fk_webhook_attempt_delivery_id_webhook_delivery")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempt")),
    )
    op.create_index(op.f("ix_webhook_attempt_delivery_id"), "webhook_attempt",
                    ["delivery_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_attempt_delivery_id"), table_name="webhook_attempt")
    op.drop_table("webhook_attempt")
    for column in ("tenant_id", "subscription_id", "state", "next_attempt_at"):
        op.drop_index(op.f(f"ix_webhook_delivery_{column}"), table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index(op.f("ix_webhook_event_fanned_out_at"), table_name="webhook_event")
    op.drop_index(op.f("ix_webhook_event_tenant_id"), table_name="webhook_event")
    op.drop_table("webhook_event")
    op.drop_index(op.f("ix_webhook_subscription_tenant_id"), table_name="webhook_subscription")
    op.drop_table("webhook_subscription")
