"""call records: what the carrier bills for the numbers a call was transferred to

Revision ID: e1a0c0de0041
Revises: e1a0c0de0040
Create Date: 2026-12-04 21:40:00

A call an agent sends on to a number (a blind transfer, or a consultation) makes the
platform dial that number over the tenant's trunk: a second carrier leg, billed apart from
the caller's (``carrier_billsec_s``). ``transfer_carrier_billsec_s`` is its seconds (0 when
no number was reached); ``transfer_answered_at`` the answer of the number leg still up, so
a restarted control plane keeps metering it. Records written before this revision keep
both empty.
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0041"
down_revision = "e1a0c0de0040"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_record") as batch:
        batch.add_column(sa.Column("transfer_answered_at",
                                   controlplane.models.base.UtcDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("transfer_carrier_billsec_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("call_record") as batch:
        batch.drop_column("transfer_carrier_billsec_s")
        batch.drop_column("transfer_answered_at")
