"""Probe results -> downtime intervals: pure, no I/O.

Theory of operation. The prober (:mod:`controlplane.sla.prober`) writes one result per probe
per critical function per round: when it started, whether it passed, and the interval it
was meant to run at. A function is derived down or up per *series*: one probe, one
function, one scope (a tenant, or ``None``: platform-wide):

- a failure opens an interval at its start; the next success closes it at its start;
- a result vouches for one interval after it. A gap in the results longer than two
  intervals (one missed round is jitter: a slow probe, a busy machine) counts as down from
  the moment the last result stopped vouching (``last + interval``) until the next result.
  The prober being dead must not read as "up": the same rule applies between the last
  result and ``now``;
- before a series' first result nothing is known and nothing is counted (a platform that
  has never probed cannot owe its customers for that).

A function is down when any of its series is down (two probes cover ``inbound_call``: the
control plane's heartbeat and a real call): per function the series' intervals are merged.
A tenant's view (:func:`for_tenant`) merges the platform-wide series with its own.
Intervals are half-open ``[start, end)`` aware UTC datetimes, as in
:mod:`controlplane.sla.calendar`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from controlplane.sla.calendar import Interval, merge

GAP_INTERVALS = 2  # more than this many intervals without a result: down


@dataclass(frozen=True)
class Result:
    """One stored probe result (what the derivation needs of it)."""

    probe: str
    function: str
    tenant_id: int | None
    started_at: datetime
    ok: bool
    interval_s: int


SeriesKey = tuple[str, str, int | None]  # probe, function, tenant
FunctionKey = tuple[str, int | None]  # function, tenant


def _gap(prev: Result, at: datetime) -> bool:
    """Is ``at`` more than two of ``prev``'s intervals after it?"""
    return at - prev.started_at > timedelta(seconds=GAP_INTERVALS * prev.interval_s)


def series_downtime(results: Iterable[Result], now: datetime) -> list[Interval]:
    """The down intervals of one series (results of one probe, function and scope)."""
    ordered = sorted(results, key=lambda r: r.started_at)
    out: list[Interval] = []
    down_since: datetime | None = None
    prev: Result | None = None
    for r in ordered:
        if r.started_at > now:
            break
        if prev is not None and down_since is None and _gap(prev, r.started_at):
            # the prober was away: down since the last result stopped vouching
            down_since = prev.started_at + timedelta(seconds=prev.interval_s)
        if r.ok and down_since is not None:
            if down_since < r.started_at:
                out.append((down_since, r.started_at))
            down_since = None
        elif not r.ok and down_since is None:
            down_since = r.started_at
        prev = r
    if prev is not None and down_since is None and _gap(prev, now):
        down_since = prev.started_at + timedelta(seconds=prev.interval_s)
    if down_since is not None and down_since < now:
        out.append((down_since, now))
    return merge(out)


def derive(results: Iterable[Result], now: datetime) -> dict[FunctionKey, list[Interval]]:
    """Every (function, tenant)'s downtime: each series derived, then merged per function."""
    series: dict[SeriesKey, list[Result]] = defaultdict(list)
    for r in results:
        series[(r.probe, r.function, r.tenant_id)].append(r)
    out: dict[FunctionKey, list[Interval]] = defaultdict(list)
    for (_, function, tenant), rows in series.items():
        out[(function, tenant)].extend(series_downtime(rows, now))
    return {key: merge(spans) for key, spans in out.items() if spans}


def for_tenant(derived: Mapping[FunctionKey, list[Interval]],
               tenant_id: int | None) -> dict[str, list[Interval]]:
    """Tenant ``tenant_id``'s downtime per function: the platform's and its own, merged
    (``None``: the platform's alone, the operator's view)."""
    out: dict[str, list[Interval]] = defaultdict(list)
    for (function, tenant), spans in derived.items():
        if tenant is None or tenant == tenant_id:
            out[function].extend(spans)
    return {function: merge(spans) for function, spans in out.items()}


def clip(by_function: Mapping[str, list[Interval]], window: Interval) -> dict[str, list[Interval]]:
    """Each function's intervals cut to ``window`` (those wholly outside dropped)."""
    out: dict[str, list[Interval]] = {}
    for function, spans in by_function.items():
        cut = [(max(lo, window[0]), min(hi, window[1])) for lo, hi in spans]
        cut = [(lo, hi) for lo, hi in cut if lo < hi]
        if cut:
            out[function] = cut
    return out


def combine(*sources: Mapping[str, list[Interval]]) -> dict[str, list[Interval]]:
    """Several sources' downtime per function (operator-entered and probe-derived) merged."""
    out: dict[str, list[Interval]] = defaultdict(list)
    for source in sources:
        for function, spans in source.items():
            out[function].extend(spans)
    return {function: merge(spans) for function, spans in out.items()}


def down_since(spans: list[Interval], now: datetime) -> datetime | None:
    """When the current outage began, if the function is down at ``now`` (an outage still
    open ends at ``now``, cut to its whole second by :func:`~controlplane.sla.calendar.merge`)."""
    whole = now.replace(microsecond=0)
    for lo, hi in spans:
        if lo <= now and hi >= whole:
            return lo
    return None


def strip(spans: list[Interval], known_from: datetime | None, window: Interval,
          slots: int) -> list[str]:
    """``window`` cut into ``slots`` equal slots, each ``down`` (some downtime in it),
    ``unknown`` (it ended before the first result: nothing was measured) or ``up``."""
    step = (window[1] - window[0]) / slots
    out = []
    for i in range(slots):
        lo, hi = window[0] + step * i, window[0] + step * (i + 1)
        if any(s_lo < hi and s_hi > lo for s_lo, s_hi in spans):
            out.append("down")
        elif known_from is None or hi <= known_from:
            out.append("unknown")
        else:
            out.append("up")
    return out
