"""What the ACD tells a call to do: frozen orders, one class per kind of decision.

The live ACD (:mod:`controlplane.acd.live_steps`) turns the queue machine's commands into
these orders, with the agent's phone resolved; the call side's connector
(:mod:`controlplane.calls.queue_connector`) dispatches on their type and turns each into an
event for the call's machine:

    ACD decision (queue_machine)   order here          call machine event
    Offer                          RingAgent       →   calls.machine.OfferAgent
    CancelOffer                    WithdrawOffer   →   calls.machine.CancelOffer
    Connect (+ Record)             ConnectAgent    →   calls.machine.Connected
    AnnouncePosition               AnnouncePosition →  CallService.announce
    Overflow / Left (not answered) LeaveQueue      →   calls.machine.LeaveQueue
    Left(callback_requested)       LeaveForCallback →  store the callback, then LeaveQueue

Chats (interaction id ``chat:<chat id>``) get their own orders, carried out by the chat
service (:mod:`controlplane.chat.service`), never by the call service:

    ACD decision (queue_machine)   order here          chat service
    Offer                          OfferChat       →   status offered, event chat.offered
    CancelOffer                    WithdrawChatOffer → status waiting, chat.offer_withdrawn
    Connect                        AssignChat      →   status active, chat.assigned
    (re-)entering a queue          RequeueChat     →   status waiting, queue_id, chat.requeued
    Overflow / Left / Ended        EndChat         →   status ended|missed, chat.ended

Tickets (``ticket:<ticket id>``, channel e-mail) get theirs, carried out by the desk's
ticket connector (:mod:`controlplane.desk.acd`): ``OfferTicket``, ``WithdrawTicketOffer``,
``AssignTicket`` (the ticket's assignee), ``RequeueTicket``, ``DropTicket`` (it left the
ACD: its routing row goes).

Hold music is not an order: the call machine starts it when the call is queued and stops it
when the call leaves the queue or an agent answers (one model of it, in the call machine).
Outcomes come back through the service's ``offer_answered`` / ``offer_failed`` /
``caller_left`` / ``call_ended``.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.acd.queues import Destination, DestinationKind


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Offer the call to the agent on phone ``agent_endpoint``: ring it for ``timeout_s``."""

    call_id: str
    agent_endpoint: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class WithdrawOffer:
    """Stop ringing that one agent's phone (the other legs of a ring-all offer ring on).
    ``reason`` as ``queue_machine.CancelOffer``."""

    call_id: str
    agent_endpoint: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectAgent:
    """The agent answered: bridge the call to them; ``record`` when the queue always records."""

    call_id: str
    agent_endpoint: str
    record: bool


@dataclass(frozen=True, slots=True)
class AnnouncePosition:
    """Tell the waiting caller their place in the queue and the estimated wait."""

    call_id: str
    position: int
    ewt_s: float


@dataclass(frozen=True, slots=True)
class LeaveQueue:
    """The call leaves the queue unanswered. ``outcome``: max_wait | max_waiting | no_agents |
    queue_removed; ``destination`` where the queue sends it (``None``: hang up)."""

    call_id: str
    outcome: str
    destination: Destination | None = None

    @property
    def where(self) -> str | None:
        """``kind:target`` of the destination (None: hang up)."""
        d = self.destination
        if d is None or d.kind == DestinationKind.HANGUP:
            return None
        return f"{d.kind}:{d.target}"


@dataclass(frozen=True, slots=True)
class LeaveForCallback:
    """The caller asked to be called back by queue ``queue_name``: store the request, confirm
    it to the caller, end the call."""

    call_id: str
    queue_name: str


CallOrder = RingAgent | WithdrawOffer | ConnectAgent | AnnouncePosition | LeaveQueue | LeaveForCallback


# ---- chats ----

CHAT_PREFIX = "chat:"


def chat_iid(chat_id: int) -> str:
    """The interaction id of chat ``chat_id`` in the ACD."""
    return f"{CHAT_PREFIX}{chat_id}"


def chat_id_of(interaction_id: str) -> int | None:
    """The chat id of a chat interaction (None: not a chat)."""
    if not interaction_id.startswith(CHAT_PREFIX):
        return None
    tail = interaction_id[len(CHAT_PREFIX):]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True, slots=True)
class OfferChat:
    """Offer the chat to agent ``user_id`` (one agent per offer) for ``timeout_s``."""

    tenant_id: int
    chat_id: int
    user_id: int
    queue_id: int
    timeout_s: float


@dataclass(frozen=True, slots=True)
class WithdrawChatOffer:
    """The offer to ``user_id`` is over: ``reason`` timeout | declined | visitor_left |
    transferred (``queue_machine.CancelOffer`` reasons mapped by the live steps)."""

    tenant_id: int
    chat_id: int
    user_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class AssignChat:
    """Agent ``user_id`` accepted: they hold the chat now."""

    tenant_id: int
    chat_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class RequeueChat:
    """The chat waits (again) in ``queue_id``: overflow, a transfer, an offer withdrawn;
    ``reason`` agent_left: its agent left (logged out) while holding it."""

    tenant_id: int
    chat_id: int
    queue_id: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class EndChat:
    """The chat is over. ``status`` ended (it was answered) or missed; ``by`` visitor |
    agent | system; ``outcome`` the queue's reason for a missed one (abandoned,
    max_wait, no_agents…)."""

    tenant_id: int
    chat_id: int
    status: str
    by: str
    outcome: str = ""


ChatOrder = OfferChat | WithdrawChatOffer | AssignChat | RequeueChat | EndChat


# ---- tickets (e-mail, SMS: the desk's channel, routed as e-mail) ----

TICKET_PREFIX = "ticket:"


def ticket_iid(ticket_id: int) -> str:
    """The interaction id of ticket ``ticket_id`` in the ACD."""
    return f"{TICKET_PREFIX}{ticket_id}"


def ticket_id_of(interaction_id: str) -> int | None:
    """The ticket id of a ticket interaction (None: not a ticket)."""
    if not interaction_id.startswith(TICKET_PREFIX):
        return None
    tail = interaction_id[len(TICKET_PREFIX):]
    return int(tail) if tail.isdigit() else None


@dataclass(frozen=True, slots=True)
class OfferTicket:
    """Offer the ticket to agent ``user_id`` (one agent per offer) for ``timeout_s``."""

    tenant_id: int
    ticket_id: int
    user_id: int
    queue_id: int
    timeout_s: float


@dataclass(frozen=True, slots=True)
class WithdrawTicketOffer:
    """The offer to ``user_id`` is over: ``reason`` timeout | declined | taken (the ticket
    left the ACD: assigned elsewhere, solved, merged) | transferred (overflow)."""

    tenant_id: int
    ticket_id: int
    user_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class AssignTicket:
    """Agent ``user_id`` accepted: the ticket is theirs (its assignee) and counts in their
    e-mail load until it is solved, closed, reassigned or released."""

    tenant_id: int
    ticket_id: int
    user_id: int


@dataclass(frozen=True, slots=True)
class RequeueTicket:
    """The ticket waits (again) in ``queue_id``: entered, overflowed, released."""

    tenant_id: int
    ticket_id: int
    queue_id: int


@dataclass(frozen=True, slots=True)
class DropTicket:
    """The ticket left the ACD (``reason`` taken | solved | released_by_desk |
    queue_removed): forget its routing row."""

    tenant_id: int
    ticket_id: int
    reason: str


TicketOrder = OfferTicket | WithdrawTicketOffer | AssignTicket | RequeueTicket | DropTicket
Order = CallOrder | ChatOrder | TicketOrder
