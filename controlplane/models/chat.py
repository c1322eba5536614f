"""Chats: a website visitor's conversation, routed by the ACD like a call.

* ``chat``: one conversation. ``public_id`` is the visitor's secret handle (random,
  URL-safe; the widget keeps it to resume after a reload or a dropped connection: who
  holds it *is* the visitor). ``status`` follows the chat's life:

      waiting --offer--> offered --accept--> active --end--> ended
         ^                  |                  |
         +-- declined/timed out / transfer ----+         missed: nobody took it, or the
                                                          visitor left before an answer
                                                          (``ended_at`` set as well)

  ``queue_id`` is the queue it waits in (changes with overflow or a transfer),
  ``agent_user_id`` the agent who holds it (None while waiting). ``visitor_kind``
  (new / returning / identified) picks the widget's greeting. ``ticket_id``: the ticket
  its transcript lives in. ``survey_score`` / ``survey_comment``: the end-of-chat survey.
* ``chat_message``: one line of the conversation. ``seq`` numbers a chat's messages from
  1 (a reconnecting client asks for everything after the last ``seq`` it saw);
  ``author`` is visitor, agent or system (joins, transfers, the end).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

CHAT_STATUSES = ("waiting", "offered", "active", "ended", "missed")
VISITOR_KINDS = ("new", "returning", "identified")
MESSAGE_AUTHORS = ("visitor", "agent", "system")
BODY_MAX = 4000


class Chat(Base):
    __tablename__ = "chat"
    __table_args__ = (
        CheckConstraint(one_of("status", CHAT_STATUSES), name="status"),
        CheckConstraint(one_of("visitor_kind", VISITOR_KINDS), name="visitor_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="SET NULL"))
    agent_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    visitor_name: Mapped[str] = mapped_column(String(200), default="")
    visitor_email: Mapped[str] = mapped_column(String(254), default="")
    visitor_phone: Mapped[str] = mapped_column(String(32), default="")
    visitor_kind: Mapped[str] = mapped_column(String(16), default="new")
    visitor_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    page_url: Mapped[str] = mapped_column(String(1000), default="")
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(16))  # visitor | agent | system
    survey_score: Mapped[int | None] = mapped_column(Integer)
    survey_comment: Mapped[str] = mapped_column(String(2000), default="")


class ChatMessage(Base):
    __tablename__ = "chat_message"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq"),
        CheckConstraint(one_of("author", MESSAGE_AUTHORS), name="author"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(8))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
