"""call records: when the platform answered the caller, and what the carrier bills

Revision ID: e1a0c0de0010
Revises: e1a0c0de0009
Create Date: 2026-12-03 18:00:00

``answered_at``/``billsec_s`` stay the agent's answer and talk time; an IVR-only call
had neither although the carrier bills it. Records written before this revision keep
both new columns empty (not recomputed: the platform's answer time was never stored).
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0010"
down_revision = "e1a0c0de0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_record") as batch:
        batch.add_column(sa.Column("platform_answered_at",
                                   controlplane.models.base.UtcDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("carrier_billsec_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_record") as batch:
        batch.drop_column("carrier_billsec_s")
        batch.drop_column("platform_answered_at")
