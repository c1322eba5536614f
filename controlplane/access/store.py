"""The audit log as administrators read it: one tenant's ``security_event`` rows, filtered,
paged and with secrets masked.

Theory of operation: rows are written by :func:`controlplane.security.audit.record`
everywhere a change or a login happens; this module only reads them, always for one
tenant (platform-wide rows, tenant ``NULL``, are the operator's, not a tenant's). Dates
in the filters are days in the tenant's time zone, turned into UTC bounds here. Before a
row leaves, any ``detail`` value under a key that names a secret (password, secret,
token, key, code, hash) is replaced by a mask, at any depth: ``audit.record`` callers
promise not to store secrets, and this is the second lock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from controlplane.models import SecurityEvent

MASK = "••••"
_SECRET_KEY = re.compile(r"pass|secret|token|key|code|hash|otp|credential", re.I)
EXPORT_MAX = 50_000


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: datetime
    action: str
    severity: str
    actor: str
    source: str
    detail: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "action": self.action,
                "severity": self.severity, "actor": self.actor, "source": self.source,
                "detail": self.detail}


def mask(value: Any, key: str = "") -> Any:
    """``value`` with every secret-named entry masked, at any depth."""
    if key and _SECRET_KEY.search(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def _bounds(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def _query(tenant_id: int, f: AuditFilter, zone: str) -> Select[SecurityEvent]:
    q = select(SecurityEvent).where(SecurityEvent.tenant_id == tenant_id)
    if f.actor:
        q = q.where(SecurityEvent.actor.contains(f.actor, autoescape=True))
    if f.action:
        q = q.where(SecurityEvent.kind.startswith(f.action, autoescape=True))
    if f.since:
        q = q.where(SecurityEvent.at >= _bounds(f.since, zone))
    if f.until:
        q = q.where(SecurityEvent.at < _bounds(f.until + timedelta(days=1), zone))
    return q


def _row(e: SecurityEvent) -> AuditRow:
    return AuditRow(e.id, e.at, e.kind, e.severity, e.actor, e.source,
                    mask(dict(e.detail or {})))


def page(s: Session, tenant_id: int, f: AuditFilter, zone: str, *, number: int,
         size: int) -> tuple[list[AuditRow], int]:
    """Page ``number`` (from 1) of the matching rows, newest first, and how many match."""
    q = _query(tenant_id, f, zone)
    total = int(s.scalar(select(func.count()).select_from(q.subquery())) or 0)
    rows = s.scalars(q.order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
                     .offset((number - 1) * size).limit(size))
    return [_row(e) for e in rows], total


def export(s: Session, tenant_id: int, f: AuditFilter, zone: str) -> Iterator[AuditRow]:
    """Every matching row (at most :data:`EXPORT_MAX`), newest first."""
    q = _query(tenant_id, f, zone).order_by(SecurityEvent.at.desc(), SecurityEvent.id.desc())
    for e in s.scalars(q.limit(EXPORT_MAX)):
        yield _row(e)


def actions(s: Session, tenant_id: int) -> list[str]:
    """The kinds of event the tenant has, for the filter's choices."""
    return sorted(s.scalars(select(SecurityEvent.kind).distinct()
                            .where(SecurityEvent.tenant_id == tenant_id)))
