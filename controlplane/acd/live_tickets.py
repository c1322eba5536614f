"""The live ACD's side of a ticket: what the desk's ticket connector reports about a ticket.

Theory of operation
-------------------
A ticket of the desk (an e-mail, an SMS: one desk channel) that waits unassigned in a queue
is an interaction like a chat (``ticket:<ticket id>``, channel e-mail): it enters the same
queues, waits in the same serving order (calls → chats → e-mails, ``router.CHANNEL_ORDER``),
is offered to exactly one agent who has e-mail room (:mod:`.interactions`, default 3) and
the agent accepts or declines it. Unlike a chat nobody waits on the line: a ticket never
times out of its queue (only an overflow to another queue applies,
``live_steps.desk_queue``), its work has no wrap-up, and it leaves the ACD when the desk
says so (another agent took it with "next ticket", it was assigned by hand, merged, solved,
closed: :meth:`TicketSteps.gone`). The connector (:mod:`controlplane.desk.acd`) reports:

    report            queue machine                 agent machine        ticket order
    enqueue           start (Enter)                 -                    RequeueTicket
    accepted          AgentAnswered → Connect       Answered             AssignTicket
    declined          OfferTimeout(rejected)        OfferCancelled       WithdrawTicketOffer
    gone (desk)       dropped (no abandon logged)   OfferCancelled |     WithdrawTicketOffer,
                                                    InteractionEnded     DropTicket
    released (agent)  Ended, then Enter again       InteractionEnded     RequeueTicket
    set aside         -                             InteractionEnded     DropTicket
    restored          resumed Enter | CONNECTED     held work again      RequeueTicket

An accepted ticket counts in its agent's e-mail load until it is solved, closed, reassigned
or released; it is background work (``agent_machine.BACKGROUND``): the agent stays ready for
calls and chats, takes breaks, gets wrap-up after calls. An agent who logs out sets their
tickets aside (they stay theirs in the desk but no longer count).

Pure (no I/O): runs inside one operation of :class:`~controlplane.acd.service.QueueService`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import outputs as out
from controlplane.acd import queue_machine as qm
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.live_chats import ChatResult
from controlplane.acd.live_state import Batch, TenantLive
from controlplane.acd.live_steps import Steps

S = ev.Status
TicketResult = ChatResult  # the same answer shape: ok, code, message
OK = TicketResult(True)
NOT_OFFERED = TicketResult(False, "not_offered", "this ticket is not offered to you")


@dataclass(frozen=True, slots=True)
class OpenTicket:
    """A ticket the ACD routes, as a restart finds it in the desk's routing rows."""

    ticket_id: int
    queue_id: str
    state: str  # waiting | offered | held
    agent: str | None  # the agent holding it (held)
    interaction: Interaction
    entered_at: float


class TicketSteps:
    """One method per report of the ticket connector about a ticket."""

    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    @staticmethod
    def where(t: TenantLive, ticket_id: int) -> tuple[str, str | None]:
        """(``waiting`` | ``offered`` | ``held`` | "" unknown, queue or holding agent)."""
        iid = out.ticket_iid(ticket_id)
        st = t.queued.get(iid)
        if st is not None and st.phase in qm.QUEUED:
            return str(st.phase), st.queue_id
        for aid, a in t.agents.items():
            if any(w.interaction_id == iid for w in a.held):
                return "held", aid
        return "", None

    def enqueue(self, t: TenantLive, b: Batch, i: Interaction, qid: str, now: float) -> None:
        """The ticket waits in queue ``qid``; one already waiting there, or held, is left
        alone; one waiting in another queue moves (its offer withdrawn)."""
        iid = i.interaction_id
        kid = out.ticket_id_of(iid)
        assert kid is not None, iid
        state, where = self.where(t, kid)
        if state == "held" or (state and where == qid):
            return
        if state:
            self._unqueue(t, b, kid, "transferred", now)
        t.callers[iid] = i.customer or ""
        b.order(out.RequeueTicket(t.tid, kid, int(qid)))
        self.steps.enter(t, b, i, qid, now)
        self.steps.route(t, b, now)

    def accepted(self, t: TenantLive, b: Batch, ticket_id: int, aid: str,
                 now: float) -> TicketResult:
        st = self.steps.offered(t, out.ticket_iid(ticket_id), aid)
        if st is None:
            return NOT_OFFERED
        q = self.steps.config(t, st.queue_id, Channel.EMAIL)
        assert q is not None
        self.steps.accept(t, b, st, aid, q, now)
        return OK

    def declined(self, t: TenantLive, b: Batch, ticket_id: int, aid: str,
                 now: float) -> TicketResult:
        iid = out.ticket_iid(ticket_id)
        if self.steps.offered(t, iid, aid) is None:
            return NOT_OFFERED
        b.order(out.WithdrawTicketOffer(t.tid, ticket_id, int(aid), "declined"))
        self.steps.decline(t, b, iid, aid, now)
        return OK

    def offer_failed(self, t: TenantLive, b: Batch, ticket_id: int, aid: str,
                     now: float) -> None:
        """The connector could not make the offer (the database or Redis failed)."""
        self.steps.offer_failed(t, b, out.ticket_iid(ticket_id), aid, now)

    def gone(self, t: TenantLive, b: Batch, ticket_id: int, reason: str, now: float) -> None:
        """The desk took the ticket out of routing (``reason`` taken | solved | …): an offer
        out is withdrawn, its holder's capacity freed; then the next one is offered."""
        if not self._unqueue(t, b, ticket_id, "taken", now):
            self._finish(t, b, out.ticket_iid(ticket_id), now)
        b.order(out.DropTicket(t.tid, ticket_id, reason))
        self.steps.route(t, b, now)

    def released(self, t: TenantLive, b: Batch, ticket_id: int, aid: str,
                 now: float) -> TicketResult:
        """Agent ``aid`` gives back a ticket they hold: it waits in its queue again, offered
        to the others first."""
        iid = out.ticket_iid(ticket_id)
        st = t.queued.get(iid)
        a = t.agents.get(aid)
        work = next((w for w in a.held if w.interaction_id == iid), None) if a else None
        if work is None:
            return TicketResult(False, "not_held", "you do not hold this ticket")
        i = st.interaction if st is not None else Interaction(iid, Channel.EMAIL, now)
        self._finish(t, b, iid, now)
        if work.queue_id not in t.cfg.queues:
            b.order(out.DropTicket(t.tid, ticket_id, "queue_removed"))
            return OK
        t.callers[iid] = i.customer or ""
        b.order(out.RequeueTicket(t.tid, ticket_id, int(work.queue_id)))
        self.steps.enter(t, b, replace(i, direct_agent=None), work.queue_id, now)
        moved = t.queued.get(iid)
        if moved is not None and moved.phase in qm.QUEUED:
            t.queued[iid] = replace(moved, tried={aid: 1})  # not straight back to them
        self.steps.route(t, b, now)
        return OK

    def set_aside(self, t: TenantLive, b: Batch, aid: str, now: float) -> None:
        """Agent ``aid`` logs out: the tickets they hold stop counting (they stay theirs)."""
        a = t.agents.get(aid)
        for w in (a.held if a is not None else ()):
            kid = out.ticket_id_of(w.interaction_id)
            if kid is not None and w.channel == Channel.EMAIL:
                self._finish(t, b, w.interaction_id, now)
                b.order(out.DropTicket(t.tid, kid, "agent_logged_out"))

    def restore(self, t: TenantLive, b: Batch, tickets: list[OpenTicket], now: float) -> None:
        """Tickets routed at a restart: waiting and offered ones wait again (keeping their
        entry time), held ones count in their agent's load (if logged in: else set aside)."""
        for k in tickets:
            iid = k.interaction.interaction_id
            if iid in t.queued:
                continue
            a = t.agents.get(k.agent) if k.agent is not None else None
            if k.state == "held":
                if a is not None and a.status != S.LOGGED_OUT:
                    self._hold(t, b, k, a, now)
                else:
                    b.order(out.DropTicket(t.tid, k.ticket_id, "agent_logged_out"))
                continue
            if k.queue_id not in t.cfg.queues:  # its queue was deleted meanwhile
                b.order(out.DropTicket(t.tid, k.ticket_id, "queue_removed"))
                continue
            t.callers[iid] = k.interaction.customer or ""
            if k.state != "waiting":
                b.order(out.RequeueTicket(t.tid, k.ticket_id, int(k.queue_id)))
            self.steps.enter(t, b, k.interaction, k.queue_id, now, resumed_at=k.entered_at)
        self.steps.route(t, b, now)

    def _hold(self, t: TenantLive, b: Batch, k: OpenTicket, a: am.AgentState,
              now: float) -> None:
        iid = k.interaction.interaction_id
        if any(w.interaction_id == iid for w in a.held):
            return  # the agents hash kept it
        # background work (agent_machine.BACKGROUND): it counts, the status stays
        t.agents[a.agent_id] = replace(a, held=(*a.held, am.Work(iid, Channel.EMAIL,
                                                                   k.queue_id, 0.0)))
        b.dirty.add((t.tid, a.agent_id))

    def _unqueue(self, t: TenantLive, b: Batch, ticket_id: int, reason: str,
                 now: float) -> bool:
        """Take a waiting (or offered) ticket out of its queue; False: it was not waiting."""
        iid = out.ticket_iid(ticket_id)
        st = t.queued.get(iid)
        if st is None or st.phase not in qm.QUEUED:
            return False
        for aid in st.offered:
            b.order(out.WithdrawTicketOffer(t.tid, ticket_id, int(aid), reason))
            a = t.agents.get(aid)
            if a is not None and a.offer is not None and a.offer.interaction_id == iid:
                self.steps.agent(t, b, aid, ev.OfferCancelled(iid), now)
        self.steps.drop(t, b, iid)
        return True

    def _finish(self, t: TenantLive, b: Batch, iid: str, now: float) -> bool:
        """End the held ticket ``iid`` (log, the agent's load); False: nobody holds it."""
        return self.steps.finish(t, b, iid, now)
