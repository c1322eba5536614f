"""The SLA's SQL: a tenant's settings and what happened to it in a billing period.

Every reader is tenant-scoped; downtime and maintenance rows with a NULL tenant are
platform-wide and count for every tenant. Intervals come back clipped to the period, in
UTC; one still open (a function still down) ends at ``now``. Incidents come back as the
pure :class:`~controlplane.sla.terms.IncidentFacts`, their clock events folded into the
reaction, the repair and the customer's turns (a pause not yet resumed ends at ``now``:
until then the clock has not run).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlplane.models.sla import (
    SlaClaim,
    SlaDowntime,
    SlaIncident,
    SlaIncidentEvent,
    SlaMaintenance,
    SlaSettings,
)
from controlplane.sla.calendar import Interval
from controlplane.sla.terms import IncidentFacts, Priority

REPORTING_SOURCES = ("user", "mail")  # a failure the customer reported (credits need one)


def settings_of(s: Session, tenant_id: int) -> SlaSettings | None:
    return s.get(SlaSettings, tenant_id)


def _clip(lo: datetime, hi: datetime | None, period: Interval, now: datetime) -> Interval:
    return max(lo, period[0]), min(hi or now, now, period[1])


def downtime(s: Session, tenant_id: int, period: Interval,
             now: datetime) -> dict[str, list[Interval]]:
    """Each function's downtime in ``period``: the tenant's own and the platform's."""
    rows = s.scalars(select(SlaDowntime).where(
        or_(SlaDowntime.tenant_id == tenant_id, SlaDowntime.tenant_id.is_(None)),
        SlaDowntime.started_at < period[1],
        or_(SlaDowntime.ended_at.is_(None), SlaDowntime.ended_at > period[0]),
    ).order_by(SlaDowntime.started_at, SlaDowntime.id))
    out: dict[str, list[Interval]] = defaultdict(list)
    for row in rows:
        lo, hi = _clip(row.started_at, row.ended_at, period, now)
        if lo < hi:
            out[row.function].append((lo, hi))
    return dict(out)


def maintenance(s: Session, tenant_id: int, period: Interval) -> list[Interval]:
    """Announced maintenance windows in ``period`` (the tenant's and the platform's)."""
    rows = s.scalars(select(SlaMaintenance).where(
        or_(SlaMaintenance.tenant_id == tenant_id, SlaMaintenance.tenant_id.is_(None)),
        SlaMaintenance.starts_at < period[1], SlaMaintenance.ends_at > period[0],
        # announced before it began: an "announcement" afterwards excludes nothing
        SlaMaintenance.announced_at <= SlaMaintenance.starts_at,
    ).order_by(SlaMaintenance.starts_at))
    return [(max(r.starts_at, period[0]), min(r.ends_at, period[1])) for r in rows]


def _facts(incident: SlaIncident, events: Sequence[SlaIncidentEvent],
           now: datetime) -> IncidentFacts:
    reacted = repaired = paused_at = None
    pauses: list[Interval] = []
    for event in events:  # in time order
        if event.kind == "reacted" and reacted is None:
            reacted = event.at
        elif event.kind == "repaired" and repaired is None:
            repaired = event.at
        elif event.kind == "paused" and paused_at is None:
            paused_at = event.at
        elif event.kind == "resumed" and paused_at is not None:
            pauses.append((paused_at, event.at))
            paused_at = None
    if paused_at is not None:
        pauses.append((paused_at, max(now, paused_at)))
    return IncidentFacts(incident.id, Priority(incident.priority), incident.opened_at,
                         reacted, repaired, tuple(pauses))


def incidents(s: Session, tenant_id: int, period: Interval,
              now: datetime) -> list[IncidentFacts]:
    """The tenant's incidents that were open at some point in ``period``."""
    rows = list(s.scalars(select(SlaIncident).where(
        SlaIncident.tenant_id == tenant_id, SlaIncident.opened_at < period[1],
    ).order_by(SlaIncident.opened_at, SlaIncident.id)))
    if not rows:
        return []
    events: dict[int, list[SlaIncidentEvent]] = defaultdict(list)
    for event in s.scalars(select(SlaIncidentEvent).where(
            SlaIncidentEvent.incident_id.in_([r.id for r in rows]))
            .order_by(SlaIncidentEvent.at, SlaIncidentEvent.id)):
        events[event.incident_id].append(event)
    facts = [_facts(r, events[r.id], now) for r in rows]
    return [f for f in facts if f.repaired_at is None or f.repaired_at > period[0]]


def failure_reported(s: Session, tenant_id: int, period: Interval) -> bool:
    """Did the customer report a failure in ``period`` (a probe's incident does not count)?"""
    return s.scalar(select(SlaIncident.id).where(
        SlaIncident.tenant_id == tenant_id, SlaIncident.source.in_(REPORTING_SOURCES),
        SlaIncident.opened_at >= period[0], SlaIncident.opened_at < period[1]).limit(1)) is not None


def claimed_at(s: Session, tenant_id: int, label: str) -> datetime | None:
    """When the tenant claimed the credit of period ``label`` ("YYYY-MM"), if it did."""
    return s.scalar(select(SlaClaim.claimed_at).where(
        SlaClaim.tenant_id == tenant_id, SlaClaim.period == label,
        SlaClaim.status != "refused"))


def recent_incidents(s: Session, tenant_id: int, now: datetime,
                     limit: int = 20) -> list[tuple[SlaIncident, IncidentFacts]]:
    """The tenant's latest incidents, newest first, each with its clock facts."""
    rows = list(s.scalars(select(SlaIncident).where(SlaIncident.tenant_id == tenant_id)
                          .order_by(SlaIncident.opened_at.desc(), SlaIncident.id.desc())
                          .limit(limit)))
    events: dict[int, list[SlaIncidentEvent]] = defaultdict(list)
    if rows:
        for event in s.scalars(select(SlaIncidentEvent).where(
                SlaIncidentEvent.incident_id.in_([r.id for r in rows]))
                .order_by(SlaIncidentEvent.at, SlaIncidentEvent.id)):
            events[event.incident_id].append(event)
    return [(r, _facts(r, events[r.id], now)) for r in rows]


def incident_facts(s: Session, incident: SlaIncident,
                   now: datetime) -> tuple[IncidentFacts, list[SlaIncidentEvent]]:
    """One incident's clock facts and its events in time order."""
    events = list(s.scalars(select(SlaIncidentEvent).where(
        SlaIncidentEvent.incident_id == incident.id)
        .order_by(SlaIncidentEvent.at, SlaIncidentEvent.id)))
    return _facts(incident, events, now), events
