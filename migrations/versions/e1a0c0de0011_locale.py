"""tenant language and time zone, user language

Revision ID: e1a0c0de0011
Revises: e1a0c0de0010
Create Date: 2026-12-03 22:20:00

The panel speaks Polish by default (``tenant.locale``), shows times in the tenant's zone
(``tenant.time_zone``), and a user may choose another language (``user_account.locale``).
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c0de0011"
down_revision = "e1a0c0de0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenant") as batch:
        batch.add_column(sa.Column("locale", sa.String(8), nullable=False, server_default="pl"))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=False,
                                   server_default="Europe/Warsaw"))
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("locale", sa.String(8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("locale")
    with op.batch_alter_table("tenant") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("locale")
