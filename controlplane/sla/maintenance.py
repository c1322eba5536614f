"""Announced maintenance windows ("Wykluczenia dostępności", C in the formula).

The seed (§ 2.8) only says the customer is told "z wyprzedzeniem wskazanym w Regulaminie":
the notice is in terms we do not have, so it is a setting, ``CENTRALA_SLA_NOTICE_HOURS``
(48 h by default). The operator announces a window for one tenant or the whole platform
(``tenant_id`` NULL); one announced later than that is refused, naming ``starts_at``
(the store counts as C only windows announced before they began, whatever this says).

Tenants see their windows and the platform's: on ``/sla``, and in a banner on every page
while one is running or begins within :data:`BANNER_HOURS`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlplane.errors import CentralaError
from controlplane.models.sla import SlaMaintenance
from controlplane.security import audit

NOTICE_ENV = "CENTRALA_SLA_NOTICE_HOURS"
DEFAULT_NOTICE_HOURS = 48
BANNER_HOURS = 48
MAX_WINDOW = timedelta(days=7)


class BadWindow(CentralaError):
    status = 400
    error_id = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={"field": field, "message": message})


def notice_hours(env: Mapping[str, str] | None = None) -> int:
    raw = (os.environ if env is None else env).get(NOTICE_ENV, "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_NOTICE_HOURS


def announce(s: Session, tenant_id: int | None, *, starts_at: datetime, ends_at: datetime,
             reason: str, actor: str, source: str, now: datetime,
             notice: int | None = None) -> SlaMaintenance:
    hours = notice_hours() if notice is None else notice
    if starts_at < now + timedelta(hours=hours):
        raise BadWindow("starts_at", f"must be at least {hours} h from now")
    if ends_at <= starts_at:
        raise BadWindow("ends_at", "must be after starts_at")
    if ends_at - starts_at > MAX_WINDOW:
        raise BadWindow("ends_at", "a window lasts at most 7 days")
    row = SlaMaintenance(tenant_id=tenant_id, announced_at=now, starts_at=starts_at,
                         ends_at=ends_at, reason=reason)
    s.add(row)
    s.flush()
    audit.record(s, "sla.maintenance.announced", tenant_id=tenant_id, actor=actor,
                 source=source, detail={"maintenance": row.id, "starts_at": starts_at.isoformat(),
                                        "ends_at": ends_at.isoformat()})
    return row


def for_tenant(s: Session, tenant_id: int | None, *, since: datetime,
               until: datetime | None = None) -> list[SlaMaintenance]:
    """Windows still running or ending after ``since`` (and beginning before ``until``):
    the tenant's and the platform's; ``tenant_id`` None (the operator): all of them."""
    query = select(SlaMaintenance).where(SlaMaintenance.ends_at > since)
    if tenant_id is not None:
        query = query.where(or_(SlaMaintenance.tenant_id == tenant_id,
                                SlaMaintenance.tenant_id.is_(None)))
    if until is not None:
        query = query.where(SlaMaintenance.starts_at < until)
    return list(s.scalars(query.order_by(SlaMaintenance.starts_at, SlaMaintenance.id)
                          .limit(200)))


def banner(s: Session, tenant_id: int, now: datetime) -> list[SlaMaintenance]:
    """The windows a page's banner shows: running now or beginning within 48 h."""
    return for_tenant(s, tenant_id, since=now, until=now + timedelta(hours=BANNER_HOURS))
