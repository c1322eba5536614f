"""Reports over the queue log: calls per queue, per agent, and abandons (pure).

Theory of operation
-------------------
A record counts in the interval its moment falls in. Per queue and interval the figures are
those of the wallboard, computed by the wallboard's own function
(:func:`controlplane.acd.wallboard_figures.queue_day` over a ``DayLog`` holding that
interval's records), so a closed day's row equals what the wallboard showed for that day on
the same rows, by construction (``docs/wallboard.md`` § Queues has the formulas). The price
of that agreement: a call that waits across an edge is answered (or abandoned) in the later
interval, its wait counted as the wallboard counts it (from the later interval's records).

Per agent: offers made to the agent, offers that timed out (missed), answers, the average
wait of the calls the agent answered and the average and total handle time (answer → end).
Abandons: per queue, the abandoned calls by how long the caller waited before hanging up
(:data:`WAIT_EDGES`), measured from the call's ``enter`` anywhere in the range read.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from typing import Any

from controlplane.acd import wallboard_figures as wf
from controlplane.acd.stats import QueueLogRecord
from controlplane.reports.periods import Buckets
from controlplane.reports.tables import Column, Table, mean, r1

QUEUE_FIGURES = ("entered", "answered", "answered_in_threshold", "abandoned", "overflowed",
                 "service_level_pct", "abandon_rate_pct", "avg_speed_of_answer_s",
                 "avg_handle_s")
_KIND = {"service_level_pct": "pct", "abandon_rate_pct": "pct",
         "avg_speed_of_answer_s": "seconds", "avg_handle_s": "seconds"}
WAIT_EDGES = (10, 30, 60, 120)  # seconds: 0-10, 10-30, 30-60, 60-120, 120+
WAIT_KEYS = ("wait:0-10", "wait:10-30", "wait:30-60", "wait:60-120", "wait:120+")


def _by_bucket(records: Iterable[QueueLogRecord], b: Buckets) -> dict[int, list[QueueLogRecord]]:
    out: dict[int, list[QueueLogRecord]] = {}
    for r in records:
        n = b.index(r.at)
        if n is not None:
            out.setdefault(n, []).append(r)
    return out


def calls_by_queue(records: Iterable[QueueLogRecord], b: Buckets,
                   thresholds: Mapping[str, float], now: float) -> Table:
    """One row per interval and queue that had calls: the wallboard's queue figures."""
    rows: list[dict[str, Any]] = []
    for n, inside in sorted(_by_bucket(records, b).items()):
        bucket = b.items[n]
        day = wf.DayLog(bucket.start, queue_records=inside)
        for queue in sorted({r.queue_id for r in inside}, key=_order):
            figures = wf.queue_day(day, queue, min(bucket.end, now),
                                   thresholds.get(queue, 20.0))
            rows.append({"period": n, "queue": queue,
                         **{k: figures[k] for k in QUEUE_FIGURES}})
    columns = [Column("period", "period"), Column("queue", "text"),
               *(Column(k, _KIND.get(k, "count")) for k in QUEUE_FIGURES)]
    return Table("calls_by_queue", columns, rows)


def calls_by_agent(records: Iterable[QueueLogRecord], b: Buckets) -> Table:
    """One row per interval and agent with an offer or an answer in it."""
    records = sorted(records, key=lambda r: r.at)
    enter: dict[str, float] = {}
    answered: dict[str, tuple[str, float]] = {}  # interaction → (agent, answer moment)
    for r in records:
        if r.kind == "enter":
            enter.setdefault(r.interaction_id, r.at)
        elif r.kind == "answer" and r.agent:
            answered.setdefault(r.interaction_id, (r.agent, r.at))
    acc: dict[tuple[int, str], dict[str, Any]] = {}

    def row(n: int, agent: str) -> dict[str, Any]:
        return acc.setdefault((n, agent), {"offered": 0, "missed": 0, "answered": 0,
                                           "waits": [], "handles": []})

    for r in records:
        n = b.index(r.at)
        if n is None:
            continue
        if r.kind == "offer" and r.agent:
            row(n, r.agent)["offered"] += 1
        elif r.kind == "offer_timeout" and r.agent:
            row(n, r.agent)["missed"] += 1
        elif r.kind == "answer" and r.agent:
            a = row(n, r.agent)
            a["answered"] += 1
            a["waits"].append(r.at - enter.get(r.interaction_id, r.at))
        elif r.kind == "end" and r.interaction_id in answered:
            agent, at = answered[r.interaction_id]
            start = b.index(at)  # handle time counts where the answer does
            if start is not None:
                row(start, agent)["handles"].append(max(0.0, r.at - at))
    rows = []
    for (n, agent), a in sorted(acc.items(), key=lambda kv: (kv[0][0], _order(kv[0][1]))):
        rows.append({"period": n, "agent": agent, "offered": a["offered"],
                     "missed": a["missed"], "answered": a["answered"],
                     "avg_wait_s": r1(mean(a["waits"])), "avg_handle_s": r1(mean(a["handles"])),
                     "handle_s": round(sum(a["handles"]))})
    columns = [Column("period", "period"), Column("agent", "text"), Column("offered"),
               Column("missed"), Column("answered"), Column("avg_wait_s", "seconds"),
               Column("avg_handle_s", "seconds"), Column("handle_s", "seconds")]
    return Table("calls_by_agent", columns, rows)


def wait_key(wait: float) -> str:
    return WAIT_KEYS[bisect.bisect_right(WAIT_EDGES, wait)]


def abandons(records: Iterable[QueueLogRecord], b: Buckets) -> Table:
    """One row per interval and queue with abandoned calls: how long callers waited."""
    records = sorted(records, key=lambda r: r.at)
    enter: dict[str, float] = {}
    seen: set[str] = set()
    acc: dict[tuple[int, str], list[float]] = {}
    for r in records:
        if r.kind == "enter":
            enter.setdefault(r.interaction_id, r.at)
        elif r.kind == "abandon" and r.interaction_id not in seen:
            seen.add(r.interaction_id)
            n = b.index(r.at)
            if n is not None:
                acc.setdefault((n, r.queue_id), []).append(
                    max(0.0, r.at - enter.get(r.interaction_id, r.at)))
    rows = []
    for (n, queue), waits in sorted(acc.items(), key=lambda kv: (kv[0][0], _order(kv[0][1]))):
        row: dict[str, Any] = {"period": n, "queue": queue, "abandoned": len(waits),
                               "avg_wait_s": r1(mean(waits)), "max_wait_s": r1(max(waits))}
        row.update(dict.fromkeys(WAIT_KEYS, 0))
        for w in waits:
            row[wait_key(w)] += 1
        rows.append(row)
    columns = [Column("period", "period"), Column("queue", "text"), Column("abandoned"),
               *(Column(k) for k in WAIT_KEYS), Column("avg_wait_s", "seconds"),
               Column("max_wait_s", "seconds")]
    return Table("abandons", columns, rows)


def _order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 62, key)
