"""Reports: long exports built by a job, and date-range indexes on the logs they read

Revision ID: e1a0c0de0036
Revises: e1a0c0de0031
Create Date: 2026-12-04 13:00:00

``report_export`` (a report exported by an RQ job, with its progress) and composite
``(tenant_id, moment)`` indexes on ``acd_queue_log``, ``acd_agent_status_log``,
``call_wrapup``, ``dial_attempt`` and ``hlr_result``. See :mod:`controlplane.models.reports`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0036"
down_revision = "e1a0c0de0031"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_acd_queue_log_tenant_at", "acd_queue_log", ["tenant_id", "at"]),
    ("ix_acd_agent_status_log_tenant_at", "acd_agent_status_log", ["tenant_id", "at"]),
    ("ix_call_wrapup_tenant_created", "call_wrapup", ["tenant_id", "created_at"]),
    ("ix_dial_attempt_tenant_dial_at", "dial_attempt", ["tenant_id", "dial_at"]),
    ("ix_hlr_result_tenant_checked", "hlr_result", ["tenant_id", "checked_at"]),
)


def upgrade() -> None:
    op.create_table(
        "report_export",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.Integer(), sa.ForeignKey("tenant.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.Integer(),
                  sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False),
        sa.Column("report", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("file_format", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')",
                           name=op.f("ck_report_export_state")),
        sa.CheckConstraint("file_format IN ('csv', 'csv_semicolon', 'xlsx')",
                           name=op.f("ck_report_export_file_format")),
    )
    op.create_index("ix_report_export_tenant_id", "report_export", ["tenant_id"])
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_report_export_tenant_id", table_name="report_export")
    op.drop_table("report_export")
