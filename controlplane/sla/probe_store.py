"""The probes' SQL: write one round's results, read them back as downtime.

Reading derives downtime on the fly (:mod:`controlplane.sla.downtime`): a month of
one-minute probes is a few hundred thousand small rows at most, read through the
``(function, started_at)``/``started_at`` indexes. The read starts ``LOOKBACK`` before the
window so a failure (or the last success before a gap) just before it is seen; a prober
dead for longer than that across a period's start is counted from the period's first
result only (said in the derivation's docstring: before a first result nothing is known).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlplane.models.sla_probes import SlaProbeRun
from controlplane.sla import downtime as derivation
from controlplane.sla.calendar import Interval

LOOKBACK = timedelta(hours=6)


def results(s: Session, window: Interval, tenant_id: int | None = None, *,
            every_tenant: bool = False) -> list[derivation.Result]:
    """Results in ``window`` (plus the lookback): platform-wide and ``tenant_id``'s own, or
    every tenant's (``every_tenant``, the operator's view)."""
    query = select(SlaProbeRun.probe, SlaProbeRun.function, SlaProbeRun.tenant_id,
                   SlaProbeRun.started_at, SlaProbeRun.ok, SlaProbeRun.interval_s).where(
        SlaProbeRun.started_at >= window[0] - LOOKBACK, SlaProbeRun.started_at < window[1])
    if not every_tenant:
        query = query.where(or_(SlaProbeRun.tenant_id.is_(None),
                                SlaProbeRun.tenant_id == tenant_id))
    return [derivation.Result(*row) for row in s.execute(query)]


def downtime(s: Session, tenant_id: int, period: Interval,
             now: datetime) -> dict[str, list[Interval]]:
    """Tenant ``tenant_id``'s probe-derived downtime per function, clipped to ``period``."""
    until = min(now, period[1])
    derived = derivation.derive(results(s, (period[0], until), tenant_id), until)
    return derivation.clip(derivation.for_tenant(derived, tenant_id), (period[0], until))


def write(s: Session, rows: Iterable[SlaProbeRun]) -> None:
    s.add_all(list(rows))


def last_ok(s: Session, probe: str, tenant_id: int | None = None) -> bool | None:
    """Whether the latest result of ``probe`` passed (None: it never ran)."""
    return s.scalar(select(SlaProbeRun.ok).where(
        SlaProbeRun.probe == probe,
        SlaProbeRun.tenant_id.is_(None) if tenant_id is None
        else SlaProbeRun.tenant_id == tenant_id,
    ).order_by(SlaProbeRun.started_at.desc(), SlaProbeRun.id.desc()).limit(1))
