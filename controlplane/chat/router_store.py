"""The chat router's SQL: what the ACD's chat orders write to the ``chat`` table, what an
enqueue needs to know of a chat, and the open chats a restart hands back to the ACD.

One writer per column (``docs/chat`` contract): the router writes ``status``,
``agent_user_id`` (the agent a chat is offered to, then held by; None while waiting),
``answered_at``, ``ended_at``, ``ended_by`` and ``queue_id`` on a move, and appends the
``system`` lines (an agent joined, a transfer, the end). A ``system`` line takes the next
``seq`` inside its transaction; losing the unique (chat, seq) race to the web side's insert
is retried. An order that no longer fits the row (a chat already over, an offer already
withdrawn) changes nothing and publishes nothing.

Synchronous SQLAlchemy; the chat service calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import outputs as out
from controlplane.acd import store as acd_store
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.live_chats import OpenChat
from controlplane.db import transaction
from controlplane.models import Tenant, User
from controlplane.models.chat import Chat, ChatMessage

Factory = sessionmaker[Session]
OVER = ("ended", "missed")
OPEN = ("waiting", "offered", "active")
SEQ_RETRIES = 5

# The system lines, in the tenant's language (the widget and the transcript show them as
# they are; the daemon has no request locale).
SYSTEM_TEXT = {
    "pl": {"joined": "{name} dołącza do czatu.", "transferred": "Czat przekazany dalej.",
           "agent_left": "Przekazujemy rozmowę innemu konsultantowi, prosimy chwilę poczekać.",
           "ended": "Czat zakończony."},
    "en": {"joined": "{name} joined the chat.", "transferred": "The chat was transferred.",
           "agent_left": "Transferring you to another consultant, please wait a moment.",
           "ended": "The chat has ended."},
}


@dataclass(frozen=True)
class Enqueue:
    """What ``chat.enqueue`` needs of a chat row."""

    status: str
    queue_id: int | None
    customer: str  # the visitor's phone or e-mail (sticky agent), "" if neither


@dataclass(frozen=True)
class Event:
    """A ``chat.*`` event to publish once the row is written."""

    kind: str
    payload: dict[str, Any]


def enqueue_facts(db: Factory, tenant_id: int, chat_id: int) -> Enqueue | None:
    with db() as s:
        chat = s.get(Chat, chat_id)
        if chat is None or chat.tenant_id != tenant_id:
            return None
        return Enqueue(chat.status, chat.queue_id, chat.visitor_phone or chat.visitor_email)


def open_chats(db: Factory) -> dict[int, list[OpenChat]]:
    """Every chat not over, per tenant, as the ACD rebuilds them (arrival, entry time,
    priority and skills from the queue log when it has them)."""
    with db() as s:
        rows = s.execute(select(Chat.id, Chat.tenant_id, Chat.queue_id, Chat.status,
                                Chat.agent_user_id, Chat.created_at, Chat.visitor_phone,
                                Chat.visitor_email)
                         .where(Chat.status.in_(OPEN)).order_by(Chat.id)).all()
    found: dict[int, list[OpenChat]] = {}
    for r in rows:
        iid = out.chat_iid(r.id)
        created = _ts(r.created_at)
        before = acd_store.queued_before(db, r.tenant_id, iid)
        arrived = before.arrived_at if before else created
        entered = before.entered_at if before else created
        priority, skills = (before.priority, before.skills) if before else (0.0, {})
        customer = r.visitor_phone or r.visitor_email or None
        i = Interaction(iid, Channel.CHAT, arrived, priority, skills, customer)
        agent = str(r.agent_user_id) if r.agent_user_id is not None else None
        queue = str(r.queue_id) if r.queue_id is not None else ""
        found.setdefault(r.tenant_id, []).append(OpenChat(r.id, queue, r.status, agent, i,
                                                          entered))
    return found


def apply(db: Factory, order: out.ChatOrder, now: datetime) -> Event | None:
    """Write one chat order; the event to publish, None when it no longer fits the row."""
    for attempt in range(SEQ_RETRIES):
        try:
            with transaction(db) as s:
                return _apply(s, order, now)
        except IntegrityError:  # the web side took the same seq first
            if attempt == SEQ_RETRIES - 1:
                raise
    return None


def _apply(s: Session, order: out.ChatOrder, now: datetime) -> Event | None:
    chat = s.get(Chat, order.chat_id)
    if chat is None or chat.tenant_id != order.tenant_id or chat.status in OVER:
        return None
    match order:
        case out.OfferChat(_, _, user, queue, timeout_s):
            if chat.status not in ("waiting", "offered"):
                return None
            chat.status, chat.agent_user_id = "offered", user
            return Event("chat.offered", {"user_id": user, "queue_id": queue,
                                          "timeout_s": timeout_s})
        case out.WithdrawChatOffer(_, _, user, reason):
            if chat.status == "offered" and chat.agent_user_id == user:
                chat.status, chat.agent_user_id = "waiting", None
            return Event("chat.offer_withdrawn", {"user_id": user, "reason": reason})
        case out.AssignChat(_, _, user):
            chat.status, chat.agent_user_id, chat.answered_at = "active", user, now
            agent = s.get(User, user)
            name = (agent.display_name or agent.login) if agent is not None else ""
            _system(s, chat, "joined", now, name=name)
            return Event("chat.assigned", {"user_id": user})
        case out.RequeueChat(_, _, queue, reason):
            if chat.status == "active":
                _system(s, chat, "agent_left" if reason == "agent_left" else "transferred", now)
            chat.status, chat.agent_user_id, chat.queue_id = "waiting", None, queue
            return Event("chat.requeued", {"queue_id": queue, "reason": reason})
        case out.EndChat(_, _, _, by):
            status = "ended" if chat.answered_at is not None else "missed"
            chat.status, chat.ended_at, chat.ended_by = status, now, by
            _system(s, chat, "ended", now)
            return Event("chat.ended", {"by": by, "status": status})
    return None


def _system(s: Session, chat: Chat, what: str, now: datetime, **names: str) -> None:
    """Append a ``system`` line with the chat's next ``seq``."""
    locale = s.scalar(select(Tenant.locale).where(Tenant.id == chat.tenant_id)) or "pl"
    text = SYSTEM_TEXT.get(locale, SYSTEM_TEXT["en"])[what].format(**names)
    seq = (s.scalar(select(func.max(ChatMessage.seq)).where(ChatMessage.chat_id == chat.id))
           or 0) + 1
    s.add(ChatMessage(tenant_id=chat.tenant_id, chat_id=chat.id, seq=seq, author="system",
                      body=text, created_at=now))
    s.flush()


def _ts(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()

