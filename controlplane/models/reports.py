"""Reports: the long ones built by an RQ job, and the indexes every report's reads use.

* ``report_export``: one report (its name, filters and file format) a user asked to export
  that is too long to build during a request; the job
  (:mod:`controlplane.jobs.report_export`) writes the file and counts ``done`` of ``total``
  (the days of the range) for the page's progress bar; past ``expires_at`` it is gone.
  ``params`` is the report's query as JSON, validated again by the job.
* Composite ``(tenant_id, moment)`` indexes on the logs the reports read by date range
  (the single-column ``tenant_id`` and ``at`` indexes make the database pick one and scan:
  measured in ``tests/unit/reports/test_reports_store.py``). Declared here, on the other
  models' tables, so the reports' reads and their indexes stay one change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.acd import AgentStatusLog, QueueLog
from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.campaigns import DialAttempt
from controlplane.models.columns import one_of, tenant_fk
from controlplane.models.contacts import HlrResult
from controlplane.models.desktop import CallWrapup

EXPORT_STATES = ("queued", "running", "done", "failed")
EXPORT_FORMATS = ("csv", "csv_semicolon", "xlsx")

INDEXES = (
    Index("ix_acd_queue_log_tenant_at", QueueLog.tenant_id, QueueLog.at),
    Index("ix_acd_agent_status_log_tenant_at", AgentStatusLog.tenant_id, AgentStatusLog.at),
    Index("ix_call_wrapup_tenant_created", CallWrapup.tenant_id, CallWrapup.created_at),
    Index("ix_dial_attempt_tenant_dial_at", DialAttempt.tenant_id, DialAttempt.dial_at),
    Index("ix_hlr_result_tenant_checked", HlrResult.tenant_id, HlrResult.checked_at),
)


class ReportExport(Base):
    __tablename__ = "report_export"
    __table_args__ = (
        CheckConstraint(one_of("state", EXPORT_STATES), name="state"),
        CheckConstraint(one_of("file_format", EXPORT_FORMATS), name="file_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    report: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    file_format: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
