"""Recordings app: tags on recorded calls and a tenant's retention policy

Revision ID: e1a0c0de0024
Revises: e1a0c0de0023
Create Date: 2026-12-05 05:00:00

``recording_tag`` (a tenant's tags), ``recording_tag_link`` (a call record carrying a tag)
``recording_export`` (a ZIP of a selection, built by an RQ job)
and ``recording_policy`` (``retention_days``: recordings older are deleted; NULL keeps them).
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0024"
down_revision = "e1a0c0de0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_tag",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "name"),
    )
    op.create_index("ix_recording_tag_tenant_id", "recording_tag", ["tenant_id"])
    op.create_table(
        "recording_tag_link",
        sa.Column("record_id", sa.Integer(),
                  sa.ForeignKey("call_record.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tag_id", sa.Integer(),
                  sa.ForeignKey("recording_tag.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_recording_tag_link_tag_id", "recording_tag_link", ["tag_id"])
    op.create_table(
        "recording_policy",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("retention_days IS NULL OR retention_days BETWEEN 1 AND 36500",
                           name=op.f("ck_recording_policy_retention_days")),
    )
    op.create_table(
        "recording_export",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("record_ids", sa.String(length=8000), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')",
                           name=op.f("ck_recording_export_state")),
    )
    op.create_index("ix_recording_export_tenant_id", "recording_export", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_recording_export_tenant_id", table_name="recording_export")
    op.drop_table("recording_export")
    op.drop_table("recording_policy")
    op.drop_index("ix_recording_tag_link_tag_id", table_name="recording_tag_link")
    op.drop_table("recording_tag_link")
    op.drop_index("ix_recording_tag_tenant_id", table_name="recording_tag")
    op.drop_table("recording_tag")
