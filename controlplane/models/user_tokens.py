"""Single-use links mailed to a user: account activation (48 h) and password reset (1 h).

A row is written when the link is asked for (a tenant or user created, "Forgot
password?"), in the same transaction as its mail job's outbox row; the link's secret does
not exist yet. The mail job (:mod:`controlplane.jobs.mail`) draws the secret, stores only
its SHA-256 (``token_hash``) with ``expires_at``, and mails it: the secret is never in the
database, in Redis or in a log. ``used_at`` is set when the link is used, or when a newer
link of the same purpose replaces it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class UserToken(Base):
    __tablename__ = "user_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    purpose: Mapped[str] = mapped_column(String(20))  # activation | reset
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    requested_by: Mapped[str] = mapped_column(String(200), default="")  # actor or "self"
    requested_from: Mapped[str] = mapped_column(String(100), default="")
