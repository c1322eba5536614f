"""The chat widget's settings and the agents' canned responses, per tenant.

* ``chat_widget``: one website's chat (a tenant may have several). ``key`` is public (it is
  in the ``<script data-key>`` tag on the site); ``identity_secret`` is not: the site signs
  a logged-in customer's identity with it (HMAC-SHA256) so the chat knows them
  ("identified" visitors). ``origins`` are the websites allowed to use the widget (CORS);
  ``queue_id`` the queue its chats enter. ``form_fields`` says, per pre-chat field
  (name, email, phone), ``required`` / ``optional`` / ``off``. ``hours`` is the opening
  time (``controlplane.chat.hours``; null: always open): outside it the widget shows the
  offline form, which opens a ticket instead of a chat. ``greetings`` is the first line a
  visitor reads, per kind (new / returning / identified).
* ``chat_canned_response``: a prepared answer an agent inserts by its ``shortcut``;
  ``body`` may name parameters (``{{ visitor_name }}``) filled from the chat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import tenant_fk

FORM_FIELDS = ("name", "email", "phone")
FIELD_MODES = ("required", "optional", "off")


class ChatWidget(Base):
    __tablename__ = "chat_widget"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    key: Mapped[str] = mapped_column(String(40), unique=True)
    identity_secret: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="SET NULL"))
    origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(String(100), default="")
    color: Mapped[str] = mapped_column(String(7), default="#1f6feb")
    greetings: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    form_fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    hours: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    survey: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CannedResponse(Base):
    __tablename__ = "chat_canned_response"
    __table_args__ = (UniqueConstraint("tenant_id", "shortcut"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    shortcut: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(100), default="")
    body: Mapped[str] = mapped_column(Text, default="")
