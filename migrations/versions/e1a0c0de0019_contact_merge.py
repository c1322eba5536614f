"""contact merge log

Revision ID: e1a0c0de0019
Revises: e1a0c0de0018
Create Date: 2026-12-04 04:20:00

``contact_merge``: one row each time a contact was merged into another (the one kept),
with the old contact's id, name and e-mail, who merged it, when, and what moved.
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0019"
down_revision = "e1a0c0de0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_merge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("merged_name", sa.String(length=201), nullable=False),
        sa.Column("merged_email", sa.String(length=254), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("merged_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"],
                                name=op.f("fk_contact_merge_contact_id_contact"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_contact_merge_tenant_id_tenant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merge")),
    )
    op.create_index(op.f("ix_contact_merge_contact_id"), "contact_merge", ["contact_id"])
    op.create_index(op.f("ix_contact_merge_tenant_id"), "contact_merge", ["tenant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_merge_tenant_id"), table_name="contact_merge")
    op.drop_index(op.f("ix_contact_merge_contact_id"), table_name="contact_merge")
    op.drop_table("contact_merge")
