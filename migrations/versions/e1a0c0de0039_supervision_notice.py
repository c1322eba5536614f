"""The tenant's choice to tell agents when they are supervised

Revision ID: e1a0c0de0039
Revises: e1a0c0de0038
Create Date: 2026-12-04 12:45:00

``desktop_settings.supervision_notice`` (false: as before, agents are not told).
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c0de0039"
down_revision = "e1a0c0de0038"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("desktop_settings") as batch:
        batch.add_column(sa.Column("supervision_notice", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("desktop_settings") as batch:
        batch.drop_column("supervision_notice")
