"""call recording metadata

Revision ID: c7d2e9f4a1b3
Revises: b5c1f0a2d7e4
Create Date: 2026-12-01 18:10:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "c7d2e9f4a1b3"
down_revision = "b5c1f0a2d7e4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_recording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("policy", sa.String(length=10), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("started_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.CheckConstraint("policy IN ('always', 'on_demand', 'direct')",
                           name=op.f("ck_call_recording_policy")),
        sa.CheckConstraint("status IN ('recording', 'done', 'missing')",
                           name=op.f("ck_call_recording_status")),
        sa.ForeignKeyConstraint(["call_id"], ["call_record.call_id"],
                                name=op.f("fk_call_recording_call_id_call_record"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_call_recording_tenant_id_tenant"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_recording")),
        sa.UniqueConstraint("call_id", "name", name=op.f("uq_call_recording_call_id")),
    )
    op.create_index(op.f("ix_call_recording_call_id"), "call_recording", ["call_id"])
    op.create_index(op.f("ix_call_recording_tenant_id"), "call_recording", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_call_recording_tenant_id"), table_name="call_recording")
    op.drop_index(op.f("ix_call_recording_call_id"), table_name="call_recording")
    op.drop_table("call_recording")
