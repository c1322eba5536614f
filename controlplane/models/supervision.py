"""Supervision sessions: a supervisor listening to, whispering to or barging into a call.

One row per session (``controlplane.supervision``): who supervised whom, on which call, the
modes used in order (``modes``, comma-separated), when it started and ended and why. The
daemon writes it (it is the one that knows when a session really ended); the panel reads it
to show the active session of a supervisor and to route PATCH/DELETE by id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow

MODES = ("listen", "whisper", "barge")
STATES = ("dialing", "active", "ended")


class SupervisionSession(Base):
    __tablename__ = "supervision_session"
    __table_args__ = (
        CheckConstraint("mode IN ('listen', 'whisper', 'barge')", name="mode"),
        CheckConstraint("state IN ('dialing', 'active', 'ended')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    phone: Mapped[str] = mapped_column(String(64))  # the supervisor's endpoint that was rung
    mode: Mapped[str] = mapped_column(String(8))  # the current (or last) mode
    modes: Mapped[str] = mapped_column(String(200), default="")  # every mode used, in order
    state: Mapped[str] = mapped_column(String(8), default="dialing", index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str] = mapped_column(String(32), default="")
