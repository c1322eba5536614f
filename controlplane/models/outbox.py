"""The job outbox: RQ jobs that could not be queued because Redis was unreachable.

One row per job: the function's import path, its arguments (JSON, ids only, STYLE.md §7)
and the RQ job id it will have. The control plane queues the rows when Redis is back
(:mod:`controlplane.jobs.outbox`) and stamps ``sent_at``; a row is sent once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class JobOutbox(Base):
    __tablename__ = "job_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(120), unique=True)
    queue: Mapped[str] = mapped_column(String(40), default="default")
    func: Mapped[str] = mapped_column(String(200))  # "controlplane.jobs.recordings.verify_recording"
    args: Mapped[list[object]] = mapped_column(JSON, default=list)
    kwargs: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    # RQ options (job_timeout, result_ttl, …), kept apart from the function's own arguments
    options: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # None: still to send; the drain only looks at these (hence the index)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
