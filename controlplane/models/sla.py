"""What the SLA remembers: settings, maintenance, downtime, probe results, incidents, claims.

- ``sla_settings``: one row per tenant: its level, monthly fee (the base of credits and
  penalties) and the support address failures are mailed to.
- ``sla_maintenance``: announced maintenance windows ("Wykluczenia dostępności", C in the
  formula); ``tenant_id`` NULL: the whole platform.
- ``sla_downtime``: a critical function down from ``started_at`` to ``ended_at`` (NULL:
  still down); ``tenant_id`` NULL: platform-wide, it counts for every tenant. Derived from
  probe results or entered by an operator (``source``).
- ``sla_probe_result``: one synthetic probe of one function (the probes run elsewhere).
- ``sla_incident`` and ``sla_incident_event``: a failure, its priority (§ 8.2) and the
  events that drive its clocks (reacted, paused, resumed, repaired); the clocks themselves
  are computed (:mod:`controlplane.sla.terms`), never stored.
- ``sla_claim``: a tenant's request for the credit of a billing period ("YYYY-MM").

The vocabularies (levels, priorities, functions) are the pure modules' own; the CHECK
constraints repeat them so the database refuses anything else.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk
from controlplane.sla.calendar import Level
from controlplane.sla.terms import CRITICAL_FUNCTIONS, Priority

LEVELS = tuple(str(v) for v in Level)
PRIORITIES = tuple(str(v) for v in Priority)
INCIDENT_SOURCES = ("user", "mail", "probe")
INCIDENT_STATUSES = ("open", "reacted", "waiting", "repaired")
EVENT_KINDS = ("reacted", "paused", "resumed", "repaired")
CLAIM_STATUSES = ("pending", "granted", "refused")


def _tenant_or_platform() -> Mapped[int | None]:
    return mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True, nullable=True)


class SlaSettings(Base):
    __tablename__ = "sla_settings"
    __table_args__ = (CheckConstraint(one_of("level", LEVELS), name="level"),)

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    monthly_fee: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    support_email: Mapped[str] = mapped_column(String(254), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SlaMaintenance(Base):
    __tablename__ = "sla_maintenance"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = _tenant_or_platform()
    announced_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(String(500), default="")


class SlaDowntime(Base):
    __tablename__ = "sla_downtime"
    __table_args__ = (CheckConstraint(one_of("function", CRITICAL_FUNCTIONS), name="function"),
                      Index("ix_sla_downtime_started_at", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = _tenant_or_platform()
    function: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    source: Mapped[str] = mapped_column(String(16), default="probe")  # probe | operator


class SlaProbeResult(Base):
    __tablename__ = "sla_probe_result"
    __table_args__ = (CheckConstraint(one_of("function", CRITICAL_FUNCTIONS), name="function"),
                      Index("ix_sla_probe_result_function_at", "function", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = _tenant_or_platform()
    function: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(String(500), default="")


class SlaIncident(Base):
    __tablename__ = "sla_incident"
    __table_args__ = (CheckConstraint(one_of("priority", PRIORITIES), name="priority"),
                      CheckConstraint(one_of("source", INCIDENT_SOURCES), name="source"),
                      CheckConstraint(one_of("status", INCIDENT_STATUSES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    priority: Mapped[str] = mapped_column(String(16))
    preset: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the seed's example
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    reported_by: Mapped[str] = mapped_column(String(254))  # an e-mail, or probe:<function>
    source: Mapped[str] = mapped_column(String(8), default="user")
    status: Mapped[str] = mapped_column(String(16), default="open")


class SlaIncidentEvent(Base):
    __tablename__ = "sla_incident_event"
    __table_args__ = (CheckConstraint(one_of("kind", EVENT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("sla_incident.id", ondelete="CASCADE"),
                                             index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(254), default="")
    note: Mapped[str] = mapped_column(String(1000), default="")


class SlaClaim(Base):
    __tablename__ = "sla_claim"
    __table_args__ = (UniqueConstraint("tenant_id", "period"),
                      CheckConstraint(one_of("status", CLAIM_STATUSES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    claimed_by: Mapped[str] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    note: Mapped[str] = mapped_column(String(1000), default="")
