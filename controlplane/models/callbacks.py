"""Callback requests: a caller asked to be called back (from the IVR or while queued)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class CallbackRequest(Base):
    __tablename__ = "callback_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)  # the call that asked
    number: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open|done|cancelled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
