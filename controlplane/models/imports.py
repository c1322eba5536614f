"""Contact imports (a CSV file into a campaign) run as jobs, batch by batch.

* ``ContactImport``: one upload and its progress, as the panel/API/CLI show it. ``state``
  goes ``queued`` → ``running`` → ``done`` or ``failed`` (``error`` says why; the batches
  committed before the failure stay). ``next_line`` is the first line of the file no
  committed batch has covered yet: a retried job resumes there. ``job_id``: its RQ job
  (queued through the job outbox, ``controlplane.jobs.imports``).
  ``heartbeat_at`` moves with every batch; a ``running`` import whose heartbeat stopped
  long ago lost its worker and may be taken over.
* ``ContactImportFile``: the uploaded bytes, in their own table so that progress updates
  never rewrite a multi-megabyte row; deleted once the import is done.
* ``ContactImportRejection``: every rejected row (line, column as written in the header,
  reason), written in the same transaction as its batch; downloadable as CSV.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow

IMPORT_STATES = ("queued", "running", "done", "failed")


class ContactImport(Base):
    __tablename__ = "contact_import"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(200), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(8), default="queued")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    next_line: Mapped[int] = mapped_column(Integer, default=0)  # 0: not started
    error: Mapped[str] = mapped_column(String(500), default="")
    job_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # each committed batch


class ContactImportFile(Base):
    __tablename__ = "contact_import_file"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("contact_import.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ContactImportRejection(Base):
    __tablename__ = "contact_import_rejection"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("contact_import.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int] = mapped_column(Integer)
    column: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(500))
