"""A tenant's SLA statement for a billing period: the store's facts through the pure terms.

``report`` reads the tenant's settings and the period's intervals, incidents and claim
(:mod:`controlplane.sla.store`) and hands them to :func:`controlplane.sla.terms.statement`;
``as_dict`` turns the statement into the JSON the CLI (and later the panel and API) print.
Times are shown in the tenant's zone; amounts as strings (exact decimals).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.models.tenancy import Tenant
from controlplane.sla import probe_store, store, terms
from controlplane.sla.calendar import Level
from controlplane.sla.downtime import combine
from controlplane.sla.exceptions import SlaError, SlaNotConfigured

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class UnknownTenant(SlaError):
    status = 404
    error_id = "tenant_not_found"


class BadPeriod(SlaError):
    status = 400
    error_id = "bad_period"


def parse_period(label: str) -> tuple[int, int]:
    """``"2026-12"`` -> ``(2026, 12)``; anything else is a :class:`BadPeriod`."""
    match = _PERIOD.match(label)
    if not match:
        raise BadPeriod(f"period must be YYYY-MM, got {label!r}")
    year = int(match.group(1))
    if not 2000 <= year <= 9998:  # a billing period of this platform; datetime ends at 9999
        raise BadPeriod(f"period {label!r}: the year must be between 2000 and 9998")
    return year, int(match.group(2))


def report(s: Session, domain: str, label: str,
           now: datetime | None = None) -> tuple[Tenant, terms.Statement]:
    """The statement of tenant ``domain`` for period ``label`` ("YYYY-MM")."""
    year, month = parse_period(label)
    tenant = s.scalar(select(Tenant).where(Tenant.domain == domain))
    if tenant is None:
        raise UnknownTenant(f"no tenant {domain!r}")
    settings = store.settings_of(s, tenant.id)
    if settings is None:
        raise SlaNotConfigured(f"tenant {domain!r} has no SLA settings (level, monthly fee)")
    now = now or datetime.now(UTC)
    tz = tenant.time_zone
    period = terms.month_period(year, month, tz)
    until = min(now, period[1])
    # a period still running is measured so far: A is the service time until now
    so_far = (period[0], until)
    statement = terms.statement(
        Level(settings.level), so_far, tz, settings.monthly_fee,
        # entered by an operator, and derived from the probes' results
        downtime=combine(store.downtime(s, tenant.id, period, until),
                         probe_store.downtime(s, tenant.id, period, until)),
        maintenance=store.maintenance(s, tenant.id, period),
        incidents=store.incidents(s, tenant.id, period, until),
        failure_reported=store.failure_reported(s, tenant.id, period),
        claimed_at=store.claimed_at(s, tenant.id, label),
        now=until)
    return tenant, statement


def _percent(ratio: Fraction) -> str:
    return format(terms.as_percent(ratio).normalize(), "f")


def as_dict(tenant: Tenant, label: str, st: terms.Statement) -> dict[str, Any]:
    zone = ZoneInfo(tenant.time_zone)
    a = st.availability
    return {
        "tenant": tenant.domain,
        "period": label,
        "time_zone": tenant.time_zone,
        "level": str(st.level),
        "guaranteed_percent": _percent(terms.GUARANTEE[st.level]),
        "availability_percent": str(a.percent),
        "service_seconds": a.service,
        "downtime_seconds": a.down,
        "maintenance_seconds": a.maintenance,
        "downtime_by_function": dict(st.downtime_by_function),
        "monthly_fee": str(st.fee),
        "credit": {"percent": st.credit_percent, "eligible": st.credit_eligible,
                   "amount": str(st.credit)},
        "penalties": [{"incident": p.incident_id,
                       "repair_due": p.repair_due.astimezone(zone).isoformat(),
                       "late_seconds": p.late_seconds, "full_units": p.full_units,
                       "amount": str(p.amount)} for p in st.penalties],
        "penalties_total": str(st.penalties_total),
        "penalties_capped": st.penalties_capped,
        "days": [{"date": day.isoformat(), "availability_percent": str(d.percent),
                  "service_seconds": d.service, "downtime_seconds": d.down,
                  "maintenance_seconds": d.maintenance} for day, d in st.days],
    }
