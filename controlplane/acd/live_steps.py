"""The live ACD's steps: feeding the pure machines and turning their outputs into work.

Pure (no I/O): every method runs inside one operation of
:class:`~controlplane.acd.service.QueueService` (under its lock), changes the live state
(:class:`~controlplane.acd.live_state.Registry`) and only collects work in the operation's
:class:`~controlplane.acd.live_state.Batch`: typed orders to calls
(:mod:`controlplane.acd.outputs`), log rows, stream events.

Where an order comes from (grep the order's name):

    queue_machine.Offer            → RingAgent        (_apply)
    queue_machine.CancelOffer      → WithdrawOffer    (_cancel)
    queue_machine.Connect          → ConnectAgent     (_apply; record from queue_machine.Record)
    queue_machine.AnnouncePosition → AnnouncePosition (_apply)
    queue_machine.Overflow         → LeaveQueue       (_apply; or re-entry into another queue)
    queue_machine.Left(callback)   → LeaveForCallback (_apply)
    a deleted queue                → LeaveQueue(queue_removed) (queue)

A chat (interaction id ``chat:<id>``, channel chat) gets the chat orders instead
(``OfferChat``, ``WithdrawChatOffer``, ``AssignChat``, ``RequeueChat``, ``EndChat``: see
:mod:`controlplane.acd.outputs`); announcements and recording do not apply to it. A ticket
(``ticket:<id>``, channel e-mail) likewise gets the ticket orders; it waits as long as it
takes (only an overflow *to another queue* applies to it, :func:`desk_queue`), and its work
has no wrap-up.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from typing import Any

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import outputs as out
from controlplane.acd import queue_machine as qm
from controlplane.acd import sessions as ss
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.live_report import Reports
from controlplane.acd.live_state import Batch, Registry, TenantLive, iso
from controlplane.acd.queues import Destination, DestinationKind, QueueConfig, Recording
from controlplane.acd.router import queue_positions, route
from controlplane.acd.stats import QueueLogRecord

S = ev.Status
# why a chat offer was withdrawn, as the chat's events say it (queue_machine.CancelOffer's)
CHAT_WITHDRAW_REASONS = {"timeout": "timeout", "caller_left": "visitor_left",
                         "overflow": "transferred", "answered_elsewhere": "transferred",
                         "callback": "visitor_left"}


def chat_of(st: qm.QueuedState) -> int | None:
    """The chat id of a queued chat (None: another channel)."""
    if st.interaction.channel != Channel.CHAT:
        return None
    return out.chat_id_of(st.iid)


def ticket_of(st: qm.QueuedState) -> int | None:
    """The ticket id of a queued ticket (None: another channel)."""
    if st.interaction.channel != Channel.EMAIL:
        return None
    return out.ticket_id_of(st.iid)


def _to_queue(d: Destination | None) -> Destination | None:
    return d if d is not None and d.kind == DestinationKind.QUEUE else None


def desk_queue(q: QueueConfig) -> QueueConfig:
    """The queue as a ticket sees it: a ticket has no caller to hang up on or send to
    voicemail, so only an overflow to another queue applies; without one it keeps waiting."""
    over = _to_queue(q.overflow)
    return replace(q, max_wait_s=q.max_wait_s if over else None,
                   max_waiting=q.max_waiting if over else None, overflow=over,
                   no_agents=_to_queue(q.no_agents), announce_interval_s=None)


class Steps:
    """Machine steps, routing and time of the live ACD (one instance per service)."""

    def __init__(self, registry: Registry, reports: Reports, stats_interval_s: float) -> None:
        self.registry = registry
        self.reports = reports
        self.stats_interval_s = stats_interval_s

    def event(self, b: Batch, kind: str, t: TenantLive, at: float, **payload: Any) -> None:
        b.publish(kind, tenant_id=t.tid, at=iso(at), **payload)

    # ---- machine steps ----

    def agent(self, t: TenantLive, b: Batch, aid: str, event: ev.AgentEvent, now: float) -> None:
        """Feed one event to an agent's machine."""
        state = t.agents.get(aid) or am.AgentState(aid)
        new, outs = am.step(state, event, now, t.settings_for(aid))
        t.agents[aid] = new
        if new is not state:
            b.dirty.add((t.tid, aid))
        lg = b.logs_of(t.tid)
        for o in outs:
            if isinstance(o, ev.StatusChanged):
                lg.statuses.append(o)
                self.event(b, "agent.status", t, o.at, agent=aid, from_=str(o.from_),
                           to=str(o.to), reason=o.reason)
                if o.to == S.LOGGED_OUT:
                    ws = t.sessions.sessions.get(aid)
                    if ws is not None:
                        self.sessions(t, b, ss.Logout(aid, ws.workstation), now)
            elif isinstance(o, ev.Refused):
                b.refusals.append(o.why)
            elif isinstance(o, ev.BreakLog):
                lg.breaks.append(o)
                self.event(b, "agent.break", t, o.at, agent=aid, action=o.action,
                           reason=o.reason, by=o.by)
            elif isinstance(o, ev.ReachabilityChanged):
                self.event(b, "agent.reachability", t, o.at, agent=aid, reachable=o.reachable)

    def sessions(self, t: TenantLive, b: Batch, e: ss.SessionEvent, now: float) -> list[Any]:
        """Feed one event to the tenant's sessions machine (licences, workstations)."""
        t.sessions, outs = ss.step(t.sessions, e, now)
        for o in outs:
            if isinstance(o, ss.Audit):
                b.logs_of(t.tid).audits.append(o)
            elif isinstance(o, ss.EndSession):
                self.event(b, "agent.session_ended", t, now, agent=o.user,
                           workstation=o.workstation, reason=o.reason)
        return outs

    @staticmethod
    def config(t: TenantLive, qid: str, channel: Channel) -> QueueConfig | None:
        """Queue ``qid`` as the machine of an interaction of ``channel`` runs with."""
        q = t.cfg.queues.get(qid)
        return desk_queue(q) if q is not None and channel == Channel.EMAIL else q

    def queue(self, t: TenantLive, b: Batch, call_id: str, e: qm.QueueEvent, now: float) -> None:
        """Feed one event to a queued call's machine."""
        st = t.queued.get(call_id)
        if st is None:
            return
        q = self.config(t, st.queue_id, st.interaction.channel)
        if q is None:  # the queue was deleted while the call waited
            self.drop(t, b, call_id)
            cid, kid = chat_of(st), ticket_of(st)
            b.order(out.EndChat(t.tid, cid, "missed", "system", "queue_removed")
                    if cid is not None else out.DropTicket(t.tid, kid, "queue_removed")
                    if kid is not None else out.LeaveQueue(call_id, "queue_removed"))
            return
        new, outs = qm.step(st, e, now, q)
        t.queued[call_id] = new
        self.apply(t, b, new, outs, now)

    def enter(
        self,
        t: TenantLive,
        b: Batch,
        i: Interaction,
        qid: str,
        now: float,
        resumed_at: float | None = None,
    ) -> None:
        """The interaction enters queue ``qid`` (see ``queue_machine.start``)."""
        q = self.config(t, qid, i.channel)
        assert q is not None, qid
        waiting = sum(1 for s in t.queued.values() if s.queue_id == qid and s.phase in qm.QUEUED)
        staffed = sum(1 for m in q.members if t.logged_in(m))
        st, outs = qm.start(qm.Enter(i, waiting, staffed, resumed_at), q, now)
        t.queued[i.interaction_id] = st
        t.visited.setdefault(i.interaction_id, set()).add(qid)
        self.apply(t, b, st, outs, now)

    def apply(
        self, t: TenantLive, b: Batch, st: qm.QueuedState, outs: list[qm.QueueOutput], now: float
    ) -> None:
        """Carry out the queue machine's outputs (docs/acd.md §9, commands out)."""
        iid = st.iid
        cid, kid = chat_of(st), ticket_of(st)
        b.touched.add(t.tid)
        reenter: str | None = None
        record = any(isinstance(o, qm.Record) and o.mode == Recording.ALWAYS for o in outs)
        for o in outs:
            if isinstance(o, QueueLogRecord):
                t.log.setdefault(o.queue_id, deque(maxlen=20_000)).append(o)
                b.logs_of(t.tid).queue.append((o, t.callers.get(iid, "")))
            elif (cid, kid) != (None, None) and isinstance(o, qm.AnnouncePosition | qm.Record):
                continue  # a chat or ticket has neither position announcements nor a recording
            elif isinstance(o, qm.AnnouncePosition):
                b.order(out.AnnouncePosition(iid, o.position, o.ewt_s or 0.0))
            elif isinstance(o, qm.Offer):
                b.order(out.OfferChat(t.tid, cid, int(o.agent), int(st.queue_id), o.timeout_s)
                        if cid is not None else
                        out.OfferTicket(t.tid, kid, int(o.agent), int(st.queue_id), o.timeout_s)
                        if kid is not None else
                        out.RingAgent(iid, t.endpoint[o.agent], o.timeout_s))
            elif isinstance(o, qm.CancelOffer):
                self._cancel(t, b, o, now, cid, kid)
            elif isinstance(o, qm.Connect):
                b.order(out.AssignChat(t.tid, cid, int(o.agent)) if cid is not None
                        else out.AssignTicket(t.tid, kid, int(o.agent)) if kid is not None
                        else out.ConnectAgent(iid, t.endpoint[o.agent], record))
            elif isinstance(o, qm.Record) and o.mode == Recording.ON_DEMAND:
                self.event(b, "queue.record_on_demand", t, now, call_id=iid, agent=o.agent)
            elif isinstance(o, qm.Overflow):
                dest = o.destination
                if (
                    dest.kind == DestinationKind.QUEUE
                    and dest.target in t.cfg.queues
                    and (dest.target not in t.visited.get(iid, set()))
                ):
                    reenter = dest.target
                elif kid is not None:  # desk_queue: a ticket overflows only to a queue
                    continue
                elif cid is not None:  # a chat has nowhere else to go: it is missed
                    b.order(out.EndChat(t.tid, cid, "missed", "system", o.reason))
                else:
                    b.order(out.LeaveQueue(iid, o.reason, dest))
            elif isinstance(o, qm.Left) and o.outcome != "answered":
                t.queued.pop(iid, None)
                if o.outcome == "callback_requested":
                    name = t.cfg.names.get(o.queue_id, o.queue_id)
                    b.order(out.LeaveForCallback(iid, name))
        if reenter is not None:
            self.enter(t, b, st.interaction, reenter, now)
            if cid is not None:
                b.order(out.RequeueChat(t.tid, cid, int(reenter)))
            elif kid is not None:
                b.order(out.RequeueTicket(t.tid, kid, int(reenter)))
        elif iid not in t.queued:
            self.drop(t, b, iid)

    def _cancel(
        self, t: TenantLive, b: Batch, o: qm.CancelOffer, now: float, cid: int | None = None,
        kid: int | None = None,
    ) -> None:
        endpoint = t.endpoint.get(o.agent)
        if cid is not None or kid is not None:
            if o.reason not in ("late", "stale"):  # those: the agent's offer is not this one
                reason = CHAT_WITHDRAW_REASONS.get(o.reason, o.reason)
                b.order(out.WithdrawChatOffer(t.tid, cid, int(o.agent), reason)
                        if cid is not None else
                        out.WithdrawTicketOffer(t.tid, kid or 0, int(o.agent), reason))
        elif endpoint is not None:
            b.order(out.WithdrawOffer(o.interaction_id, endpoint, o.reason))
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
        self.agent(t, b, o.agent, e, now)

    def drop(self, t: TenantLive, b: Batch, call_id: str) -> None:
        """Forget a call that left the queue (or ended)."""
        t.queued.pop(call_id, None)
        t.callers.pop(call_id, None)
        t.visited.pop(call_id, None)
        self.registry.calls.pop(call_id, None)
        b.touched.add(t.tid)

    def end(self, t: TenantLive, b: Batch, st: qm.QueuedState, now: float) -> None:
        """The connected call is over: log its end, its agent goes to wrap-up."""
        self.queue(t, b, st.iid, qm.Ended(), now)
        if st.agent is not None:
            self.agent(t, b, st.agent, ev.InteractionEnded(st.iid), now)
        self.drop(t, b, st.iid)

    # ---- a chat's or ticket's offer, taken or not (live_chats, live_tickets) ----

    @staticmethod
    def offered(t: TenantLive, iid: str, aid: str) -> qm.QueuedState | None:
        """The interaction's queue state if it is offered to ``aid`` right now."""
        st = t.queued.get(iid)
        ok = st is not None and st.phase == qm.Phase.OFFERED and aid in st.offered
        return st if ok else None

    def accept(self, t: TenantLive, b: Batch, st: qm.QueuedState, aid: str, q: QueueConfig,
               now: float) -> None:
        """``aid`` accepted the offer of ``st`` (see :meth:`offered`): connected, in their
        load; the next waiting one is routed."""
        new, outs = qm.step(st, qm.AgentAnswered(aid), now, q)
        t.queued[st.iid] = new
        self.agent(t, b, aid, ev.Answered(st.iid), now)
        self.apply(t, b, new, outs, now)
        self.route(t, b, now)

    def decline(self, t: TenantLive, b: Batch, iid: str, aid: str, now: float) -> None:
        """``aid`` declined the offer (withdrawn by the caller's connector): offered on."""
        self.queue(t, b, iid, qm.OfferTimeout(aid, "rejected"), now)
        self.agent(t, b, aid, ev.OfferCancelled(iid), now)
        self.route(t, b, now)

    def offer_failed(self, t: TenantLive, b: Batch, iid: str, aid: str, now: float) -> None:
        """The connector could not make the offer (the database or Redis failed)."""
        self.queue(t, b, iid, qm.OfferTimeout(aid, "error"), now)
        a = t.agents.get(aid)
        if a is not None and a.offer is not None and a.offer.interaction_id == iid:
            self.agent(t, b, aid, ev.OfferFailed(iid, "error"), now)
        self.route(t, b, now)

    def finish(self, t: TenantLive, b: Batch, iid: str, now: float) -> bool:
        """End the held interaction ``iid`` (log, its agent's load, wrap-up); False: nobody
        holds it."""
        st = t.queued.get(iid)
        if st is not None and st.phase == qm.Phase.CONNECTED:
            self.end(t, b, st, now)
            return True
        for aid, a in t.agents.items():
            if any(w.interaction_id == iid for w in a.held):
                self.agent(t, b, aid, ev.InteractionEnded(iid), now)
                return True
        return False

    # ---- routing and time ----

    def route(self, t: TenantLive, b: Batch, now: float) -> None:
        """Offer waiting interactions to free agents (the router decides)."""
        t.router, assignments = route(t.router, self.reports.snapshot(t), now, t.rng)
        for a in assignments:
            st = t.queued[a.interaction_id]
            accepted = []
            for aid in a.agents:
                before = t.agents[aid]
                channel = st.interaction.channel
                reserve = ev.Reserve(a.interaction_id, channel, a.queue_id,
                                     0.0 if channel == Channel.EMAIL else a.wrap_up_s)
                self.agent(t, b, aid, reserve, now)
                if t.agents[aid] is not before:
                    accepted.append(aid)
            if accepted:
                self.queue(t, b, a.interaction_id, qm.Offered(tuple(accepted), a.timeout_s), now)

    def tick(self, t: TenantLive, b: Batch, now: float) -> None:
        """Time passes for one tenant: agents, waiting calls, routing, statistics."""
        for aid in list(t.agents):
            self.agent(t, b, aid, ev.Tick(), now)
        positions = queue_positions(self.reports.snapshot(t), now, t.aht)
        for iid, st in list(t.queued.items()):
            if st.phase not in qm.QUEUED or iid not in t.queued:
                continue
            q = t.cfg.queues.get(st.queue_id)
            staffed = sum(1 for m in q.members if t.logged_in(m)) if q else 0
            pos, ewt = positions.get(iid, (None, None))
            self.queue(t, b, iid, qm.Tick(pos, ewt, staffed), now)
        self.route(t, b, now)
        if now - t.stats_at >= self.stats_interval_s:
            t.stats_at = now
            payload = self.reports.stats(t, now)
            b.publish("queue.stats", **payload)
            b.stats[t.tid] = payload

    def restored_agent(
        self, t: TenantLive, b: Batch, aid: str, status: ev.Status, reason: str | None,
        at: float, now: float,
    ) -> am.AgentState:
        """An agent rebuilt from its latest status log row (Redis lost the live state)."""
        a = am.AgentState(aid, status, reason, since=at, idle_since=at)
        if status == S.WRAP_UP:
            return am.AgentState(aid, status, None, since=at, wrap_until=at, idle_since=at)
        if status in (S.RESERVED, S.RINGING, S.ON_CALL):  # the work is unknown now
            b.logs_of(t.tid).statuses.append(ev.StatusChanged(aid, status, S.READY, None, now))
            return am.AgentState(aid, S.READY, since=now, idle_since=now)
        return a
