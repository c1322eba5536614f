"""The live ACD's side of a chat: what the chat service reports about a chat it queued.

Theory of operation
-------------------
A chat is an interaction like a call (``chat:<chat id>``, channel chat): it enters the
same queues, waits in the same serving order, is offered by the same router and its life
in the queue is the same queue machine's. Only the ends differ: a chat is offered, not
rung (:class:`~controlplane.acd.outputs.OfferChat`, to exactly one agent), and the agent
accepts or declines it in the console instead of picking up a phone. So the chat service
reports:

    report            queue machine                 agent machine        chat order
    enqueue           start (Enter)                 -                    (RequeueChat on overflow)
    accepted          AgentAnswered → Connect       Answered             AssignChat
    declined          OfferTimeout(rejected)        OfferCancelled       WithdrawChatOffer(declined)
    left (visitor)    CallerAbandoned | Ended       InteractionEnded     EndChat(missed|ended)
    ended (agent)     Ended                         InteractionEnded     EndChat(ended)
    transferred       Ended, then Enter again       InteractionEnded     RequeueChat (+ OfferChat)
    agent leaves      Ended, then Enter again       InteractionEnded     RequeueChat(agent_left)
                      (offered: OfferTimeout)       OfferCancelled       WithdrawChatOffer
    restored          resumed Enter | CONNECTED     held work again      RequeueChat (was offered)

An agent who leaves (logs out of the queues, is logged out by a supervisor, or their
panel session ends: :meth:`ChatSteps.released`, run before the logout itself) gives back
every chat they hold and every offer pending to them: a held chat enters its queue again
with its arrival and entry time (so it is served before anything that came after it),
the visitor gets a line that another consultant will take over, and the agent, no longer
holding chats, is logged out at once (a voice call still defers the logout to its end).

A decline is not a miss (the agent said no; ``max_missed`` counts offers left to time
out). A transfer to an agent re-enters the chat's queue with ``direct_agent`` set (the
router offers it to that agent first); a transfer to a queue enters that queue, with the
transferring agent ranked last. After each report the router runs, so a chat is offered in
the same operation that freed the capacity for it.

Pure (no I/O): runs inside one operation of :class:`~controlplane.acd.service.QueueService`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import outputs as out
from controlplane.acd import queue_machine as qm
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.live_state import Batch, TenantLive
from controlplane.acd.live_steps import Steps

S = ev.Status


@dataclass(frozen=True, slots=True)
class ChatResult:
    """The answer to an agent's chat action: ``code`` "" (ok) | not_offered | not_held |
    unknown_queue | agent_unavailable."""

    ok: bool
    code: str = ""
    message: str = ""


OK = ChatResult(True)


@dataclass(frozen=True, slots=True)
class OpenChat:
    """A chat the database says is not over, as a restart finds it."""

    chat_id: int
    queue_id: str
    status: str  # waiting | offered | active
    agent: str | None  # the agent holding it (active)
    interaction: Interaction
    entered_at: float


class ChatSteps:
    """One method per report of the chat service about a chat."""

    def __init__(self, steps: Steps) -> None:
        self.steps = steps

    def enqueue(self, t: TenantLive, b: Batch, i: Interaction, qid: str, now: float) -> None:
        """The chat enters queue ``qid``; a chat already queued or held is left alone."""
        if i.interaction_id in t.queued:
            return
        t.callers[i.interaction_id] = i.customer or ""
        self.steps.enter(t, b, i, qid, now)
        self.steps.route(t, b, now)

    def accepted(self, t: TenantLive, b: Batch, chat_id: int, aid: str, now: float) -> ChatResult:
        st = self.steps.offered(t, out.chat_iid(chat_id), aid)
        if st is None:
            return ChatResult(False, "not_offered", "this chat is not offered to you")
        self.steps.accept(t, b, st, aid, t.cfg.queues[st.queue_id], now)
        return OK

    def declined(self, t: TenantLive, b: Batch, chat_id: int, aid: str, now: float) -> ChatResult:
        iid = out.chat_iid(chat_id)
        if self.steps.offered(t, iid, aid) is None:
            return ChatResult(False, "not_offered", "this chat is not offered to you")
        b.order(out.WithdrawChatOffer(t.tid, chat_id, int(aid), "declined"))
        self.steps.decline(t, b, iid, aid, now)
        return OK

    def offer_failed(self, t: TenantLive, b: Batch, chat_id: int, aid: str, now: float) -> None:
        """The chat service could not make the offer (the database or Redis failed)."""
        self.steps.offer_failed(t, b, out.chat_iid(chat_id), aid, now)

    def left(self, t: TenantLive, b: Batch, chat_id: int, now: float) -> None:
        """The visitor closed the chat: missed before an answer, ended by them after."""
        iid = out.chat_iid(chat_id)
        st = t.queued.get(iid)
        if st is not None and st.phase in qm.QUEUED:
            self.steps.queue(t, b, iid, qm.CallerAbandoned(), now)
            b.order(out.EndChat(t.tid, chat_id, "missed", "visitor", "abandoned"))
        elif self._finish(t, b, iid, now):
            b.order(out.EndChat(t.tid, chat_id, "ended", "visitor"))
        else:  # not known live (never enqueued, or already over): the chat service decides
            b.order(out.EndChat(t.tid, chat_id, "missed", "visitor", "abandoned"))
        self.steps.route(t, b, now)

    def ended(self, t: TenantLive, b: Batch, chat_id: int, by: str, now: float) -> ChatResult:
        """The agent (or a supervisor, ``by``) ended the chat they hold."""
        if not self._finish(t, b, out.chat_iid(chat_id), now):
            return ChatResult(False, "not_held", "nobody holds this chat")
        b.order(out.EndChat(t.tid, chat_id, "ended", by))
        self.steps.route(t, b, now)
        return OK

    def transferred(
        self, t: TenantLive, b: Batch, chat_id: int, target: str, now: float
    ) -> ChatResult:
        """``target`` ``queue:<queue id>`` or ``agent:<user id>``; the chat must be held."""
        iid = out.chat_iid(chat_id)
        st = t.queued.get(iid)
        if st is None or st.phase != qm.Phase.CONNECTED or st.agent is None:
            return ChatResult(False, "not_held", "nobody holds this chat")
        kind, _, value = target.partition(":")
        qid, direct = st.queue_id, None
        if kind == "queue" and value in t.cfg.queues:
            qid = value
        elif kind == "agent" and value != st.agent:
            capacity = t.settings_for(value).capacity
            a = t.agents.get(value)
            if a is None or Channel.CHAT not in am.available_channels(a, capacity):
                return ChatResult(False, "agent_unavailable",
                                  "that agent cannot take a chat now")
            direct = value
        elif kind == "queue":
            return ChatResult(False, "unknown_queue", f"no queue {value!r}")
        else:
            return ChatResult(False, "bad_target", f"cannot transfer to {target!r}")
        holder = st.agent
        self._finish(t, b, iid, now)
        i = replace(st.interaction, direct_agent=direct)
        t.callers[iid] = i.customer or ""
        self.steps.enter(t, b, i, qid, now)
        moved = t.queued.get(iid)
        if moved is not None and moved.phase in qm.QUEUED:
            t.queued[iid] = replace(moved, tried={holder: 1})  # not straight back to them
            b.order(out.RequeueChat(t.tid, chat_id, int(qid)))
        self.steps.route(t, b, now)
        return OK

    def released(self, t: TenantLive, b: Batch, aid: str, now: float) -> list[int]:
        """Agent ``aid`` is leaving: their chat offers are withdrawn and the chats they hold
        wait again in front of their queue (see the module docstring); the chat ids, held
        ones first. The caller routes (after the agent's logout)."""
        held: list[int] = []
        offered: list[int] = []
        for iid, st in list(t.queued.items()):
            chat_id = out.chat_id_of(iid) if st.interaction.channel == Channel.CHAT else None
            if chat_id is None:
                continue
            if st.phase == qm.Phase.OFFERED and aid in st.offered:
                b.order(out.WithdrawChatOffer(t.tid, chat_id, int(aid), "agent_left"))
                self.steps.queue(t, b, iid, qm.OfferTimeout(aid, "unreachable"), now)
                self.steps.agent(t, b, aid, ev.OfferCancelled(iid), now)
                offered.append(chat_id)
            elif st.phase == qm.Phase.CONNECTED and st.agent == aid:
                self.steps.end(t, b, st, now)
                t.callers[iid] = st.interaction.customer or ""
                self.steps.enter(t, b, st.interaction, st.queue_id, now)
                moved = t.queued.get(iid)
                if moved is not None and moved.phase in qm.QUEUED:
                    t.queued[iid] = replace(moved, entered_at=st.entered_at, tried={aid: 1})
                    b.order(out.RequeueChat(t.tid, chat_id, int(st.queue_id), "agent_left"))
                held.append(chat_id)
        return held + offered

    def restore(self, t: TenantLive, b: Batch, chats: list[OpenChat], now: float) -> None:
        """Chats open in the database at a restart: waiting and offered ones wait again
        (keeping their arrival and entry time); active ones count in their agent's load."""
        for c in chats:
            iid = c.interaction.interaction_id
            if iid in t.queued:
                continue
            a = t.agents.get(c.agent) if c.agent is not None else None
            if c.status == "active" and a is not None and a.status != S.LOGGED_OUT:
                self._hold(t, b, c, a, now)
                continue
            if c.queue_id not in t.cfg.queues:  # its queue was deleted meanwhile
                b.order(out.EndChat(t.tid, c.chat_id, "missed", "system", "queue_removed"))
                continue
            t.callers[iid] = c.interaction.customer or ""
            self.steps.enter(t, b, c.interaction, c.queue_id, now, resumed_at=c.entered_at)
            if c.status != "waiting":
                b.order(out.RequeueChat(t.tid, c.chat_id, int(c.queue_id)))
        self.steps.route(t, b, now)

    def _hold(self, t: TenantLive, b: Batch, c: OpenChat, a: am.AgentState, now: float) -> None:
        iid = c.interaction.interaction_id
        t.queued[iid] = qm.QueuedState(c.interaction, c.queue_id, qm.Phase.CONNECTED,
                                       c.entered_at, agent=a.agent_id)
        t.callers[iid] = c.interaction.customer or ""
        if any(w.interaction_id == iid for w in a.held):
            return  # the agents hash kept it
        q = t.cfg.queues.get(c.queue_id)
        work = am.Work(iid, Channel.CHAT, c.queue_id, q.wrap_up_s if q else 0.0)
        new = replace(a, held=(*a.held, work))
        if a.status == S.READY:  # rebuilt from the status log, which did not know the chat
            new = replace(new, status=S.ON_CALL, since=now)
            b.logs_of(t.tid).statuses.append(ev.StatusChanged(a.agent_id, S.READY, S.ON_CALL,
                                                              None, now))
        t.agents[a.agent_id] = new
        b.dirty.add((t.tid, a.agent_id))

    def _finish(self, t: TenantLive, b: Batch, iid: str, now: float) -> bool:
        """End the held chat ``iid`` (log, the agent's load, wrap-up); False: nobody holds it."""
        return self.steps.finish(t, b, iid, now)
