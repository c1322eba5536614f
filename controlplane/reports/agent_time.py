"""Report: each agent's time per status per interval, from the status log (pure).

Theory of operation
-------------------
Input: the agents' :class:`~controlplane.acd.agent_events.StatusChanged` records in the
range, plus each agent's last change before it (the status they were in when the range
began). The buckets are walked in order; for each one, every agent's status at its start
is carried in as a change made at the start (exactly what the wallboard's ``DayLog`` does at
midnight), the bucket's own changes follow, and
:func:`controlplane.acd.stats.time_in_status` (the wallboard's function) sums the seconds up
to the bucket's end or ``now``. So a status held across midnight (or any edge) is split at
the edge, and a closed day's logged-in total equals the wallboard's
``logged_in_seconds`` on the same rows. Logged-out time is the part of the bucket after the
agent's first known change that no logged-in status covers.

Columns: ready, reserved, ringing, on a call, wrap-up, every break reason
(``break:<reason>``), logged in (their sum) and logged out, in seconds.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from controlplane.acd.agent_events import StatusChanged
from controlplane.acd.stats import time_in_status
from controlplane.reports.periods import Buckets
from controlplane.reports.tables import Column, Table, dynamic

FIXED = ("ready", "reserved", "ringing", "on_call", "wrap_up")


def agent_time(statuses: Iterable[StatusChanged], b: Buckets, now: float) -> Table:
    """Rows ``period``, ``agent`` and the seconds per status (see the module docstring)."""
    records = sorted(statuses, key=lambda r: r.at)
    times = [r.at for r in records]
    last: dict[str, StatusChanged] = {}
    i = bisect.bisect_left(times, b.start)
    for r in records[:i]:
        last[r.agent] = r
    rows: list[dict[str, Any]] = []
    for n, bucket in enumerate(b.items):
        j = bisect.bisect_left(times, bucket.end, lo=i)
        inside = records[i:j]
        i = j
        until = min(bucket.end, now)
        if until > bucket.start:
            carried = [StatusChanged(r.agent, r.from_, r.to, r.reason, bucket.start)
                       for r in last.values()]
            per = time_in_status([*carried, *inside], until)
            first_seen = {r.agent: bucket.start for r in carried}
            changed = {r.agent for r in inside}
            for r in inside:
                first_seen.setdefault(r.agent, r.at)
            for agent in sorted(first_seen, key=_agent_order):
                spent = per.get(agent, {})
                logged_in = sum(spent.values())
                row: dict[str, Any] = {"period": n, "agent": agent}
                row.update({k: round(spent.get(k, 0.0)) for k in FIXED})
                row.update({k: round(v) for k, v in spent.items() if k.startswith("break:")})
                row["logged_in"] = round(logged_in)
                row["logged_out"] = round(max(0.0, until - first_seen[agent] - logged_in))
                if logged_in > 0 or agent in changed:  # not an agent out all along
                    rows.append(row)
        for r in inside:
            last[r.agent] = r
    columns = [Column("period", "period"), Column("agent", "text"),
               *(Column(k, "seconds") for k in FIXED),
               *dynamic("break", rows, "seconds"),
               Column("logged_in", "seconds"), Column("logged_out", "seconds")]
    for row in rows:  # every row has every column (CSV, charts)
        for c in columns:
            row.setdefault(c.key, 0)
    return Table("agent_time", columns, rows)


def _agent_order(agent: str) -> tuple[int, str]:
    return (int(agent), "") if agent.isdigit() else (1 << 62, agent)

