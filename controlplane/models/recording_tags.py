"""Recordings app: a tenant's tags on recorded calls, and its recordings policy (retention).

A tag is a tenant's word ("complaint", "training"); a recording carries any number of them
(``recording_tag_link``, keyed by the call record, since a call record is what the
recordings app lists). A "group" of recordings is a tag: there is no second notion.
``recording_policy`` holds one row per tenant that set one: ``retention_days`` (None: keep
forever), read by the RQ retention job (:mod:`controlplane.jobs.recordings_retention`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import tenant_fk

TAG_MAX = 40
RETENTION_MAX_DAYS = 36500


class RecordingTag(Base):
    __tablename__ = "recording_tag"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(TAG_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordingTagLink(Base):
    __tablename__ = "recording_tag_link"

    record_id: Mapped[int] = mapped_column(
        ForeignKey("call_record.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("recording_tag.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class RecordingPolicy(Base):
    __tablename__ = "recording_policy"
    __table_args__ = (
        CheckConstraint(f"retention_days IS NULL OR retention_days BETWEEN 1 AND "
                        f"{RETENTION_MAX_DAYS}", name="retention_days"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           primary_key=True)
    retention_days: Mapped[int | None] = mapped_column(Integer)  # None: keep forever
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


EXPORT_STATES = ("queued", "running", "done", "failed")


class RecordingExport(Base):
    """A ZIP of selected recordings, built by an RQ job (:mod:`controlplane.jobs.recordings_zip`)
    for one user; ``done`` of ``total`` is the progress bar; past ``expires_at`` it is gone."""

    __tablename__ = "recording_export"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    record_ids: Mapped[str] = mapped_column(String(8000))  # comma-separated call record ids
    state: Mapped[str] = mapped_column(String(10), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    file_name: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
