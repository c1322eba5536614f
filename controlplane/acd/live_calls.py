"""The live ACD's side of a call: what the call service reports about a queued call, and
the phones it keeps busy.

Pure (no I/O): runs inside one operation of :class:`~controlplane.acd.service.QueueService`
(which does the database reads an enqueue needs first) and collects its work in the
operation's :class:`~controlplane.acd.live_state.Batch`.
"""

from __future__ import annotations

from controlplane.acd import agent_events as ev
from controlplane.acd import outputs as out
from controlplane.acd import queue_machine as qm
from controlplane.acd.interactions import Interaction
from controlplane.acd.live_state import Batch, Registry, TenantLive
from controlplane.acd.live_steps import Steps
from controlplane.acd.queues import Recording


class CallSteps:
    """One method per report of the call service about a queued call."""

    def __init__(self, registry: Registry, steps: Steps) -> None:
        self.registry = registry
        self.steps = steps

    def enqueue(
        self,
        t: TenantLive,
        b: Batch,
        i: Interaction,
        qid: str,
        caller: str,
        now: float,
        resumed_at: float | None,
    ) -> None:
        """The call enters queue ``qid`` (``resumed_at``: it waited there before a restart)."""
        self.registry.calls[i.interaction_id] = t.tid
        t.callers[i.interaction_id] = caller
        self.steps.enter(t, b, i, qid, now, resumed_at=resumed_at)
        self.steps.route(t, b, now)

    def caller_left(self, call_id: str, b: Batch, now: float) -> None:
        t, st = self.registry.call(call_id)
        if t is None or st is None:
            return
        if st.phase == qm.Phase.CONNECTED:
            self.steps.end(t, b, st, now)
        else:
            self.steps.queue(t, b, call_id, qm.CallerAbandoned(), now)
        self.steps.route(t, b, now)

    def dtmf(self, call_id: str, digit: str, b: Batch, now: float) -> bool:
        """The queue's callback key requests a callback (``LeaveForCallback``); True then."""
        t, st = self.registry.call(call_id)
        if t is None or st is None or st.phase not in qm.QUEUED:
            return False
        q = t.cfg.queues.get(st.queue_id)
        if q is None or q.callback_key is None or digit != q.callback_key:
            return False
        self.steps.queue(t, b, call_id, qm.CallbackRequested(), now)
        self.steps.route(t, b, now)
        return True

    def record_on_demand(self, call_id: str, b: Batch, now: float) -> bool:
        t, st = self.registry.call(call_id)
        if t is None or st is None or st.phase != qm.Phase.CONNECTED:
            return False
        q = t.cfg.queues.get(st.queue_id)
        if q is None or q.recording != Recording.ON_DEMAND:
            return False
        self.steps.event(b, "queue.recording_started", t, now, call_id=call_id, agent=st.agent)
        return True

    def phone_in_use(self, endpoint: str, calls: int, b: Batch, now: float) -> None:
        if calls > 0:
            self.registry.phones_busy[endpoint] = calls
            return
        self.registry.phones_busy.pop(endpoint, None)
        owner = self.registry.owners.get(endpoint)
        if owner is not None and owner[0] in self.registry.tenants:
            self.steps.route(self.registry.tenants[owner[0]], b, now)

    def offer_ringing(self, call_id: str, agent_endpoint: str, b: Batch, now: float) -> None:
        t, _ = self.registry.call(call_id)
        aid = self.registry.agent_of(t, agent_endpoint)
        if t is not None and aid is not None:
            self.steps.agent(t, b, aid, ev.Ringing(call_id), now)

    def offer_answered(self, call_id: str, agent_endpoint: str, b: Batch, now: float) -> None:
        t, st = self.registry.call(call_id)
        aid = self.registry.agent_of(t, agent_endpoint)
        if t is None or st is None or aid is None:
            b.order(out.WithdrawOffer(call_id, agent_endpoint, "late"))
            return
        new, outs = qm.step(st, qm.AgentAnswered(aid), now, t.cfg.queues[st.queue_id])
        t.queued[call_id] = new
        if new.phase == qm.Phase.CONNECTED and new.agent == aid:
            self.steps.agent(t, b, aid, ev.Answered(call_id), now)
        self.steps.apply(t, b, new, outs, now)
        self.steps.route(t, b, now)

    def offer_failed(
        self, call_id: str, agent_endpoint: str, cause: str, b: Batch, now: float
    ) -> None:
        t, st = self.registry.call(call_id)
        aid = self.registry.agent_of(t, agent_endpoint)
        if t is None or aid is None:
            return
        if st is not None:
            self.steps.queue(t, b, call_id, qm.OfferTimeout(aid, cause), now)
        a = t.agents.get(aid)
        if a is not None and a.offer is not None and a.offer.interaction_id == call_id:
            self.steps.agent(t, b, aid, ev.OfferFailed(call_id, cause), now)
        self.steps.route(t, b, now)

    def call_ended(self, call_id: str, b: Batch, now: float) -> None:
        t, st = self.registry.call(call_id)
        if t is None:  # not known (e.g. after a restart): end it in whoever holds it
            for t in self.registry.tenants.values():
                for aid, a in list(t.agents.items()):
                    if any(w.interaction_id == call_id for w in a.held):
                        self.steps.agent(t, b, aid, ev.InteractionEnded(call_id), now)
            return
        if st is not None and st.phase == qm.Phase.CONNECTED:
            self.steps.end(t, b, st, now)
        elif st is not None:
            self.steps.queue(t, b, call_id, qm.CallerAbandoned(), now)
        self.steps.route(t, b, now)

    def contact_status(self, endpoint: str, status: str, contact: str) -> None:
        """Record one contact's AMI status (the owner's agent is told by the service)."""
        contacts = self.registry.contacts.setdefault(endpoint, {})
        if status == "Removed":
            contacts.pop(contact, None)
        else:
            contacts[contact] = status

    def reachability(self, t: TenantLive, aid: str, endpoint: str, b: Batch, now: float) -> None:
        """Tell the agent whether the phone they use is reachable, then route."""
        if t.endpoint.get(aid, endpoint) == endpoint and aid in t.agents:
            self.steps.agent(t, b, aid, ev.ContactStatus(self.registry.reach(endpoint)), now)
            self.steps.route(t, b, now)
