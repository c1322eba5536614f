"""A tenant's number lists for outbound dialling: the blacklist (numbers and prefixes never
dialled) and the caller-ID pool (numbers presented, with their use per day)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import tenant_fk
from controlplane.models.contacts import E164_MAX


class BlacklistEntry(Base):
    """A number (``is_prefix`` false: exact E.164) or a prefix (``+4870``) never dialled:
    platform-wide (no tenant), for every campaign of a tenant (no campaign) or for one
    campaign."""

    __tablename__ = "blacklist_entry"
    __table_args__ = (
        CheckConstraint("campaign_id IS NULL OR tenant_id IS NOT NULL", name="scope"),
        CheckConstraint("pattern LIKE '+%'", name="e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    pattern: Mapped[str] = mapped_column(String(E164_MAX), index=True)
    is_prefix: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CallerIdNumber(Base):
    """A number the tenant may present: in one campaign's pool, or every campaign's (no
    campaign). ``tainted`` numbers (flagged as spam) are skipped; ``daily_cap`` limits
    calls per UTC day (None: no cap)."""

    __tablename__ = "caller_id_number"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("daily_cap IS NULL OR daily_cap > 0", name="daily_cap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(E164_MAX))
    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    tainted: Mapped[bool] = mapped_column(default=False)
    daily_cap: Mapped[int | None] = mapped_column(Integer)


class CallerIdUsage(Base):
    """Calls presented with a caller-ID number on one UTC day."""

    __tablename__ = "caller_id_usage"
    __table_args__ = (
        UniqueConstraint("number_id", "day"),
        CheckConstraint("count >= 0", name="count"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number_id: Mapped[int] = mapped_column(ForeignKey("caller_id_number.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, default=0)
