"""campaign archive: a campaign with attempts is archived, not deleted

Revision ID: e1a0c0de0017
Revises: e1a0c0de0014
Create Date: 2026-12-03 23:40:00

The compliance log (``dial_attempt``) is never deleted, and it holds its campaign; so
"delete" of a campaign that has attempts sets ``campaign.archived_at`` (and ends it):
the panel and the API hide it unless asked for archived campaigns.
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0017"
down_revision = "e1a0c0de0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.add_column(sa.Column("archived_at", controlplane.models.base.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign") as batch:
        batch.drop_column("archived_at")
