"""Tickets: the thread every chat, e-mail and SMS (and, optionally, call) lands in.

* ``ticket``: one customer matter of a tenant. ``number`` is the tenant's own running
  number (what people say: "ticket 1042"), unique per tenant. ``channel`` is where it
  started; its messages may come from several channels. ``requester`` is the address the
  customer wrote from (e-mail address, E.164 number, chat visitor's label); ``contact_id``
  the miniCRM contact when one is known. A merged ticket keeps its messages and points at
  the ticket it was merged into (``merged_into_id``); new messages of its thread go there.
* ``ticket_message``: one message in (customer), out (an agent's reply) or a private
  note. ``external_id`` is the message's id on its channel (an e-mail's Message-ID, the
  SMS gateway's id, ``chat:<id>:<n>``): it threads replies (an e-mail's In-Reply-To names
  an earlier Message-ID) and makes receiving idempotent (a mailbox read twice adds
  nothing), hence unique per tenant.
* ``ticket_category``: a tenant's list of categories.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

TICKET_STATUSES = ("new", "open", "pending", "solved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_CHANNELS = ("email", "sms", "chat", "call", "web", "panel")
MESSAGE_DIRECTIONS = ("in", "out", "note")
SUBJECT_MAX = 300
ADDRESS_MAX = 320
EXTERNAL_ID_MAX = 255


class TicketCategory(Base):
    __tablename__ = "ticket_category"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint(one_of("status", TICKET_STATUSES), name="status"),
        CheckConstraint(one_of("priority", TICKET_PRIORITIES), name="priority"),
        CheckConstraint(one_of("channel", TICKET_CHANNELS), name="channel"),
        Index("ix_ticket_tenant_status", "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    number: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX), default="")
    status: Mapped[str] = mapped_column(String(16), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    channel: Mapped[str] = mapped_column(String(16))
    requester: Mapped[str] = mapped_column(String(ADDRESS_MAX), default="")
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL"))
    assignee_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    solved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TicketMessage(Base):
    __tablename__ = "ticket_message"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        CheckConstraint(one_of("direction", MESSAGE_DIRECTIONS), name="direction"),
        CheckConstraint(one_of("channel", TICKET_CHANNELS), name="channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(16))
    author_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    sender: Mapped[str] = mapped_column(String(ADDRESS_MAX), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(EXTERNAL_ID_MAX))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
