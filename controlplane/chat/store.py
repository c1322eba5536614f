"""The chat room's SQL on the panel's side: a visitor's chat, its numbered messages.

The panel writes a chat's row when a visitor starts it (status ``waiting``; everything
about status and agent after that is the daemon's, see the chat contract) and every
visitor's and agent's message. A message's ``seq`` is the chat's highest plus one, taken
inside the writer's transaction; two writers that pick the same number (the visitor and
the agent at once, or the daemon's system line) collide on the unique (chat, seq) and the
loser takes the next number (:func:`append`). A reader therefore sees seqs only grow:
a committed seq n means every seq below n was committed before it (on SQLite writers are
serialised; on PostgreSQL the later writer waited for the earlier one's commit to collide).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.chat.exceptions import ChatNotFound, NotYourChat
from controlplane.db import group_writer, is_locked, retry_locked
from controlplane.errors import Unavailable
from controlplane.models import User
from controlplane.models.base import utcnow
from controlplane.models.chat import Chat, ChatMessage
from controlplane.models.chat_widgets import ChatWidget

SEQ_RETRIES = 8
OPEN_STATUSES = ("waiting", "offered", "active")
T = TypeVar("T")


def write(sessions: sessionmaker[Session], change: Callable[[Session], T]) -> T:
    """Run ``change`` in one transaction, again while SQLite says "locked": a chat line
    must not be lost, and on SQLite two writers that both read (the next seq, the ticket)
    before writing collide at once, whatever the busy timeout (a WAL snapshot went stale).
    On SQLite the panel's own writers are committed together (:class:`~controlplane.db.
    GroupWriter`): ``change`` runs in a savepoint of a transaction it may share.
    Still locked after the retries: 503, the client sends again."""
    def once() -> T:
        return group_writer(sessions).run(change)
    try:
        return retry_locked(once, attempts=6, what="chat message")
    except OperationalError as err:
        if is_locked(err):
            raise Unavailable("the chat is busy; send again in a moment") from err
        raise


def create(s: Session, widget: ChatWidget, *, name: str, email: str, phone: str, kind: str,
           fields: dict[str, Any], page: str, now: datetime | None = None) -> Chat:
    chat = Chat(tenant_id=widget.tenant_id, public_id=secrets.token_urlsafe(24),
                status="waiting", queue_id=widget.queue_id, visitor_name=name,
                visitor_email=email, visitor_phone=phone, visitor_kind=kind,
                visitor_fields=fields, page_url=page, created_at=now or utcnow())
    s.add(chat)
    s.flush()
    return chat


def by_public_id(s: Session, public_id: str) -> Chat:
    chat = s.scalar(select(Chat).where(Chat.public_id == public_id))
    if chat is None:
        raise ChatNotFound("no such chat")
    return chat


def in_tenant(s: Session, tenant_id: int, chat_id: int) -> Chat:
    chat = s.get(Chat, chat_id)
    if chat is None or chat.tenant_id != tenant_id:
        raise ChatNotFound(f"chat {chat_id} not found")
    return chat


def held_by(s: Session, tenant_id: int, chat_id: int, user_id: int) -> Chat:
    """The chat, when agent ``user_id`` holds it now (the daemon's columns say so)."""
    chat = in_tenant(s, tenant_id, chat_id)
    if chat.agent_user_id != user_id or chat.status != "active":
        raise NotYourChat(f"chat {chat_id} is not held by you")
    return chat


def held_chats(s: Session, tenant_id: int, user_id: int) -> list[Chat]:
    return list(s.scalars(select(Chat).where(
        Chat.tenant_id == tenant_id, Chat.agent_user_id == user_id,
        Chat.status == "active").order_by(Chat.id)))


def offered_to(s: Session, tenant_id: int, user_id: int) -> list[int]:
    """The chats offered to agent ``user_id`` now (the router's columns), oldest first."""
    return list(s.scalars(select(Chat.id).where(
        Chat.tenant_id == tenant_id, Chat.agent_user_id == user_id,
        Chat.status == "offered").order_by(Chat.id)))


def open_chats(s: Session, tenant_id: int) -> list[Chat]:
    """The tenant's chats not yet over (the supervisors' list)."""
    return list(s.scalars(select(Chat).where(
        Chat.tenant_id == tenant_id, Chat.status.in_(OPEN_STATUSES)).order_by(Chat.id)))


def append(s: Session, chat: Chat, author: str, body: str, *, user_id: int | None = None,
           now: datetime | None = None) -> ChatMessage:
    """Add a message with the chat's next ``seq`` (see the module docstring)."""
    for _ in range(SEQ_RETRIES):
        top = s.scalar(select(func.max(ChatMessage.seq)).where(ChatMessage.chat_id == chat.id))
        msg = ChatMessage(tenant_id=chat.tenant_id, chat_id=chat.id, seq=(top or 0) + 1,
                          author=author, user_id=user_id, body=body,
                          created_at=now or utcnow())
        try:
            with s.begin_nested():
                s.add(msg)
                s.flush()
        except IntegrityError:
            continue
        return msg
    raise RuntimeError(f"could not number a message of chat {chat.id}")  # pragma: no cover


def messages_after(s: Session, chat_id: int, after: int, before: int | None = None
                   ) -> list[ChatMessage]:
    q = select(ChatMessage).where(ChatMessage.chat_id == chat_id, ChatMessage.seq > after)
    if before is not None:
        q = q.where(ChatMessage.seq < before)
    return list(s.scalars(q.order_by(ChatMessage.seq)))


def agent_names(s: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return {u.id: u.display_name or u.login
            for u in s.scalars(select(User).where(User.id.in_(user_ids)))}


def message_json(msg: ChatMessage, names: dict[int, str]) -> dict[str, Any]:
    """One message as the widget and the console read it (an agent by name only)."""
    return {"kind": "message", "seq": msg.seq, "author": msg.author, "body": msg.body,
            "at": msg.created_at.isoformat(),
            "name": names.get(msg.user_id, "") if msg.user_id is not None else ""}


def chat_json(chat: Chat, names: dict[int, str]) -> dict[str, Any]:
    return {"id": chat.id, "status": chat.status, "visitor_name": chat.visitor_name,
            "visitor_email": chat.visitor_email, "visitor_phone": chat.visitor_phone,
            "visitor_kind": chat.visitor_kind, "page": chat.page_url,
            "queue_id": chat.queue_id, "agent": names.get(chat.agent_user_id or 0, ""),
            "agent_user_id": chat.agent_user_id, "ticket_id": chat.ticket_id,
            "created_at": chat.created_at.isoformat()}
