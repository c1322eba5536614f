"""The live ACD's steps: feeding the pure machines and carrying out their outputs.

Every method runs inside one operation of :class:`~controlplane.acd.service.QueueService`
(under its lock) and only collects work in the operation's :class:`Batch`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import queue_machine as qm
from controlplane.acd import sessions as ss
from controlplane.acd import store
from controlplane.acd.interactions import Interaction
from controlplane.acd.live_report import ReportMixin
from controlplane.acd.live_state import Batch, CommandResult, TenantLive, iso
from controlplane.acd.queues import DestinationKind, Recording
from controlplane.acd.router import queue_positions, route
from controlplane.acd.stats import QueueLogRecord
from controlplane.live import event_fields

S = ev.Status


class StepsMixin(ReportMixin):
    """Machine steps, routing, time and agent commands of the live ACD."""

    # Provided by QueueService.__init__ (explicit, so the mixins type-check on their own).
    clock: Callable[[], float]
    db: sessionmaker[Session]
    redis: aioredis.Redis
    max_missed: int
    stats_window_s: float
    stats_interval_s: float
    _tenants: dict[int, TenantLive]
    _calls: dict[str, int]
    _owners: dict[str, tuple[int, str]]
    _contacts: dict[str, dict[str, str]]

    def _reach(self, endpoint: str) -> str:
        states = self._contacts.get(endpoint)
        if states is None:
            return "Unknown"
        if any(s in am.REACHABLE for s in states.values()):
            return "Reachable"
        if not states or any(s in am.UNREACHABLE for s in states.values()):
            return "Unreachable"
        return "Unknown"

    def _event(self, b: Batch, kind: str, t: TenantLive, at: float, **payload: Any) -> None:
        b.events.append(event_fields(kind, tenant_id=t.tid, at=iso(at), **payload))

    def _logs(self, t: TenantLive, b: Batch) -> store.Logs:
        if not b.logs or b.logs[-1].tenant_id != t.tid:
            b.logs.append(store.Logs(t.tid))
        return b.logs[-1]

    # ---- machine steps ----

    def _agent(self, t: TenantLive, b: Batch, aid: str, event: ev.AgentEvent, now: float) -> None:
        state = t.agents.get(aid) or am.AgentState(aid)
        new, outs = am.step(state, event, now, t.settings)
        t.agents[aid] = new
        if new is not state:
            b.dirty.add((t.tid, aid))
        lg = self._logs(t, b)
        for o in outs:
            if isinstance(o, ev.StatusChanged):
                lg.statuses.append(o)
                self._event(
                    b,
                    "agent.status",
                    t,
                    o.at,
                    agent=aid,
                    from_=str(o.from_),
                    to=str(o.to),
                    reason=o.reason,
                )
                if o.to == S.LOGGED_OUT:
                    ws = t.sessions.sessions.get(aid)
                    if ws is not None:
                        self._sessions(t, b, ss.Logout(aid, ws.workstation), now)
            elif isinstance(o, ev.Refused):
                b.refusals.append(o.why)
            elif isinstance(o, ev.BreakLog):
                lg.breaks.append(o)
                self._event(
                    b, "agent.break", t, o.at, agent=aid, action=o.action, reason=o.reason, by=o.by
                )
            elif isinstance(o, ev.ReachabilityChanged):
                self._event(b, "agent.reachability", t, o.at, agent=aid, reachable=o.reachable)

    def _sessions(self, t: TenantLive, b: Batch, e: ss.SessionEvent, now: float) -> list[Any]:
        t.sessions, outs = ss.step(t.sessions, e, now)
        for o in outs:
            if isinstance(o, ss.Audit):
                self._logs(t, b).audits.append(o)
            elif isinstance(o, ss.EndSession):
                self._event(
                    b,
                    "agent.session_ended",
                    t,
                    now,
                    agent=o.user,
                    workstation=o.workstation,
                    reason=o.reason,
                )
        return outs

    def _queue(self, t: TenantLive, b: Batch, call_id: str, e: qm.QueueEvent, now: float) -> None:
        st = t.queued.get(call_id)
        if st is None:
            return
        q = t.cfg.queues.get(st.queue_id)
        if q is None:  # the queue was deleted while the call waited
            self._drop(t, b, call_id)
            b.send("leave", call_id, "queue_removed", None)
            return
        new, outs = qm.step(st, e, now, q)
        t.queued[call_id] = new
        self._apply(t, b, new, outs, now)

    def _enter(
        self,
        t: TenantLive,
        b: Batch,
        i: Interaction,
        qid: str,
        now: float,
        resumed_at: float | None = None,
    ) -> None:
        q = t.cfg.queues[qid]
        waiting = sum(1 for s in t.queued.values() if s.queue_id == qid and s.phase in qm.QUEUED)
        staffed = sum(1 for m in q.members if t.logged_in(m))
        st, outs = qm.start(qm.Enter(i, waiting, staffed, resumed_at), q, now)
        t.queued[i.interaction_id] = st
        t.visited.setdefault(i.interaction_id, set()).add(qid)
        self._apply(t, b, st, outs, now)

    def _apply(
        self, t: TenantLive, b: Batch, st: qm.QueuedState, outs: list[qm.QueueOutput], now: float
    ) -> None:
        """Carry out the queue machine's outputs (docs/acd.md §9, commands out)."""
        iid = st.iid
        b.touched.add(t.tid)
        reenter: str | None = None
        record = any(isinstance(o, qm.Record) and o.mode == Recording.ALWAYS for o in outs)
        for o in outs:
            if isinstance(o, QueueLogRecord):
                t.log.setdefault(o.queue_id, deque(maxlen=20_000)).append(o)
                self._logs(t, b).queue.append((o, t.callers.get(iid, "")))
            elif isinstance(o, qm.StartMoh):
                b.send("start_moh", iid)
            elif isinstance(o, qm.StopMoh):
                b.send("stop_moh", iid)
            elif isinstance(o, qm.AnnouncePosition):
                b.send("announce", iid, o.position, o.ewt_s or 0.0)
            elif isinstance(o, qm.Offer):
                b.send("offer", iid, t.endpoint[o.agent], o.timeout_s)
            elif isinstance(o, qm.CancelOffer):
                self._cancel(t, b, o, now)
            elif isinstance(o, qm.Connect):
                b.send("connect", iid, t.endpoint[o.agent], record)
            elif isinstance(o, qm.Record) and o.mode == Recording.ON_DEMAND:
                self._event(b, "queue.record_on_demand", t, now, call_id=iid, agent=o.agent)
            elif isinstance(o, qm.Overflow):
                dest = o.destination
                if (
                    dest.kind == DestinationKind.QUEUE
                    and dest.target in t.cfg.queues
                    and (dest.target not in t.visited.get(iid, set()))
                ):
                    reenter = dest.target
                else:
                    where = (
                        None
                        if dest.kind == DestinationKind.HANGUP
                        else f"{dest.kind}:{dest.target}"
                    )
                    b.send("leave", iid, o.reason, where)
            elif isinstance(o, qm.Left) and o.outcome != "answered":
                t.queued.pop(iid, None)
                if o.outcome == "callback_requested":
                    b.send("leave", iid, o.outcome, f"callback:{t.cfg.names.get(o.queue_id)}")
        if reenter is not None:
            self._enter(t, b, st.interaction, reenter, now)
        elif iid not in t.queued:
            self._drop(t, b, iid)

    def _cancel(self, t: TenantLive, b: Batch, o: qm.CancelOffer, now: float) -> None:
        endpoint = t.endpoint.get(o.agent)
        if endpoint is not None:
            b.send("cancel_offer", o.interaction_id, endpoint, o.reason)
        if o.reason in ("late", "stale"):
            return  # only the agent leg: the agent's offer is not this one
        a = t.agents.get(o.agent)
        if a is None or a.offer is None or a.offer.interaction_id != o.interaction_id:
            return
        e: ev.AgentEvent = (
            ev.OfferFailed(o.interaction_id, "timeout")
            if o.reason == "timeout"
            else ev.OfferCancelled(o.interaction_id)
        )
        self._agent(t, b, o.agent, e, now)

    def _drop(self, t: TenantLive, b: Batch, call_id: str) -> None:
        t.queued.pop(call_id, None)
        t.callers.pop(call_id, None)
        t.visited.pop(call_id, None)
        self._calls.pop(call_id, None)
        b.touched.add(t.tid)

    def _end(self, t: TenantLive, b: Batch, st: qm.QueuedState, now: float) -> None:
        self._queue(t, b, st.iid, qm.Ended(), now)
        if st.agent is not None:
            self._agent(t, b, st.agent, ev.InteractionEnded(st.iid), now)
        self._drop(t, b, st.iid)

    # ---- routing and time ----

    def _route(self, t: TenantLive, b: Batch, now: float) -> None:
        t.router, assignments = route(t.router, self._snapshot(t), now, t.rng)
        for a in assignments:
            st = t.queued[a.interaction_id]
            accepted = []
            for aid in a.agents:
                before = t.agents[aid]
                self._agent(
                    t,
                    b,
                    aid,
                    ev.Reserve(a.interaction_id, st.interaction.channel, a.queue_id, a.wrap_up_s),
                    now,
                )
                if t.agents[aid] is not before:
                    accepted.append(aid)
            if accepted:
                self._queue(t, b, a.interaction_id, qm.Offered(tuple(accepted), a.timeout_s), now)

    def _tick(self, t: TenantLive, b: Batch, now: float) -> None:
        for aid in list(t.agents):
            self._agent(t, b, aid, ev.Tick(), now)
        positions = queue_positions(self._snapshot(t), now, t.aht)
        for iid, st in list(t.queued.items()):
            if st.phase not in qm.QUEUED or iid not in t.queued:
                continue
            q = t.cfg.queues.get(st.queue_id)
            staffed = sum(1 for m in q.members if t.logged_in(m)) if q else 0
            pos, ewt = positions.get(iid, (None, None))
            self._queue(t, b, iid, qm.Tick(pos, ewt, staffed), now)
        self._route(t, b, now)
        if now - t.stats_at >= self.stats_interval_s:
            t.stats_at = now
            fields = event_fields("queue.stats", **self._stats(t, now))
            b.events.append(fields)
            b.stats[t.tid] = fields["data"]

    # ---- agent commands ----

    def _command(
        self,
        t: TenantLive,
        b: Batch,
        aid: str,
        command: str,
        reason: str | None,
        by: str | None,
        workstation: str | None,
    ) -> CommandResult:
        now = self.clock()
        before = t.agents.get(aid) or am.AgentState(aid)
        first = len(b.refusals)
        code = ""
        if command == "login":
            code = self._login(t, b, aid, workstation, now)
        elif command == "logout":
            self._agent(t, b, aid, ev.LoggedOut(by), now)
        elif command == "ready":
            self._agent(t, b, aid, ev.GoReady(), now)
        elif command == "break" and reason:
            on_break = sum(
                1
                for a in t.agents.values()
                if (a.status == S.BREAK and a.reason == reason)
                or (a.deferred is not None and a.deferred.reason == reason)
            )
            self._agent(t, b, aid, ev.RequestBreak(reason, on_break), now)
        elif command == "cancel_break":
            self._agent(t, b, aid, ev.CancelBreakRequest(), now)
        elif command in ("approve", "deny"):
            e = (
                ev.ApproveBreak(by or "supervisor")
                if command == "approve"
                else ev.DenyBreak(by or "supervisor")
            )
            self._agent(t, b, aid, e, now)
        elif command == "force" and reason:
            self._agent(t, b, aid, ev.ForceBreak(reason, by or "supervisor"), now)
        else:
            b.refusals.append(f"unknown command {command!r} (or a missing reason)")
            code = "unknown_command"
        refusals = b.refusals[first:]
        self._route(t, b, now)
        after = t.agents.get(aid) or before
        if code == "already":
            return CommandResult(True, str(after.status), after.reason, code, "already logged in")
        if refusals:
            code = code or "refused"
            return CommandResult(False, str(after.status), after.reason, code, "; ".join(refusals))
        return CommandResult(True, str(after.status), after.reason)

    def _login(self, t: TenantLive, b: Batch, aid: str, workstation: str | None, now: float) -> str:
        phones = t.cfg.endpoints.get(aid, ())
        endpoint = workstation if workstation in phones else (phones[0] if phones else None)
        outs = self._sessions(t, b, ss.Login(aid, workstation or endpoint or "panel"), now)
        for o in outs:
            if isinstance(o, ss.LoginRefused):
                b.refusals.append(o.message)
                return o.reason
        if endpoint is not None:
            t.endpoint[aid] = endpoint
            b.dirty.add((t.tid, aid))
        if t.logged_in(aid):
            return "already"
        self._agent(t, b, aid, ev.LoggedIn(ready=True), now)
        if endpoint is not None and endpoint in self._contacts:
            self._agent(t, b, aid, ev.ContactStatus(self._reach(endpoint)), now)
        return ""
