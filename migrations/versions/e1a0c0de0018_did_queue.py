"""DIDs may route straight to a queue

Revision ID: e1a0c0de0018
Revises: e1a0c0de0017
Create Date: 2026-12-03 23:30:00

A DID routes to exactly one of a phone, an IVR flow or (new) an ACD queue. Deleting a
queue a DID routes to is refused by the panel; ``SET NULL`` only covers the tenant's
own deletion (cascades) so a row never points at nothing.
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c0de0018"
down_revision = "e1a0c0de0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("did", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queue_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_did_queue_id_acd_queue"), "acd_queue",
                                    ["queue_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("did", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_did_queue_id_acd_queue"), type_="foreignkey")
        batch_op.drop_column("queue_id")
