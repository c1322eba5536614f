"""ACD tables: queues, their members, agent skills and break reasons, and the logs.

Configuration (``Queue``, ``QueueMember``, ``AgentSkill``, ``AgentBreakReason``)
is read by :mod:`controlplane.acd.store` into the pure core's frozen config
types. The logs are append-only and written by the live ACD service:

* ``AgentStatusLog``: every agent status transition (so time in status, and
  agents per status at any moment, can be reported); its latest row per agent
  is also where the service rebuilds agent state after a Redis restart;
* ``QueueLog``: one row per step of an interaction in a queue (enter, offer,
  offer_timeout, answer, abandon, overflow, divert, callback, end);
* ``AgentSessionAudit``: logins, refusals, takeovers, logouts and the break
  workflow (requested, approved, denied, forced…).

Agents are users (``user_account``); the agent's phone is the
``PhoneEndpoint`` whose ``user_id`` points at the user.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow

STRATEGIES = ("linear", "random", "round_robin", "ring_all", "longest_idle", "fewest_calls")
RECORDING = ("always", "never", "on_demand")
NO_AGENTS = ("wait", "leave", "overflow")  # keep waiting | hang up / message | overflow queue
BREAK_KINDS = ("free", "approval", "conditional", "supervisor")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Queue(Base):
    """A queue of one tenant, addressed by ``name`` (unique in the tenant).

    ``max_wait_s`` / ``max_waiting`` send the caller to ``overflow_queue_id``,
    or out of the ACD (``leave``) when there is no overflow queue. ``no_agents``
    says what happens when no member is logged in: ``wait``, ``leave`` or
    ``overflow``. ``sl_threshold_s`` is the service-level threshold;
    ``sticky_wait_s`` how long a returning caller waits for their last agent
    (0: off) and ``sticky_max_age_s`` how old that relationship may be.
    """

    __tablename__ = "acd_queue"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint(_in("strategy", STRATEGIES), name="strategy"),
        CheckConstraint(_in("recording", RECORDING), name="recording"),
        CheckConstraint(_in("no_agents", NO_AGENTS), name="no_agents"),
        CheckConstraint("skill_preference IN ('closest', 'highest')", name="skill_preference"),
        CheckConstraint("ring_timeout_s > 0 AND wrap_up_s >= 0", name="times"),
        CheckConstraint(
            "callback_key IS NULL OR callback_key IN ('0','1','2','3','4','5','6','7','8','9','*','#')",
            name="callback_key",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    strategy: Mapped[str] = mapped_column(String(20), default="longest_idle")
    ring_timeout_s: Mapped[float] = mapped_column(Float, default=20.0)
    wrap_up_s: Mapped[float] = mapped_column(Float, default=0.0)
    max_wait_s: Mapped[float | None] = mapped_column(Float)
    max_waiting: Mapped[int | None] = mapped_column(Integer)
    overflow_queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="SET NULL")
    )
    no_agents: Mapped[str] = mapped_column(String(10), default="wait")
    announce_every_s: Mapped[float | None] = mapped_column(Float, default=30.0)
    recording: Mapped[str] = mapped_column(String(10), default="always")
    sl_threshold_s: Mapped[float] = mapped_column(Float, default=20.0)
    sticky_wait_s: Mapped[float] = mapped_column(Float, default=0.0)
    sticky_max_age_s: Mapped[float | None] = mapped_column(Float)
    skill_preference: Mapped[str] = mapped_column(String(10), default="closest")
    aging_rate_per_s: Mapped[float] = mapped_column(Float, default=0.0)
    aging_max_bonus: Mapped[float | None] = mapped_column(Float)
    serve_order: Mapped[int] = mapped_column(Integer, default=0)  # ties between queues
    moh_class: Mapped[str] = mapped_column(String(80), default="default")
    # A waiting caller who presses this key (0-9, * or #) leaves a callback request and is
    # released; NULL: no callback from this queue.
    callback_key: Mapped[str | None] = mapped_column(String(1))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class QueueMember(Base):
    """An agent in a queue; members are ordered by ``penalty`` (then id): the
    linear strategy's order and the round-robin cycle."""

    __tablename__ = "acd_queue_member"
    __table_args__ = (UniqueConstraint("queue_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    penalty: Mapped[int] = mapped_column(Integer, default=0)


class AgentSkill(Base):
    """A skill of an agent at a level from 1 (novice) to 10 (expert)."""

    __tablename__ = "acd_agent_skill"
    __table_args__ = (
        UniqueConstraint("user_id", "skill"),
        CheckConstraint("level BETWEEN 1 AND 10", name="level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    skill: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer, default=1)


class AgentBreakReason(Base):
    """A break reason of a tenant. ``code`` is what the agent picks (digits, so
    a desk phone can dial ``*52<code>``). A tenant with no rows accepts any
    code as a free break."""

    __tablename__ = "acd_break_reason"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint(_in("kind", BREAK_KINDS), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(12), default="free")
    max_on_break: Mapped[int | None] = mapped_column(Integer)


class AgentStatusLog(Base):
    """One agent status transition (``from_status`` → ``to_status``)."""

    __tablename__ = "acd_agent_status_log"
    __table_args__ = (Index("ix_acd_agent_status_log_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    from_status: Mapped[str] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class QueueLog(Base):
    """One step of an interaction in a queue (see ``controlplane.acd.stats``)."""

    __tablename__ = "acd_queue_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("acd_queue.id", ondelete="SET NULL"), index=True
    )
    interaction_id: Mapped[str] = mapped_column(String(128), index=True)  # the call id
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    caller: Mapped[str] = mapped_column(String(64), default="", index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")


class AgentSessionAudit(Base):
    """Sessions (login, login_refused, takeover, logout) and the break workflow
    (``break_requested``, ``break_approved``…, ``by`` the supervisor)."""

    __tablename__ = "acd_agent_session_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    workstation: Mapped[str] = mapped_column(String(64), default="")
    previous_workstation: Mapped[str | None] = mapped_column(String(64))
    by: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
