"""Each critical function now (up, down, not measured; since when) and its last 24 hours.

What the status page and ``GET /api/v1/sla/status`` show, from the probes' results
(:mod:`controlplane.sla.probe_store`) through the same derivation the availability report
uses (:mod:`controlplane.sla.downtime`), so the page and the statement never disagree. A
tenant sees the platform-wide series merged with its own; the operator (``tenant_id``
None) the platform-wide ones. Not limited to service hours: this is what happened, the
report is what it costs.

``since``: for a function down, when the outage began; for one up, when the last outage
in the window ended, or the first result in the window when there was none (None: up for
longer than the window, measured all along).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlplane.models.sla_probes import SlaProbeRun
from controlplane.sla import downtime as derivation
from controlplane.sla import probe_store
from controlplane.sla.terms import CRITICAL_FUNCTIONS

WINDOW = timedelta(hours=24)
SLOTS = 96  # quarter-hours


@dataclass(frozen=True)
class FunctionStatus:
    function: str
    state: str  # up | down | unknown
    since: datetime | None
    checked_at: datetime | None
    detail: str
    down_seconds: int  # in the window
    strip: list[str]


def _latest(s: Session, tenant_id: int | None, function: str, after: datetime,
            failing: bool = False) -> SlaProbeRun | None:
    """The function's latest result (``failing``: its latest failure) since ``after``."""
    scope = SlaProbeRun.tenant_id.is_(None) if tenant_id is None else or_(
        SlaProbeRun.tenant_id.is_(None), SlaProbeRun.tenant_id == tenant_id)
    query = select(SlaProbeRun).where(scope, SlaProbeRun.function == function,
                                      SlaProbeRun.started_at >= after)
    if failing:
        query = query.where(SlaProbeRun.ok.is_(False))
    return s.scalar(query.order_by(SlaProbeRun.started_at.desc(), SlaProbeRun.id.desc())
                    .limit(1))


def status(s: Session, tenant_id: int | None, now: datetime) -> list[FunctionStatus]:
    window = (now - WINDOW, now)
    results = probe_store.results(s, window, tenant_id)
    spans = derivation.clip(
        derivation.for_tenant(derivation.derive(results, now), tenant_id), window)
    first: dict[str, datetime] = {}
    for r in results:
        if r.function not in first or r.started_at < first[r.function]:
            first[r.function] = r.started_at
    out = []
    for function in CRITICAL_FUNCTIONS:
        mine = spans.get(function, [])
        known = first.get(function)
        after = window[0] - probe_store.LOOKBACK
        latest = _latest(s, tenant_id, function, after)
        since = derivation.down_since(mine, now)
        if known is None:
            state = "unknown"
        elif since is not None:
            state = "down"
        else:
            state = "up"
            since = mine[-1][1] if mine else (known if known > window[0] else None)
        failed = _latest(s, tenant_id, function, after, failing=True) if state == "down" else None
        detail = failed.detail if failed is not None else ""
        out.append(FunctionStatus(
            function, state, since, latest.started_at if latest is not None else None, detail,
            sum(int((hi - lo).total_seconds()) for lo, hi in mine),
            derivation.strip(mine, known, window, SLOTS)))
    return out
