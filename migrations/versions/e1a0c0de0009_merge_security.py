"""merge the security branches (bans, outbound policy, job outbox, panel sessions, imports)

Revision ID: e1a0c0de0009
Revises: e1a0c0de0002, e1a0c0de0004, e1a0c0de0005, e1a0c0de0006, e1a0c0de0008
Create Date: 2026-12-03 16:30:00

Built in parallel from ``e1a0c0de0001``; one head again from here.
"""

revision = "e1a0c0de0009"
down_revision = ("e1a0c0de0002", "e1a0c0de0004", "e1a0c0de0005", "e1a0c0de0006",
                 "e1a0c0de0008")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
