"""Copies of recordings on a tenant's SFTP server

Revision ID: e1a0c0de0038
Revises: e1a0c0de0037
Create Date: 2026-12-04 12:30:00

``recording_sftp`` (a tenant's server, folder and pinned host key) and ``recording_upload``
(each recording copied or being retried). See :mod:`controlplane.models.recording_sftp`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0038"
down_revision = "e1a0c0de0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recording_sftp",
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("remote_dir", sa.String(length=500), nullable=False),
        sa.Column("host_key", sa.String(length=2000), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("last_ok_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("updated_at", UtcDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "recording_upload",
        sa.Column("recording_id", sa.Integer(),
                  sa.ForeignKey("call_recording.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("remote_path", sa.String(length=1000), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
    )
    op.create_index("ix_recording_upload_tenant_id", "recording_upload", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("recording_upload")
    op.drop_table("recording_sftp")
