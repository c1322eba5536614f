"""Reads one tenant's wallboard: the day's figures from the durable logs, the live state
from the ACD's Redis mirror. Called by :mod:`.wallboard_cache`, at most once per second
per tenant whatever the number of screens.

Why the panel and not the ACD computes the day: the figures must not depend on the
daemon's memory (a restart emptied its rolling window, which is what the issue saw), and
the rows the ACD already writes are the one durable truth the historical reports read too.
Each tenant's :class:`~controlplane.acd.wallboard_figures.DayLog` is loaded once (the day
so far, on first need) and then fed only the rows with an id above the last one seen
(``id`` grows with every insert, so this is the log's stream position), so each refresh
reads a handful of new rows, not the day. This relies on the logs having one writer that
commits in id order (the ACD's :class:`~controlplane.acd.log_writer.LogWriter`, which keeps
its rows in order even while retrying). A new local day (the tenant's time zone) starts
a new ``DayLog``. Live state (who is waiting, each agent's status and since when) comes
from Redis, rebuilt by the ACD after a restart.

Tenant scope: every query filters on ``tenant_id``, every Redis key carries the tenant.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import wallboard_figures as wf
from controlplane.acd.agent_events import Status, StatusChanged
from controlplane.acd.http import wallboard_alerts
from controlplane.acd.http.board import STATUSES, agent_board
from controlplane.acd.stats import QueueLogRecord
from controlplane.bus import acd_key
from controlplane.db import transaction
from controlplane.models import Tenant
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.models.campaigns import Campaign, DialAttempt

log = logging.getLogger(__name__)

# Colour thresholds (docs/wallboard.md § Colours): (amber, red).
SL_LEVELS = (80.0, 60.0)  # service level under: lower is worse
ABANDON_LEVELS = (5.0, 10.0)  # abandon rate, %
BREAK_LEVELS_S = (15 * 60.0, 30 * 60.0)  # an agent on break for


def _epoch(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def day_start(now: float, zone: str) -> float:
    """Epoch of the last local midnight in ``zone`` (UTC when the zone is unknown)."""
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    local = datetime.fromtimestamp(now, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


class WallboardSource:
    """Per process: each tenant's :class:`DayLog`, read incrementally. Thread-safe per tenant
    only through its caller (:class:`~.wallboard_cache.WallboardCache` computes a tenant
    under that tenant's lock); the dict itself is guarded here."""

    def __init__(self, sessions: sessionmaker[Session], client: redis.Redis,
                 clock: Callable[[], float]) -> None:
        self.sessions = sessions
        self.redis = client
        self.clock = clock
        self._days: dict[int, wf.DayLog] = {}
        self._guard = threading.Lock()

    def forget(self, tenant_id: int) -> None:
        """Drop a tenant's day (the next read loads it again from the logs)."""
        with self._guard:
            self._days.pop(tenant_id, None)

    # ---- the logs ----

    def _day(self, s: Session, tenant_id: int, start: float) -> wf.DayLog:
        with self._guard:
            day = self._days.get(tenant_id)
            if day is None or day.start != start:
                day = self._days[tenant_id] = wf.DayLog(start)
        first = not day.loaded
        since = datetime.fromtimestamp(start, UTC)
        q = select(QueueLog).where(QueueLog.tenant_id == tenant_id, QueueLog.at >= since)
        if not first:
            q = q.where(QueueLog.id > day.last_queue_id)
        day.add_queue(
            (r.id, QueueLogRecord(r.interaction_id, str(r.queue_id), r.kind, _epoch(r.at),
                                  None if r.user_id is None else str(r.user_id), r.detail))
            for r in s.scalars(q.order_by(QueueLog.id))
        )
        st = select(AgentStatusLog).where(AgentStatusLog.tenant_id == tenant_id)
        if first:
            # each agent's last change before midnight: the state they were in at midnight
            before = (
                select(func.max(AgentStatusLog.id))
                .where(AgentStatusLog.tenant_id == tenant_id, AgentStatusLog.at < since)
                .group_by(AgentStatusLog.user_id)
            )
            st = st.where((AgentStatusLog.at >= since) | AgentStatusLog.id.in_(before))
        else:
            st = st.where(AgentStatusLog.id > day.last_status_id)
        day.add_statuses(
            (r.id, StatusChanged(str(r.user_id), Status(r.from_status), Status(r.to_status),
                                 r.reason, _epoch(r.at)))
            for r in s.scalars(st.order_by(AgentStatusLog.id))
        )
        day.loaded = True
        return day

    def _campaigns(self, s: Session, tenant_id: int, start: float) -> dict[int, wf.CampaignDay]:
        since = datetime.fromtimestamp(start, UTC)
        da = DialAttempt
        abandoned = (da.abandoned.is_(True)) | (da.outcome == "abandoned")
        live = abandoned | (da.outcome == "human")
        rows = s.execute(
            select(
                da.campaign_id,
                func.count(da.id),
                func.count(da.agent_connect_at),
                func.sum(case((live, 1), else_=0)),
                func.sum(case((abandoned, 1), else_=0)),
            )
            .where(da.tenant_id == tenant_id, da.dial_at >= since)
            .group_by(da.campaign_id)
        ).all()
        talk: dict[int, float] = {}
        for cid, connected, ended in s.execute(
            select(da.campaign_id, da.agent_connect_at, da.ended_at).where(
                da.tenant_id == tenant_id, da.dial_at >= since,
                da.agent_connect_at.is_not(None), da.ended_at.is_not(None))
        ):
            if connected is not None and ended is not None:  # filtered, but typed as optional
                talk[cid] = talk.get(cid, 0.0) + max(0.0, _epoch(ended) - _epoch(connected))
        return {
            cid: wf.CampaignDay(cid, int(n), int(conn), int(lv or 0), int(ab or 0),
                                talk.get(cid, 0.0))
            for cid, n, conn, lv, ab in rows
        }

    # ---- the live mirror ----

    def _waiting(self, tenant_id: int, now: float) -> dict[str, list[tuple[float, str]]]:
        """Queue id → the waits (s) and channels of the interactions waiting in it now."""
        raw: dict[str, str] = self.redis.hgetall(acd_key(tenant_id, "waiting"))  # type: ignore[assignment]
        out: dict[str, list[tuple[float, str]]] = {}
        for value in raw.values():
            try:
                d = json.loads(value)
                entered = datetime.fromisoformat(d["entered_at"]).timestamp()
            except (ValueError, KeyError, TypeError):
                continue
            out.setdefault(str(d.get("queue_id")), []).append(
                (max(0.0, now - entered), str(d.get("channel") or "voice")))
        return out

    # ---- the board ----

    def compute(self, tenant_id: int) -> dict[str, Any]:
        """The whole board of ``tenant_id`` now (see ``docs/wallboard.md``)."""
        now = self.clock()
        with self.sessions() as s:
            tenant = s.get(Tenant, tenant_id)
            start = day_start(now, tenant.time_zone if tenant else "UTC")
            day = self._day(s, tenant_id, start)
            agents = agent_board(self.redis, s, tenant_id)
            queues = s.scalars(
                select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.name)
            ).all()
            members: dict[int, list[int]] = {}
            for qid, uid in s.execute(
                select(QueueMember.queue_id, QueueMember.user_id)
                .join(Queue, Queue.id == QueueMember.queue_id)
                .where(Queue.tenant_id == tenant_id)
            ):
                members.setdefault(qid, []).append(uid)
            campaigns = s.scalars(
                select(Campaign).where(Campaign.tenant_id == tenant_id,
                                       Campaign.archived_at.is_(None)).order_by(Campaign.name)
            ).all()
            per_campaign = self._campaigns(s, tenant_id, start)
            campaign_rows = [(c.id, c.name, c.status, c.queue_id, c.target_abandon_rate)
                             for c in campaigns]
        waits = self._waiting(tenant_id, now)
        status_of = {a.user_id: a.status for a in agents}
        seconds = wf.logged_in_seconds(day, now)

        agent_rows = []
        for a in agents:
            live = {"status": a.status, "since": a.since_epoch, "reason": a.reason}
            row = wf.agent_figures(live, day.answers.get(str(a.user_id), 0), now)
            row.update(user_id=a.user_id, name=a.display_name,
                       reason=a.reason_label if a.status == "break" else None,
                       level=wf.level(row["in_state_s"], *BREAK_LEVELS_S)
                       if a.status == "break" else None)  # only a break is coloured
            agent_rows.append(row)

        queue_rows = []
        for q in queues:
            waiting = [w for w, _ in waits.get(str(q.id), [])]  # every channel
            chats = sum(1 for _, ch in waits.get(str(q.id), []) if ch == "chat")
            emails = sum(1 for _, ch in waits.get(str(q.id), []) if ch == "email")
            longest = round(max(waiting, default=0.0), 1)
            figures = wf.queue_day(day, str(q.id), now, q.sl_threshold_s)
            per_status = dict.fromkeys(STATUSES, 0)
            for uid in members.get(q.id, []):
                st = status_of.get(uid, "logged_out")
                per_status[st if st in per_status else "logged_out"] += 1
            queue_rows.append({
                "queue_id": q.id, "name": q.name, "waiting": len(waiting), "waiting_chats": chats,
                "waiting_emails": emails,
                "longest_wait_s": longest, "sl_threshold_s": q.sl_threshold_s, **figures,
                "agents": per_status,
                "levels": {
                    "longest_wait_s": wf.level(longest, q.sl_threshold_s, 2 * q.sl_threshold_s),
                    "service_level_pct": wf.level_low(figures["service_level_pct"], *SL_LEVELS),
                    "abandon_rate_pct": wf.level(figures["abandon_rate_pct"], *ABANDON_LEVELS),
                },
            })

        campaign_out = []
        for cid, name, status, queue_id, target in campaign_rows:
            c = per_campaign.get(cid, wf.CampaignDay(cid, 0, 0, 0, 0, 0.0))
            agent_s = sum(seconds.get(str(u), 0.0) for u in members.get(queue_id or -1, []))
            fig = wf.campaign_figures(c, agent_s, 100.0 * target)
            cap = fig["abandon_cap_pct"]
            fig.update(campaign_id=cid, name=name, status=status,
                       level=wf.level(fig["abandon_rate_pct"], 0.8 * cap, cap + 1e-9))
            campaign_out.append(fig)

        board: dict[str, Any] = {
            "tenant_id": tenant_id,
            "at": _iso(now),
            "day_start": _iso(start),
            "queues": queue_rows,
            "agents": agent_rows,
            "campaigns": campaign_out,
            "totals": {
                "waiting": sum(r["waiting"] for r in queue_rows),
                "answered": sum(r["answered"] for r in queue_rows),
                "abandoned": sum(r["abandoned"] for r in queue_rows),
                "agents": {st: sum(1 for a in agent_rows if a["status"] == st)
                           for st in STATUSES},
            },
        }
        with transaction(self.sessions) as s:  # alert rules: fired once per crossing
            board["alerts"] = wallboard_alerts.apply(s, tenant_id, board,
                                                     datetime.fromtimestamp(now, UTC))
        return board

