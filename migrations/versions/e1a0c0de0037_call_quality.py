"""Call quality at the agent's end, as the webphone measured it

Revision ID: e1a0c0de0037
Revises: e1a0c0de0036
Create Date: 2026-12-04 12:15:00

``call_quality``: packets, loss, jitter, round trip and time to first audio of one call at
one agent phone. See :mod:`controlplane.models.call_quality`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0037"
down_revision = "e1a0c0de0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_quality",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("endpoint", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("packets_received", sa.Integer(), nullable=False),
        sa.Column("packets_lost", sa.Integer(), nullable=False),
        sa.Column("jitter_ms", sa.Float(), nullable=True),
        sa.Column("rtt_ms", sa.Float(), nullable=True),
        sa.Column("first_audio_ms", sa.Integer(), nullable=True),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("call_id", "endpoint"),
    )
    op.create_index("ix_call_quality_tenant_id", "call_quality", ["tenant_id"])
    op.create_index("ix_call_quality_call_id", "call_quality", ["call_id"])


def downgrade() -> None:
    op.drop_table("call_quality")
