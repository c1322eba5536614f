"""Outbound campaigns: campaigns and their records, recontacts, dispositions and the
compliance log. The miniCRM (contacts, phones, HLR results) is in
:mod:`controlplane.models.contacts`; the blacklist and the caller-ID pool are in
:mod:`controlplane.models.dial_lists` (both re-exported here, where callers have always
imported them from).

* ``CampaignRecord`` is a contact in a campaign (the row the dialer selects): state,
  attempts per outcome, when it is next due, compliance lockouts, a private agent.
* ``Recontact`` is a scheduled call-back of a record (private to an agent or for anyone).
* ``DialAttempt`` is the compliance log: one row per attempt, never deleted (its campaign
  and record cannot be deleted while it exists; only deleting the tenant removes it).

Conventions the dialer relies on: a higher ``priority`` dials sooner; times are UTC
(``UtcDateTime``) except the calling window, which is local time in the record's time
zone (the contact's, else the campaign's ``default_timezone``); ``window_days`` lists ISO
weekdays (1 = Monday … 7 = Sunday). A record is ``fresh`` until its first retry or
recontact makes it ``scheduled`` (private to ``assigned_user_id`` when set, else for
anyone), ``in_progress`` while an attempt is out; ``controlplane.dialer.store`` maps the
states onto the pure dialer's kinds. The JSON settings have the shapes of the pure
dialer's ``Strategy`` and ``RetryRules`` (``docs/dialer-records.md`` §3.2, §4).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk
from controlplane.models.contacts import E164_MAX as E164_MAX
from controlplane.models.contacts import HLR_STATUSES as HLR_STATUSES
from controlplane.models.contacts import PHONE_KINDS as PHONE_KINDS
from controlplane.models.contacts import Contact as Contact
from controlplane.models.contacts import ContactPhone as ContactPhone
from controlplane.models.contacts import HlrResult as HlrResult
from controlplane.models.dial_lists import BlacklistEntry as BlacklistEntry
from controlplane.models.dial_lists import CallerIdNumber as CallerIdNumber
from controlplane.models.dial_lists import CallerIdUsage as CallerIdUsage

KINDS = ("outbound", "inbound", "blended")
MODES = ("preview", "progressive", "predictive")
STATUSES = ("draft", "running", "paused", "finished")
# fixed | local presence | random draw from the pool (controlplane.dialer.store maps them)
CALLER_ID_MODES = ("fixed", "local", "pool")
REGULATORS = ("us", "uk")
RECONTACT_ORDERS = ("most_overdue", "least_overdue")
RETRY_OUTCOMES = ("no_answer", "busy", "machine", "failed", "abandoned")
RECORD_STATES = ("fresh", "scheduled", "in_progress", "done", "closed", "failed")
LOCK_REASONS = ("abandoned", "machine")
RECONTACT_STATUSES = ("scheduled", "moved", "cancelled", "done")
DISPOSITION_ACTIONS = ("none", "recontact", "close", "move")
OUTCOMES = (
    "human",
    "machine",
    "no_answer",
    "busy",
    "failed",
    "unallocated",
    "abandoned",
    "skipped",
    "refused",  # the outbound policy refused the number: never dialled, never retried
)

# The shapes of controlplane.dialer.selection.Strategy (percentage shares summing to 100)
# and controlplane.dialer.retry.DEFAULT_RETRY_RULES (docs/dialer-records.md §3.2, §4).
DEFAULT_DIALING_ORDER: dict[str, Any] = {
    "fresh": 60,
    "private": 30,
    "system": 10,
    "recontact_order": "most_overdue",  # or "least_overdue"
    "private_grace_s": None,  # None: a private recontact waits for its agent
}
DEFAULT_RETRY_RULES: dict[str, dict[str, int]] = {
    "no_answer": {"max_attempts": 3, "interval_s": 7200},
    "busy": {"max_attempts": 3, "interval_s": 900},
    "machine": {"max_attempts": 2, "interval_s": 86400},  # UK: no redial within 24 h
    "failed": {"max_attempts": 3, "interval_s": 1800},
    "abandoned": {"max_attempts": 2, "interval_s": 259200},  # UK: 72 h without an agent
}


class Campaign(Base):
    """A campaign of one tenant, ``name`` unique in the tenant.

    ``queue_id`` is the queue whose agents work it. ``dialing_order`` holds the
    shares of fresh records, private and system recontacts and the recontact order
    (see :data:`DEFAULT_DIALING_ORDER`); ``retry_rules`` maps each of
    :data:`RETRY_OUTCOMES` to ``{"max_attempts", "interval_s"}``; ``max_attempts`` caps
    attempts of a record over all outcomes. ``target_abandon_rate`` is what pacing aims
    at, never above the regulators' 3 % cap.
    """

    __tablename__ = "campaign"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(one_of("mode", MODES), name="mode"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(one_of("caller_id_mode", CALLER_ID_MODES), name="caller_id_mode"),
        CheckConstraint(one_of("regulator", REGULATORS), name="regulator"),
        CheckConstraint("target_abandon_rate > 0 AND target_abandon_rate <= 0.03", name="abandon"),
        CheckConstraint("max_attempts > 0 AND preview_batch_size > 0", name="counts"),
        CheckConstraint("ring_timeout_s >= 15", name="ring_timeout"),  # US: ring at least 15 s
        CheckConstraint(
            "caller_id_mode <> 'fixed' OR fixed_caller_id IS NOT NULL", name="fixed_caller_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10), default="outbound")
    mode: Mapped[str] = mapped_column(String(12), default="progressive")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("acd_queue.id", ondelete="SET NULL"))
    default_region: Mapped[str] = mapped_column(String(2), default="PL")
    default_timezone: Mapped[str] = mapped_column(String(64), default="Europe/Warsaw")
    caller_id_mode: Mapped[str] = mapped_column(String(8), default="pool")
    fixed_caller_id: Mapped[str | None] = mapped_column(String(32))
    window_start: Mapped[time] = mapped_column(Time, default=time(9, 0))
    window_end: Mapped[time] = mapped_column(Time, default=time(20, 0))
    window_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1, 2, 3, 4, 5])
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    ring_timeout_s: Mapped[float] = mapped_column(Float, default=20.0)
    target_abandon_rate: Mapped[float] = mapped_column(Float, default=0.03)
    regulator: Mapped[str] = mapped_column(String(2), default="uk")
    preview_batch_size: Mapped[int] = mapped_column(Integer, default=10)
    dialing_order: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=lambda: dict(DEFAULT_DIALING_ORDER)
    )
    retry_rules: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=lambda: {k: dict(v) for k, v in DEFAULT_RETRY_RULES.items()}
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Set when "deleted" while it has attempts (the compliance log keeps its campaign).
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CampaignRecord(Base):
    """A contact in a campaign; ``phone_id`` is the number to dial.

    ``outcome_counts`` counts attempts per outcome (for per-outcome retry limits);
    ``locked_until``/``lock_reason`` is a compliance lockout (no redial without a
    guaranteed agent before then); ``assigned_user_id`` makes the record a private
    recontact of that agent.
    """

    __tablename__ = "campaign_record"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        CheckConstraint(one_of("state", RECORD_STATES), name="state"),
        CheckConstraint("lock_reason IS NULL OR " + one_of("lock_reason", LOCK_REASONS), name="lock"),
        CheckConstraint("priority BETWEEN 0 AND 100 AND attempts >= 0", name="numbers"),
        Index("ix_campaign_record_due", "campaign_id", "state", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    phone_id: Mapped[int] = mapped_column(ForeignKey("contact_phone.id", ondelete="CASCADE"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(12), default="fresh")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    last_outcome: Mapped[str | None] = mapped_column(String(12))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lock_reason: Mapped[str | None] = mapped_column(String(10))
    assigned_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Recontact(Base):
    """A scheduled call-back of a record: for ``user_id`` only (private) or anyone (None).
    Moving one marks it ``moved`` and schedules a new row whose ``moved_from_id`` points
    back, so the history stays."""

    __tablename__ = "recontact"
    __table_args__ = (
        CheckConstraint(one_of("status", RECONTACT_STATUSES), name="status"),
        Index("ix_recontact_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    record_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_record.id", ondelete="CASCADE"), index=True
    )
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    reminder_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    moved_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("recontact.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Disposition(Base):
    """A classifier an agent sets after a call: of every campaign of the tenant (no
    campaign) or one. ``action`` follows: ``recontact`` after ``action_delay_s`` (or
    when the agent says), private to the agent if ``recontact_private``; ``close`` the
    record; ``move`` it to ``action_campaign_id``."""

    __tablename__ = "disposition"
    __table_args__ = (
        CheckConstraint(one_of("action", DISPOSITION_ACTIONS), name="action"),
        CheckConstraint("action_delay_s IS NULL OR action_delay_s > 0", name="recontact_delay"),
        CheckConstraint("action <> 'move' OR action_campaign_id IS NOT NULL", name="move_target"),
        Index("ix_disposition_scope_code", "tenant_id", "campaign_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(100), default="")
    success: Mapped[bool] = mapped_column(default=False)
    action: Mapped[str] = mapped_column(String(10), default="none")
    action_delay_s: Mapped[int | None] = mapped_column(Integer)  # None: the agent says when
    recontact_private: Mapped[bool] = mapped_column(default=True)  # for the disposing agent
    # no ON DELETE: a campaign that dispositions move records to cannot be deleted
    action_campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))


class DialAttempt(Base):
    """The compliance log: one row per attempt, written as the attempt progresses and keyed
    by ``call_id`` (the call record's id) so a restarted daemon upserts instead of doubling.
    The FKs to campaign, record and agent have no ON DELETE on purpose: logged rows keep
    them from being deleted."""

    __tablename__ = "dial_attempt"
    __table_args__ = (
        CheckConstraint("outcome IS NULL OR " + one_of("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(one_of("mode", MODES), name="mode"),
        Index("ix_dial_attempt_campaign_dial_at", "campaign_id", "dial_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    record_id: Mapped[int] = mapped_column(ForeignKey("campaign_record.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    number: Mapped[str] = mapped_column(String(E164_MAX))
    caller_id: Mapped[str | None] = mapped_column(String(32))
    trunk: Mapped[str | None] = mapped_column(String(64))
    agent_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    mode: Mapped[str] = mapped_column(String(12))
    dial_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answer_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    greeting_end_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    amd_decision_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    agent_connect_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message_start_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    amd_verdict: Mapped[str | None] = mapped_column(String(10))
    outcome: Mapped[str | None] = mapped_column(String(12))
    abandoned: Mapped[bool] = mapped_column(default=False)
    disposition_code: Mapped[str | None] = mapped_column(String(32))
    hangup_cause: Mapped[int | None] = mapped_column(Integer)
    hangup_cause_txt: Mapped[str | None] = mapped_column(String(64))

