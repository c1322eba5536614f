"""The queue log and the statistics computed from it.

Theory of operation
-------------------
The queue machine emits one :class:`QueueLogRecord` per step in the life of an
interaction in a queue; the agent machine emits ``StatusChanged``. The
service appends both to its event log. Every figure below is a pure function
of a list of such records, so the wallboard (live) and the reports (a day, a
month) are the same computation over different slices.

    kind            when                                        detail
    enter           entered the queue
    offer           offered to ``agent`` (one per agent)
    offer_timeout   that agent did not answer in time           cause
    answer          ``agent`` answered
    abandon         the customer left while waiting
    overflow        sent to another destination                  reason: max_wait | max_waiting
    divert          no member logged in, sent away               destination
    callback        the customer asked to be called back
    end             the answered interaction ended

Definitions (per queue, over the records given):

* *finished*: interactions with a terminal record (answer, abandon, overflow,
  divert, callback), minus *short abandons* (abandoned in less than
  ``short_abandon_s``, default 0 = none).
* *service level*: answered within ``threshold_s`` of entering ÷ finished, in
  percent (None when nothing finished). Overflowed, diverted and callback
  interactions count as not answered in time.
* *abandon rate*: abandoned (short ones excluded) ÷ finished, in percent.
* *average speed of answer*: mean enter→answer of the answered ones.
* *average handle time*: mean answer→end of the ones that ended (talk or chat
  time; the agent's wrap-up is in the ``StatusChanged`` log).
* *waiting* and *longest wait*: interactions entered without a terminal record
  yet, and the longest ``now − enter`` among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from controlplane.acd.agent_events import Status, StatusChanged

TERMINAL = frozenset({"answer", "abandon", "overflow", "divert", "callback"})


@dataclass(frozen=True, slots=True)
class QueueLogRecord:
    interaction_id: str
    queue_id: str
    kind: str
    at: float
    agent: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class QueueReport:
    queue_id: str
    entered: int
    answered: int
    answered_in_threshold: int
    abandoned: int
    short_abandoned: int
    overflowed: int
    diverted: int
    callbacks: int
    waiting: int
    longest_wait_s: float
    service_level_pct: float | None
    abandon_rate_pct: float | None
    avg_speed_of_answer_s: float | None
    avg_handle_s: float | None


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def queue_report(
    records: Iterable[QueueLogRecord],
    queue_id: str,
    now: float,
    threshold_s: float = 20.0,
    short_abandon_s: float = 0.0,
) -> QueueReport:
    """Statistics of one queue from its log records (any order)."""
    enter: dict[str, float] = {}
    final: dict[str, QueueLogRecord] = {}
    end: dict[str, float] = {}
    for r in sorted((r for r in records if r.queue_id == queue_id), key=lambda r: r.at):
        if r.kind == "enter":
            enter.setdefault(r.interaction_id, r.at)
        elif r.kind in TERMINAL:
            final.setdefault(r.interaction_id, r)
        elif r.kind == "end":
            end.setdefault(r.interaction_id, r.at)
    counts = dict.fromkeys(TERMINAL, 0)
    short = in_threshold = 0
    asa: list[float] = []
    for iid, r in final.items():
        wait = r.at - enter.get(iid, r.at)
        if r.kind == "abandon" and wait < short_abandon_s:
            short += 1
            continue
        counts[r.kind] += 1
        if r.kind == "answer":
            asa.append(wait)
            in_threshold += wait <= threshold_s
    handle = [end[i] - r.at for i, r in final.items() if r.kind == "answer" and i in end]
    waiting = [now - t for i, t in enter.items() if i not in final]
    finished = sum(counts.values())
    return QueueReport(
        queue_id=queue_id,
        entered=len(enter),
        answered=counts["answer"],
        answered_in_threshold=in_threshold,
        abandoned=counts["abandon"],
        short_abandoned=short,
        overflowed=counts["overflow"],
        diverted=counts["divert"],
        callbacks=counts["callback"],
        waiting=len(waiting),
        longest_wait_s=max(waiting, default=0.0),
        service_level_pct=100.0 * in_threshold / finished if finished else None,
        abandon_rate_pct=100.0 * counts["abandon"] / finished if finished else None,
        avg_speed_of_answer_s=_mean(asa),
        avg_handle_s=_mean(handle),
    )


def agents_per_status(records: Iterable[StatusChanged]) -> dict[Status, int]:
    """How many agents are in each status now (last record per agent wins)."""
    last: dict[str, StatusChanged] = {}
    for r in sorted(records, key=lambda r: r.at):
        last[r.agent] = r
    out: dict[Status, int] = {}
    for r in last.values():
        if r.to != Status.LOGGED_OUT:
            out[r.to] = out.get(r.to, 0) + 1
    return out


def time_in_status(records: Iterable[StatusChanged], now: float) -> dict[str, dict[str, float]]:
    """Seconds each agent spent in each status, keyed ``status`` or
    ``break:<reason>`` for breaks; the open interval runs to ``now``."""
    out: dict[str, dict[str, float]] = {}
    cur: dict[str, StatusChanged] = {}
    for r in sorted(records, key=lambda r: r.at):
        _close(out, cur.get(r.agent), r.at)
        cur[r.agent] = r
    for r in cur.values():
        _close(out, r, now)
    return out


def _close(out: dict[str, dict[str, float]], r: StatusChanged | None, until: float) -> None:
    if r is None or r.to == Status.LOGGED_OUT:
        return
    key = f"break:{r.reason}" if r.to == Status.BREAK else str(r.to)
    per = out.setdefault(r.agent, {})
    per[key] = per.get(key, 0.0) + until - r.at
