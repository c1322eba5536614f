"""Call records (CDR): one row per call, keyed by the call id (the first channel's id).

The row is inserted when the call enters the platform and updated as it
progresses, so a crash loses nothing that already happened; the unique
``call_id`` makes every write an upsert, so a restart never doubles a call.

Times and durations (all seconds are floats, ms precision; the durations are set at the end):

* ``started_at``: the caller's leg entered the platform.
* ``platform_answered_at``: the caller's leg was first answered — by the platform (an IVR,
  a prompt, a queue, a refusal or no-service message), or, when the platform rang a phone
  straight away, when that phone or number answered; for a campaign call when the customer
  answered. Empty: the caller's leg was never answered.
* ``answered_at``: the agent, phone or called number answered and was bridged with the
  caller (the agent's answer). Empty: no agent was ever connected.
* ``duration_s``: ``started_at`` to the end, ringing included.
* ``carrier_billsec_s``: what the carrier bills — inbound: from ``platform_answered_at``
  (an IVR-only call is billed although no agent answered); campaign: from the customer's
  answer; outbound through a trunk: from the called number's answer (``answered_at``);
  internal, or never answered: 0. See :func:`controlplane.calls.machines.call_state.carrier_billsec`.
* ``transfer_carrier_billsec_s``: what the carrier bills for the numbers the call was sent
  on to (a blind transfer or a consultation dials them over the trunk: a second carrier
  leg), from each one's answer to its end; 0: none was reached. While the call is up it
  holds the legs already ended, and ``transfer_answered_at`` the answer of the one up now.
* ``billsec_s``: the agent's talk time, ``answered_at`` to the end (0 when no agent was
  connected); the recording of the conversation is as long. The name is Asterisk's CDR
  ``billsec`` of the bridged pair; for what the carrier bills read ``carrier_billsec_s``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime


class CallRecord(Base):
    __tablename__ = "call_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="SET NULL"), index=True
    )
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound | internal
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    phase: Mapped[str] = mapped_column(String(12), default="prompt")
    dial_target: Mapped[str | None] = mapped_column(String(200))
    queue: Mapped[str | None] = mapped_column(String(100))
    caller: Mapped[str] = mapped_column(String(64), default="")
    callee: Mapped[str] = mapped_column(String(64), default="")
    did: Mapped[str | None] = mapped_column(String(32))
    trunk: Mapped[str | None] = mapped_column(String(64))
    agent_endpoint: Mapped[str | None] = mapped_column(String(64))
    caller_channel: Mapped[str] = mapped_column(String(128))
    agent_channel: Mapped[str | None] = mapped_column(String(128))
    bridge_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    platform_answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # caller's leg
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # the agent's answer
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    carrier_billsec_s: Mapped[float | None] = mapped_column(Float)  # what the carrier bills
    # the numbers a transfer or consultation reached: their carrier seconds (see above)
    transfer_answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    transfer_carrier_billsec_s: Mapped[float | None] = mapped_column(Float)
    billsec_s: Mapped[float | None] = mapped_column(Float)  # the agent's talk time
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_txt: Mapped[str | None] = mapped_column(String(64))
    hangup_by: Mapped[str | None] = mapped_column(String(16))  # caller | agent | system
    recording_path: Mapped[str | None] = mapped_column(String(500))
    recording_duration_s: Mapped[float | None] = mapped_column(Float)
    end_estimated: Mapped[bool] = mapped_column(default=False)
    # answering-machine detection on outbound calls: ours, and Asterisk's AMD() alongside
    amd_verdict: Mapped[str | None] = mapped_column(String(10))  # HUMAN | MACHINE | NOTSURE
    amd_cause: Mapped[str | None] = mapped_column(String(64))
    amd_decision_ms: Mapped[int | None] = mapped_column(Integer)
    app_amd_status: Mapped[str | None] = mapped_column(String(10))
    app_amd_cause: Mapped[str | None] = mapped_column(String(64))
    app_amd_ms: Mapped[int | None] = mapped_column(Integer)
    # the toll-fraud guard refused the call (why: destination class or cap); None: not refused
    refused_reason: Mapped[str | None] = mapped_column(String(200))
