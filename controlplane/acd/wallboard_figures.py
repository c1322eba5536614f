"""The wallboard's figures of one tenant's day, as pure functions of the durable logs.

Theory of operation
-------------------
The control plane's own statistics (``queue.stats``, :mod:`controlplane.acd.live_report`)
are a rolling window kept in the daemon's memory: a restart empties them. The wallboard's
"today" figures are instead folded from the rows the ACD appends to the database
(``acd_queue_log``, ``acd_agent_status_log``) since the tenant's local midnight, so a
restart of the control plane or of Asterisk changes none of them, and the figures of a
closed interval equal the historical report over the same rows (both are
:func:`controlplane.acd.stats.queue_report`).

:class:`DayLog` holds one tenant's day: it is filled once (the day so far) and then fed only
the rows appended since (the reader remembers the last row id it saw), so the database is
read incrementally however long the day. Everything here is pure; the reader in
``controlplane.acd.http.wallboard_source`` does the I/O. Formulas: ``docs/wallboard.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controlplane.acd.agent_events import Status, StatusChanged
from controlplane.acd.stats import QueueLogRecord, queue_report, time_in_status

LOGGED_IN = frozenset(s for s in Status if s != Status.LOGGED_OUT)


@dataclass
class DayLog:
    """One tenant's day so far: its queue-log and status-log records since ``start``
    (epoch seconds of the local midnight), and the last row ids folded in."""

    start: float
    queue_records: list[QueueLogRecord] = field(default_factory=list)
    statuses: list[StatusChanged] = field(default_factory=list)
    last_queue_id: int = 0
    last_status_id: int = 0
    answers: dict[str, int] = field(default_factory=dict)  # agent → answered today
    loaded: bool = False  # the day so far was read once; later reads are incremental

    def add_queue(self, rows: Iterable[tuple[int, QueueLogRecord]]) -> int:
        """Fold queue-log rows (id, record) in; returns how many were new."""
        n = 0
        for row_id, r in rows:
            if row_id <= self.last_queue_id:
                continue  # already folded (a re-read overlapping the last one)
            self.last_queue_id = row_id
            if r.at < self.start:
                continue
            self.queue_records.append(r)
            if r.kind == "answer" and r.agent:
                self.answers[r.agent] = self.answers.get(r.agent, 0) + 1
            n += 1
        return n

    def add_statuses(self, rows: Iterable[tuple[int, StatusChanged]]) -> int:
        """Fold status-log rows (id, change) in; a change from before the day (the state
        an agent was in at midnight) is kept as if made at midnight."""
        n = 0
        for row_id, r in rows:
            if row_id <= self.last_status_id:
                continue
            self.last_status_id = row_id
            if r.at < self.start:
                r = StatusChanged(r.agent, r.from_, r.to, r.reason, self.start)
            self.statuses.append(r)
            n += 1
        return n


def _r1(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def queue_day(day: DayLog, queue_id: str, now: float, threshold_s: float) -> dict[str, Any]:
    """Today's figures of one queue (``docs/wallboard.md`` § Queues)."""
    r = queue_report(day.queue_records, queue_id, now, threshold_s)
    return {
        "entered": r.entered,
        "answered": r.answered,
        "answered_in_threshold": r.answered_in_threshold,
        "abandoned": r.abandoned,
        "overflowed": r.overflowed,
        "service_level_pct": _r1(r.service_level_pct),
        "abandon_rate_pct": _r1(r.abandon_rate_pct),
        "avg_speed_of_answer_s": _r1(r.avg_speed_of_answer_s),
        "avg_handle_s": _r1(r.avg_handle_s),
    }


def logged_in_seconds(day: DayLog, now: float) -> dict[str, float]:
    """Seconds each agent was logged in (any status but logged out) today."""
    per = time_in_status(day.statuses, now)
    return {agent: sum(per_status.values()) for agent, per_status in per.items()}


def agent_figures(
    live: Mapping[str, Any] | None, calls_today: int, now: float
) -> dict[str, Any]:
    """One agent's state (from the ACD's live mirror), seconds in it, calls answered today."""
    status = str((live or {}).get("status") or "logged_out")
    since = (live or {}).get("since")
    in_state = max(0.0, now - float(since)) if since and status != "logged_out" else None
    return {
        "status": status,
        "reason": (live or {}).get("reason") if status == "break" else None,
        "in_state_s": None if in_state is None else round(in_state),
        "calls_today": calls_today,
    }


@dataclass(frozen=True, slots=True)
class CampaignDay:
    """One campaign's dial attempts today, summed by the database."""

    campaign_id: int
    attempts: int
    connects: int  # an agent was connected
    live: int  # answered by a person (connected or abandoned)
    abandoned: int
    talk_s: float  # agent connect → end, of the connected ones that ended


def campaign_figures(
    c: CampaignDay, agent_seconds: float, cap_pct: float
) -> dict[str, Any]:
    """``docs/wallboard.md`` § Campaigns: talk minutes per agent-hour logged in, and the
    abandon rate (abandoned ÷ live answers) against the campaign's cap."""
    hours = agent_seconds / 3600.0
    rate = 100.0 * c.abandoned / c.live if c.live else None
    return {
        "attempts": c.attempts,
        "connects": c.connects,
        "talk_min_per_agent_hour": round(c.talk_s / 60.0 / hours, 1) if hours > 0 else None,
        "agent_hours": round(hours, 2),
        "abandon_rate_pct": _r1(rate),
        "abandon_cap_pct": round(cap_pct, 1),
        "over_cap": rate is not None and rate > cap_pct,
    }


def level(value: float | None, amber: float, red: float) -> str:
    """``ok`` / ``warn`` / ``alarm`` for a figure where higher is worse (amber ≤ red)."""
    if value is None:
        return "ok"
    return "alarm" if value >= red else "warn" if value >= amber else "ok"


def level_low(value: float | None, amber: float, red: float) -> str:
    """The same where lower is worse (service level): amber ≥ red."""
    if value is None:
        return "ok"
    return "alarm" if value < red else "warn" if value < amber else "ok"
