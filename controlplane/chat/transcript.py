"""A chat's transcript in a ticket: every visitor's and agent's message, as it is written.

Theory of operation: the chat is a channel like e-mail, so it threads through the desk's
one seam (:mod:`controlplane.desk.threads`). The first visitor message opens a ticket
(``receive``: ``external_id`` ``chat:<chat id>:<seq>``, the sender the visitor's e-mail or
their label); each later visitor message is received as a reply to that first one (so a
merged ticket forwards it, and a closed ticket starts a new one, whose id the chat then
keeps); an agent's message is a ``reply`` on the chat's ticket. An agent's line written
before the visitor's first message (a greeting) is added when the ticket opens, at its
own time. System lines (joins, transfers) stay in the chat only. Idempotent: a message
already in the ticket (same ``external_id``) is not added twice. Runs in the writer's
transaction, so a message and its transcript line commit together.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.desk.threads import Inbound, receive, reply
from controlplane.models.chat import Chat, ChatMessage
from controlplane.models.tickets import Ticket, TicketMessage

CHANNEL = "chat"


def external_id(chat_id: int, seq: int) -> str:
    return f"chat:{chat_id}:{seq}"


def sender(chat: Chat) -> str:
    """Who the ticket says wrote: the visitor's e-mail when given, else a label."""
    return chat.visitor_email or chat.visitor_name or f"chat visitor {chat.id}"


def _first_visitor_seq(s: Session, chat: Chat) -> int | None:
    return s.scalar(select(ChatMessage.seq).where(
        ChatMessage.chat_id == chat.id, ChatMessage.author == "visitor")
        .order_by(ChatMessage.seq).limit(1))


def _known(s: Session, tenant_id: int, ext: str) -> bool:
    return s.scalar(select(TicketMessage.id).where(
        TicketMessage.tenant_id == tenant_id, TicketMessage.external_id == ext)) is not None


def record(s: Session, chat: Chat, msg: ChatMessage) -> None:
    """Put ``msg`` (just written) into the chat's ticket."""
    ext = external_id(chat.id, msg.seq)
    if msg.author == "visitor":
        first = _first_visitor_seq(s, chat)
        refs = (external_id(chat.id, first),) if first is not None and first != msg.seq else ()
        got = receive(s, Inbound(tenant_id=chat.tenant_id, channel=CHANNEL, sender=sender(chat),
                                 sender_name=chat.visitor_name, body=msg.body,
                                 subject="" if refs else f"Chat: {msg.body[:200]}",
                                 external_id=ext, reply_to=refs, at=msg.created_at,
                                 meta={"chat_id": chat.id, "seq": msg.seq}))
        if got.created or chat.ticket_id is None:
            chat.ticket_id = got.ticket_id
            _earlier_agent_lines(s, chat, msg.seq)
        elif chat.ticket_id != got.ticket_id:
            chat.ticket_id = got.ticket_id
    elif msg.author == "agent" and chat.ticket_id is not None:
        ticket = s.get(Ticket, chat.ticket_id)
        if ticket is not None and not _known(s, chat.tenant_id, ext):
            reply(s, ticket, body=msg.body, channel=CHANNEL, author_user_id=msg.user_id,
                  external_id=ext, at=msg.created_at, meta={"chat_id": chat.id, "seq": msg.seq})
    s.flush()


def _earlier_agent_lines(s: Session, chat: Chat, before: int) -> None:
    ticket = s.get(Ticket, chat.ticket_id)
    if ticket is None:
        return
    for line in s.scalars(select(ChatMessage).where(
            ChatMessage.chat_id == chat.id, ChatMessage.author == "agent",
            ChatMessage.seq < before).order_by(ChatMessage.seq)):
        ext = external_id(chat.id, line.seq)
        if not _known(s, chat.tenant_id, ext):
            reply(s, ticket, body=line.body, channel=CHANNEL, author_user_id=line.user_id,
                  external_id=ext, at=line.created_at, meta={"chat_id": chat.id, "seq": line.seq})
