"""How a call sounded at the agent's end: one row per call and agent phone that reported.

The agent's webphone measures its own leg with WebRTC statistics (``getStats``) and
reports them when the call ends (``POST /api/v1/agents/me/webphone/calls/<call id>/quality``):
packets received and lost, interarrival jitter, the round-trip time RTCP reports, and the
time from the call being answered to the first audio the agent's browser played
(``first_audio_ms``: dead air at the start of a call is what agents complain of first).
Kept beside ``call_record`` rather than in it: the daemon's record writer owns that row,
and the report comes from the browser, after the call, sometimes never (a closed tab).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import tenant_fk


class CallQuality(Base):
    __tablename__ = "call_quality"
    __table_args__ = (UniqueConstraint("call_id", "endpoint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    endpoint: Mapped[str] = mapped_column(String(64))  # the agent's phone that measured
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="webphone")
    packets_received: Mapped[int] = mapped_column(Integer, default=0)
    packets_lost: Mapped[int] = mapped_column(Integer, default=0)
    jitter_ms: Mapped[float | None] = mapped_column(Float)
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    first_audio_ms: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    @property
    def loss_pct(self) -> float | None:
        """Lost packets as a share of those expected, in per cent."""
        expected = self.packets_received + self.packets_lost
        return round(100.0 * self.packets_lost / expected, 2) if expected else None

    def to_json(self) -> dict[str, object]:
        return {"source": self.source, "packets_received": self.packets_received,
                "packets_lost": self.packets_lost, "loss_pct": self.loss_pct,
                "jitter_ms": self.jitter_ms, "rtt_ms": self.rtt_ms,
                "first_audio_ms": self.first_audio_ms, "codec": self.codec,
                "reported_at": self.created_at.isoformat()}
