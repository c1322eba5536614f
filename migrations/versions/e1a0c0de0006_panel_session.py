"""panel sessions (server-side, revocable)

Revision ID: e1a0c0de0006
Revises: e1a0c0de0001
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0006"
down_revision = "e1a0c0de0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "panel_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("last_seen_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("idle_expires_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("absolute_expires_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("password_fp", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("revoked_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=True),
        sa.Column("revoked_reason", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_panel_session_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_panel_session_token_hash")),
    )
    op.create_index(op.f("ix_panel_session_user_id"), "panel_session", ["user_id"],
                    unique=False)
    op.create_index(op.f("ix_panel_session_absolute_expires_at"), "panel_session",
                    ["absolute_expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_panel_session_absolute_expires_at"), table_name="panel_session")
    op.drop_index(op.f("ix_panel_session_user_id"), table_name="panel_session")
    op.drop_table("panel_session")
