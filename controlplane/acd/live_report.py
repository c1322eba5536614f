"""The live ACD's figures: the router's snapshot, queue statistics, the waiting list.

Pure (no I/O): the service mirrors :meth:`Reports.waiting_json` and publishes
:meth:`Reports.stats` (``queue.stats``).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable
from typing import Any

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import queue_machine as qm
from controlplane.acd.interactions import Channel
from controlplane.acd.live_state import Registry, TenantLive, iso
from controlplane.acd.router import AgentView, Snapshot, Waiting, queue_positions
from controlplane.acd.stats import queue_report

S = ev.Status


class Reports:
    """What the router sees of a tenant, and the figures shown of it."""

    def __init__(self, registry: Registry, stats_window_s: float) -> None:
        self.registry = registry
        self.stats_window_s = stats_window_s
        # call id → (the values its waiting entry was made of, that entry's JSON)
        self._encoded: dict[str, tuple[tuple[Any, ...], str]] = {}

    def snapshot(self, t: TenantLive) -> Snapshot:
        """Agents (with the channels they can take now) and waiting interactions."""
        views = {}
        for aid, a in t.agents.items():
            if a.status == S.LOGGED_OUT:
                continue
            free = am.available_channels(a, t.settings_for(aid).capacity)
            phone = t.endpoint.get(aid)
            if phone is None or self.registry.phones_busy.get(phone):  # nothing to ring / in a call
                free = free - {Channel.VOICE}
            views[aid] = AgentView(aid, free, t.cfg.skills.get(aid, {}), a.idle_since, a.answered)
        waiting = tuple(
            Waiting(s.interaction, s.queue_id, s.entered_at, s.tried, s.phase == qm.Phase.OFFERED,
                    s.declined)
            for s in t.queued.values()
            if s.phase in qm.QUEUED
        )
        return Snapshot(t.cfg.queues, views, waiting)

    def stats(self, t: TenantLive, now: float) -> dict[str, Any]:
        """The ``queue.stats`` payload: per queue over the window, agents per status."""
        per_status: dict[str, int] = {}
        for a in t.agents.values():
            if a.status != S.LOGGED_OUT:
                per_status[str(a.status)] = per_status.get(str(a.status), 0) + 1
        queues = []
        for qid, q in t.cfg.queues.items():
            records = t.log.setdefault(qid, deque(maxlen=20_000))
            while records and records[0].at < now - self.stats_window_s:
                records.popleft()
            r = queue_report(records, qid, now, t.cfg.sl_threshold_s.get(qid, 20.0))
            if r.avg_handle_s:
                t.aht[qid] = r.avg_handle_s
            waiting = [s for s in t.queued.values() if s.queue_id == qid and s.phase in qm.QUEUED]
            live = [now - s.entered_at for s in waiting]
            queues.append(
                {
                    "queue_id": qid,
                    "name": t.cfg.names.get(qid, qid),
                    "waiting": len(live),  # every channel; of them chats, e-mails:
                    "waiting_chats": sum(1 for s in waiting
                                         if s.interaction.channel == Channel.CHAT),
                    "waiting_emails": sum(1 for s in waiting
                                          if s.interaction.channel == Channel.EMAIL),
                    "longest_wait_s": round(max(live, default=0.0), 1),
                    "entered": r.entered,
                    "answered": r.answered,
                    "abandoned": r.abandoned,
                    "overflowed": r.overflowed,
                    "diverted": r.diverted,
                    "service_level_pct": r.service_level_pct,
                    "abandon_rate_pct": r.abandon_rate_pct,
                    "avg_speed_of_answer_s": r.avg_speed_of_answer_s,
                    "avg_handle_s": r.avg_handle_s,
                    "agents_logged_in": sum(1 for m in q.members if t.logged_in(m)),
                    "agents_free": sum(
                        1
                        for m in q.members
                        if t.logged_in(m)
                        and am.available_channels(t.agents[m], t.settings_for(m).capacity)
                    ),
                }
            )
        return {
            "tenant_id": t.tid,
            "at": iso(now),
            "window_s": self.stats_window_s,
            "queues": queues,
            "agents": per_status,
        }

    def waiting_json(self, t: TenantLive, now: float) -> dict[str, str]:
        """Call id → JSON of each waiting interaction (the ``waiting`` hash in Redis).

        Positions and estimated waits move on every operation, but most entries come out
        the same: each entry's JSON is kept with the values it was made of and reused while
        they do not change (the mirror runs on every ACD operation; re-encoding every waiting
        caller each time was a tenth of the control plane's CPU per answered call)."""
        positions = queue_positions(self.snapshot(t), now, t.aht)
        cache = self._encoded
        out = {}
        for iid, s in t.queued.items():
            if s.phase not in qm.QUEUED:
                continue
            pos, ewt = positions.get(iid, (None, None))
            values = (s.queue_id, t.cfg.names.get(s.queue_id), pos, ewt, s.phase, s.offered,
                      s.entered_at, s.interaction.arrived_at, s.interaction.priority,
                      t.callers.get(iid, ""), s.interaction.channel)
            hit = cache.get(iid)
            if hit is not None and hit[0] == values:
                out[iid] = hit[1]
                continue
            encoded = json.dumps(
                {
                    "queue_id": s.queue_id,
                    "queue": values[1],
                    "position": pos,
                    "ewt_s": ewt,
                    "phase": str(s.phase),
                    "offered": list(s.offered),
                    "entered_at": iso(s.entered_at),
                    "arrived_at": iso(s.interaction.arrived_at),
                    "priority": s.interaction.priority,
                    "caller": values[9],
                    "channel": str(s.interaction.channel),
                }
            )
            cache[iid] = (values, encoded)
            out[iid] = encoded
        return out

    def forget(self, gone: Iterable[str]) -> None:
        """Drop the cached JSON of interactions no longer waiting."""
        for iid in gone:
            self._encoded.pop(iid, None)
