"""The desk's e-mail channel: a tenant's mailboxes and the satisfaction surveys of replies.

* ``desk_mailbox``: one IMAP + SMTP account of a tenant (``support@firma.pl``). The
  passwords are stored encrypted (Fernet, :mod:`controlplane.desk.email.secrets`): never
  shown again, never logged. ``queue_id`` is where its new tickets go unless one of its
  ``rules`` (ordered, :mod:`controlplane.desk.email.rules`) names another queue. The
  reader keeps its place per mailbox: ``uidvalidity`` + ``last_uid`` (IMAP UIDs only grow
  within one UIDVALIDITY), so a restart never reads a mail twice; ``last_poll_at`` /
  ``last_error`` are what the page shows of the last poll.
* ``desk_survey``: the satisfaction survey linked from the reply that solved a ticket. The
  link's secret is kept as its SHA-256 only; ``score`` 1–5 and ``comment`` once answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

SECURITIES = ("ssl", "starttls", "plain")  # plain: loopback hosts only (service checks)
ERROR_MAX = 1000


class DeskMailbox(Base):
    __tablename__ = "desk_mailbox"
    __table_args__ = (
        UniqueConstraint("tenant_id", "address"),
        CheckConstraint(one_of("imap_security", SECURITIES), name="imap_security"),
        CheckConstraint(one_of("smtp_security", SECURITIES), name="smtp_security"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    imap_host: Mapped[str] = mapped_column(String(253))
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_security: Mapped[str] = mapped_column(String(16), default="ssl")
    imap_login: Mapped[str] = mapped_column(String(320), default="")
    imap_password: Mapped[str] = mapped_column(Text, default="")  # Fernet token
    smtp_host: Mapped[str] = mapped_column(String(253))
    smtp_port: Mapped[int] = mapped_column(Integer, default=465)
    smtp_security: Mapped[str] = mapped_column(String(16), default="ssl")
    smtp_login: Mapped[str] = mapped_column(String(320), default="")
    smtp_password: Mapped[str] = mapped_column(Text, default="")  # Fernet token
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="SET NULL"))
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    poll_interval_s: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(default=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(String(ERROR_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class DeskSurvey(Base):
    __tablename__ = "desk_survey"
    __table_args__ = (
        CheckConstraint("score IS NULL OR (score BETWEEN 1 AND 5)", name="score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
