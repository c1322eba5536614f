"""security events (audit trail)

Revision ID: e1a0c0de0001
Revises: c7d2e9f4a1b3
Create Date: 2026-12-03 15:10:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0001"
down_revision = "c7d2e9f4a1b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.CheckConstraint("severity IN ('info', 'warning', 'alert')",
                           name=op.f("ck_security_event_severity")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_security_event_tenant_id_tenant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_event")),
    )
    op.create_index(op.f("ix_security_event_at"), "security_event", ["at"], unique=False)
    op.create_index(op.f("ix_security_event_kind"), "security_event", ["kind"], unique=False)
    op.create_index(op.f("ix_security_event_tenant_id"), "security_event", ["tenant_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_security_event_tenant_id"), table_name="security_event")
    op.drop_index(op.f("ix_security_event_kind"), table_name="security_event")
    op.drop_index(op.f("ix_security_event_at"), table_name="security_event")
    op.drop_table("security_event")
