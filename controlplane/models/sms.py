"""The SMS channel of the desk: a tenant's gateway account, its templates, and the
auto-reply log that keeps auto-replies from looping.

* ``desk_sms_account``: at most one per tenant. ``public_id`` names it in the inbound
  webhook's URL (``/sms/inbound/<public_id>``: unguessable, not a secret by itself);
  ``provider`` is the provider kind (:mod:`controlplane.desk.sms.providers`), ``api_url``
  where outbound SMS are posted. ``api_key_enc`` (the key the provider gave us) and
  ``inbound_secret_enc`` (the HMAC key inbound posts are signed with; generated, shown
  once) are Fernet tokens (:mod:`controlplane.desk.sms.secrets`), never plain text.
  ``numbers`` are the tenant's own E.164 numbers at the provider, ``sender_id`` what a
  customer sees as the sender (alphanumeric up to 11 characters, or a number). New tickets
  go to ``queue_id``. ``auto_reply_text`` is sent once per new ticket when
  ``auto_reply_enabled``, and to one number at most once per ``auto_reply_quiet_hours``.
* ``desk_sms_template``: named texts with ``{{ parameters }}`` for replies.
* ``desk_sms_auto_reply``: when the last auto-reply went to a number (one row per tenant
  and number): the loop guard (two auto-responders never talk to each other for long).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import tenant_fk

SMS_PROVIDERS = ("http",)
SENDER_ID_MAX = 16  # a number in E.164 (15 digits and +); alphanumeric ones stop at 11
AUTO_REPLY_MAX = 1000
TEMPLATE_BODY_MAX = 1600  # ten concatenated segments and then some


class DeskSmsAccount(Base):
    __tablename__ = "desk_sms_account"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    provider: Mapped[str] = mapped_column(String(16), default="http")
    api_url: Mapped[str] = mapped_column(String(500), default="")
    api_key_enc: Mapped[str] = mapped_column(Text, default="")
    inbound_secret_enc: Mapped[str] = mapped_column(Text, default="")
    numbers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sender_id: Mapped[str] = mapped_column(String(SENDER_ID_MAX), default="")
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="SET NULL"))
    auto_reply_enabled: Mapped[bool] = mapped_column(default=False)
    auto_reply_text: Mapped[str] = mapped_column(String(AUTO_REPLY_MAX), default="")
    auto_reply_quiet_hours: Mapped[int] = mapped_column(Integer, default=24)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DeskSmsTemplate(Base):
    __tablename__ = "desk_sms_template"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(TEMPLATE_BODY_MAX), default="")


class DeskSmsAutoReply(Base):
    __tablename__ = "desk_sms_auto_reply"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    number: Mapped[str] = mapped_column(String(32))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
