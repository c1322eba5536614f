"""queue callback key

Revision ID: b5c1f0a2d7e4
Revises: 87da6784a63b
Create Date: 2026-12-01 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b5c1f0a2d7e4"
down_revision = "87da6784a63b"
branch_labels = None
depends_on = None

KEYS = "callback_key IS NULL OR callback_key IN ('0','1','2','3','4','5','6','7','8','9','*','#')"


def upgrade() -> None:
    with op.batch_alter_table("acd_queue") as batch:
        batch.add_column(sa.Column("callback_key", sa.String(length=1), nullable=True))
        batch.create_check_constraint(op.f("ck_acd_queue_callback_key"), KEYS)


def downgrade() -> None:
    with op.batch_alter_table("acd_queue") as batch:
        batch.drop_constraint(op.f("ck_acd_queue_callback_key"), type_="check")
        batch.drop_column("callback_key")
