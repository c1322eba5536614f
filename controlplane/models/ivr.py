"""IVR flows stored per tenant, their numbered versions, and TTS usage for billing.

A flow (``IvrFlow``) is a name inside a tenant; each upload becomes a new
``IvrFlowVersion`` numbered 1..n. A version is a ``draft`` until published;
published versions never change (the service layer, :mod:`controlplane.ivr.store`,
refuses edits). ``IvrFlow.current_version_id`` is the published version that
new calls get; a call keeps the version it started with.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlplane.models.base import Base, UtcDateTime, utcnow

DRAFT = "draft"
PUBLISHED = "published"


class IvrFlow(Base):
    __tablename__ = "ivr_flow"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Flow and version refer to each other; use_alter breaks the cycle when creating tables.
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "ivr_flow_version.id",
            ondelete="SET NULL",
            use_alter=True,
            name="fk_ivr_flow_current_version_id_ivr_flow_version",
        )
    )

    versions: Mapped[list[IvrFlowVersion]] = relationship(
        back_populates="flow",
        foreign_keys="IvrFlowVersion.flow_id",
        order_by="IvrFlowVersion.version",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    current_version: Mapped[IvrFlowVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )


class IvrFlowVersion(Base):
    __tablename__ = "ivr_flow_version"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flow.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)  # draft | published
    document: Mapped[str] = mapped_column(Text)  # the JSON text as stored
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    flow: Mapped[IvrFlow] = relationship(back_populates="versions", foreign_keys=[flow_id])

    @property
    def published(self) -> bool:
        return self.status == PUBLISHED


class TtsUsage(Base):
    """Billable TTS characters of one tenant in one calendar month (UTC), ``month`` = 'YYYY-MM'."""

    __tablename__ = "tts_usage"
    __table_args__ = (UniqueConstraint("tenant_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    characters: Mapped[int] = mapped_column(BigInteger, default=0)


class HolidayCalendarDay(Base):
    """A day in one of a tenant's holiday calendars (office closures), used by IVR conditions."""

    __tablename__ = "holiday_calendar_day"
    __table_args__ = (UniqueConstraint("tenant_id", "calendar", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    calendar: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(200), default="")


class AudioUpload(Base):
    """A tenant's own recorded prompt, referenced from flows as ``{"audio": name}``."""

    __tablename__ = "audio_upload"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(500))
    duration_s: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
