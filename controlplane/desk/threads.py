"""The seam every channel uses to put a customer's message into a ticket.

Theory of operation
-------------------
A channel (the mailbox reader, the SMS gateway's webhook, the chat) builds an
:class:`Inbound` and calls :func:`receive` inside its own transaction:

1. **Idempotent.** ``external_id`` is the message's id on its channel (an e-mail's
   Message-ID, the gateway's SMS id, ``chat:<chat id>:<n>``). A message whose id the
   tenant already has is a duplicate: nothing is written (a mailbox read twice, a gateway
   retrying its post).
2. **Threaded.** ``reply_to`` lists ids of earlier messages this one answers (an
   e-mail's In-Reply-To and References, newest first); the first one the tenant knows
   names the ticket. ``thread_key`` is for channels without such ids: an SMS from a
   number joins that number's newest ticket on the same channel while it is not closed.
   A ticket merged into another sends its thread on to the one it was merged into.
3. **Else a new ticket**, numbered after the tenant's highest number; two writers that
   pick the same number collide on the unique (tenant, number) and the loser retries.

What follows, in the same transaction (:func:`controlplane.desk.service.received`): the
ticket's history line, the ``ticket.created``/``ticket.message`` webhook events and the
tenant's business rules (a rule may answer at once: an auto-reply).

A message to a solved ticket reopens it (``open``); a closed ticket is never reopened —
the message starts a new ticket. The requester's miniCRM contact is found by number
(E.164) or by e-mail address.

:func:`reply` appends an agent's outbound message (or a private note) and stamps the
ticket's first response; sending it is the channel's business.

Nothing here commits; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlplane.models.base import utcnow
from controlplane.models.contacts import Contact, ContactPhone
from controlplane.models.tickets import SUBJECT_MAX, Ticket, TicketMessage

NUMBER_RETRIES = 5


@dataclass(frozen=True)
class Inbound:
    """What a customer sent, as a channel hands it over."""

    tenant_id: int
    channel: str  # one of models.tickets.TICKET_CHANNELS
    sender: str  # e-mail address, E.164 number, chat visitor label
    body: str
    subject: str = ""
    sender_name: str = ""
    external_id: str | None = None
    reply_to: tuple[str, ...] = ()
    thread_key: bool = False  # join the sender's newest open ticket on this channel
    meta: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True)
class Received:
    ticket_id: int
    ticket_number: int
    message_id: int | None  # None for a duplicate
    created: bool  # a new ticket was opened
    duplicate: bool


def _final(s: Session, ticket: Ticket) -> Ticket:
    seen = {ticket.id}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        nxt = s.get(Ticket, ticket.merged_into_id)
        if nxt is None:
            break
        seen.add(nxt.id)
        ticket = nxt
    return ticket


def _threaded(s: Session, msg: Inbound) -> Ticket | None:
    if msg.reply_to:
        rows = dict(s.execute(
            select(TicketMessage.external_id, TicketMessage.ticket_id)
            .where(TicketMessage.tenant_id == msg.tenant_id,
                   TicketMessage.external_id.in_(list(msg.reply_to)))).all())
        for ref in msg.reply_to:
            if ref in rows:
                ticket = s.get(Ticket, rows[ref])
                if ticket is not None:
                    return _final(s, ticket)
    if msg.thread_key:
        ticket = s.scalars(
            select(Ticket).where(Ticket.tenant_id == msg.tenant_id,
                                 Ticket.channel == msg.channel,
                                 Ticket.requester == msg.sender)
            .order_by(Ticket.id.desc()).limit(1)).first()
        if ticket is not None:
            return _final(s, ticket)
    return None


def contact_for(s: Session, tenant_id: int, sender: str) -> int | None:
    """The miniCRM contact who wrote from ``sender`` (an E.164 number or an address)."""
    if sender.startswith("+"):
        return s.scalar(select(ContactPhone.contact_id).where(
            ContactPhone.tenant_id == tenant_id, ContactPhone.number == sender).limit(1))
    if "@" in sender:
        return s.scalar(select(Contact.id).where(
            Contact.tenant_id == tenant_id,
            func.lower(Contact.email) == sender.lower()).order_by(Contact.id).limit(1))
    return None


def _new_ticket(s: Session, msg: Inbound, now: datetime) -> Ticket:
    for _ in range(NUMBER_RETRIES):
        top = s.scalar(select(func.max(Ticket.number)).where(Ticket.tenant_id == msg.tenant_id))
        ticket = Ticket(tenant_id=msg.tenant_id, number=(top or 0) + 1,
                        subject=(msg.subject or msg.body.strip().split("\n", 1)[0])[:SUBJECT_MAX],
                        status="new", priority="normal", channel=msg.channel,
                        requester=msg.sender, requester_name=msg.sender_name[:200],
                        contact_id=contact_for(s, msg.tenant_id, msg.sender),
                        created_at=now, updated_at=now)
        try:
            with s.begin_nested():
                s.add(ticket)
                s.flush()
        except IntegrityError:
            continue
        return ticket
    raise RuntimeError("could not number a new ticket")  # pragma: no cover - contention


def receive(s: Session, msg: Inbound) -> Received:
    """Thread ``msg`` into a ticket (see the module's docstring)."""
    if msg.external_id is not None:
        known = s.execute(select(TicketMessage.ticket_id).where(
            TicketMessage.tenant_id == msg.tenant_id,
            TicketMessage.external_id == msg.external_id)).scalar()
        if known is not None:
            ticket = _final(s, s.get_one(Ticket, known))
            return Received(ticket.id, ticket.number, None, created=False, duplicate=True)
    now = msg.at or utcnow()
    ticket = _threaded(s, msg)
    if ticket is not None and ticket.status == "closed":
        ticket = None
    created = ticket is None
    if ticket is None:
        ticket = _new_ticket(s, msg, now)
    elif ticket.status in ("solved", "pending"):
        ticket.status = "open"
        ticket.solved_at = None
    ticket.updated_at = now
    row = TicketMessage(tenant_id=msg.tenant_id, ticket_id=ticket.id, direction="in",
                        channel=msg.channel, sender=msg.sender, body=msg.body,
                        external_id=msg.external_id, meta=dict(msg.meta), created_at=now)
    s.add(row)
    s.flush()
    # the desk's follow-ups in the same transaction: history, webhooks, business rules
    from controlplane.desk import service  # service builds on this module

    service.received(s, ticket, row, created=created)
    return Received(ticket.id, ticket.number, row.id, created=created, duplicate=False)


def reply(s: Session, ticket: Ticket, *, body: str, channel: str, author_user_id: int | None,
          sender: str = "", external_id: str | None = None, note: bool = False,
          meta: Mapping[str, Any] | None = None, at: datetime | None = None) -> TicketMessage:
    """Append an agent's reply (or a private ``note``) to ``ticket``."""
    now = at or utcnow()
    row = TicketMessage(tenant_id=ticket.tenant_id, ticket_id=ticket.id,
                        direction="note" if note else "out", channel=channel,
                        author_user_id=author_user_id, sender=sender, body=body,
                        external_id=external_id, meta=dict(meta or {}), created_at=now)
    s.add(row)
    if not note:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        if ticket.status == "new":
            ticket.status = "open"
    ticket.updated_at = now
    s.flush()
    return row
