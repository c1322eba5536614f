"""contact imports: progress, uploaded file, rejected rows

Revision ID: e1a0c0de0008
Revises: e1a0c0de0001
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0008"
down_revision = "e1a0c0de0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("next_line", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=False),
        sa.Column("started_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=True),
        sa.Column("finished_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=True),
        sa.Column("heartbeat_at", controlplane.models.base.UtcDateTime(timezone=True),
                  nullable=True),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')",
                           name=op.f("ck_contact_import_state")),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaign.id"],
                                name=op.f("fk_contact_import_campaign_id_campaign"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["user_account.id"],
                                name=op.f("fk_contact_import_created_by_user_account"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"],
                                name=op.f("fk_contact_import_tenant_id_tenant"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_import")),
    )
    op.create_index(op.f("ix_contact_import_campaign_id"), "contact_import", ["campaign_id"])
    op.create_index(op.f("ix_contact_import_tenant_id"), "contact_import", ["tenant_id"])
    op.create_table(
        "contact_import_file",
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["contact_import.id"],
                                name=op.f("fk_contact_import_file_import_id_contact_import"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("import_id", name=op.f("pk_contact_import_file")),
    )
    op.create_table(
        "contact_import_rejection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["contact_import.id"],
                                name=op.f("fk_contact_import_rejection_import_id_contact_import"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_import_rejection")),
    )
    op.create_index(op.f("ix_contact_import_rejection_import_id"), "contact_import_rejection",
                    ["import_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_import_rejection_import_id"),
                  table_name="contact_import_rejection")
    op.drop_table("contact_import_rejection")
    op.drop_table("contact_import_file")
    op.drop_index(op.f("ix_contact_import_tenant_id"), table_name="contact_import")
    op.drop_index(op.f("ix_contact_import_campaign_id"), table_name="contact_import")
    op.drop_table("contact_import")
