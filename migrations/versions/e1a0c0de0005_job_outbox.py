"""job outbox (RQ jobs kept while Redis is unreachable)

Revision ID: e1a0c0de0005
Revises: e1a0c0de0001
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0005"
down_revision = "e1a0c0de0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(length=120), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("func", sa.String(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("kwargs", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("sent_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
        sa.UniqueConstraint("job_id", name=op.f("uq_job_outbox_job_id")),
    )
    op.create_index(op.f("ix_job_outbox_sent_at"), "job_outbox", ["sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_job_outbox_sent_at"), table_name="job_outbox")
    op.drop_table("job_outbox")
