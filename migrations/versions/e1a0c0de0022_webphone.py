"""Webphones: a phone endpoint's kind, and the tenant's switch for them

Revision ID: e1a0c0de0022
Revises: e1a0c0de0021
Create Date: 2026-12-04 05:00:00

``phone_endpoint.kind`` is ``desk`` (every existing phone) or ``webphone`` (the panel's
browser phone, a WebRTC endpoint created for its user on first use). ``tenant.webphone_enabled``
lets a tenant refuse webphones (default: allowed).
"""

import sqlalchemy as sa
from alembic import op

revision = "e1a0c0de0022"
down_revision = "e1a0c0de0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: on SQLite a batch recreates the table, and dropping
    # ``tenant`` (or ``phone_endpoint``) with foreign keys on would cascade to every row that
    # points at it (measured: the tenant's phones vanished).
    op.add_column("phone_endpoint", sa.Column("kind", sa.String(length=16), nullable=False,
                                              server_default="desk"))
    op.add_column("tenant", sa.Column("webphone_enabled", sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+), for the same reason as above.
    op.drop_column("tenant", "webphone_enabled")
    op.drop_column("phone_endpoint", "kind")
