"""Recording metadata: one row per recording of a call, linked to its call record.

A call is recorded by the queue's policy (``always``: from the answer; ``on_demand``: when
the agent asks, ``*`` on the desk phone or the panel; ``never``) or, for a DID ringing a
phone directly, always (``direct``). The row is written when the recording starts, closed
when the call ends, and checked by the RQ job ``verify_recording`` (real duration, or
``missing`` when Asterisk left no readable file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow

POLICIES = ("always", "on_demand", "direct")
STATUSES = ("recording", "done", "missing")


class CallRecording(Base):
    __tablename__ = "call_recording"
    __table_args__ = (
        UniqueConstraint("call_id", "name"),
        CheckConstraint("policy IN ('always', 'on_demand', 'direct')", name="policy"),
        CheckConstraint("status IN ('recording', 'done', 'missing')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str] = mapped_column(
        ForeignKey("call_record.call_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))  # Asterisk's recording name
    path: Mapped[str] = mapped_column(String(500))
    policy: Mapped[str] = mapped_column(String(10))
    started_by: Mapped[str] = mapped_column(String(80), default="system")  # or agent:<phone>
    queue: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(10), default="recording")
