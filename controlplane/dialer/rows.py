"""The campaign tables as the pure dialer sees them, and the writes of the campaign runner.

Reading (``running_campaigns``, ``due_records``) maps rows of
:mod:`controlplane.models.campaigns` onto the pure vocabulary of
:mod:`controlplane.dialer.records`; writing (``reserve``, ``finish``, ``recover``) is what
:mod:`controlplane.dialer.runner` does to the database. All functions are synchronous
(the runner calls them in a thread) and each is one transaction.

Record states in the table and in the pure core:

    row.state     pure kind / state                 dialled?
    fresh         FRESH / SCHEDULED                 when due
    scheduled     SYSTEM_RECONTACT (PRIVATE when     when due
                  assigned_user_id is set) / SCHEDULED
    in_progress   — (an attempt is out)              no
    done / closed / failed                           no
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.dialer import compliance
from controlplane.dialer.callerid import (
    CallerIdMode,
    CallerIdPolicy,
    NoCallerIdAvailable,
    PoolNumber,
    choose_caller_id,
)
from controlplane.dialer.live import AttemptResult
from controlplane.dialer.records import (
    Blacklist,
    CallingWindow,
    DialRecord,
    Outcome,
    RecordKind,
    RecordState,
    RetryRule,
)
from controlplane.dialer.retry import RetryRules, after_attempt
from controlplane.dialer.selection import RecontactOrder, Strategy
from controlplane.dialer.selection import select as select_records
from controlplane.models import Trunk
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    BlacklistEntry,
    CallerIdNumber,
    CallerIdUsage,
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
)

Factory = sessionmaker[Session]
ABANDON_MESSAGE = ("We are sorry, all our consultants are busy right now. "
                   "We will call you again. Goodbye.")
_STATE_OF = {RecordState.DONE: "done", RecordState.CLOSED: "closed",
             RecordState.FAILED: "failed", RecordState.SCHEDULED: "scheduled"}
_CALLER_ID_MODE = {"fixed": CallerIdMode.FIXED, "local": CallerIdMode.LOCAL_PRESENCE,
                   "pool": CallerIdMode.RANDOM}


@dataclass(frozen=True)
class CampaignPlan:
    """A running campaign, read once per tick."""

    id: int
    tenant_id: int
    name: str
    mode: str
    queue: str
    trunk: str
    regulator: compliance.Regulator
    ring_timeout_s: int
    window: CallingWindow
    strategy: Strategy
    rules: RetryRules
    caller_ids: CallerIdPolicy | None
    default_timezone: str
    target_abandon_rate: float


@dataclass(frozen=True)
class Reserved:
    """A record taken for an attempt: its attempt row exists, the record is in_progress."""

    attempt_id: str
    record_id: int
    number: str
    caller_id: str


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _epoch(d: datetime | None) -> float | None:
    return None if d is None else d.timestamp()


def running_campaigns(db: Factory) -> list[CampaignPlan]:
    """Outbound campaigns with status ``running``, a queue and a trunk (others are skipped)."""
    out = []
    with db() as s:
        rows = s.scalars(select(Campaign).where(Campaign.status == "running",
                                                Campaign.kind != "inbound")).all()
        for c in rows:
            queue = s.get(Queue, c.queue_id) if c.queue_id is not None else None
            trunk = s.scalars(select(Trunk).where(Trunk.tenant_id == c.tenant_id)
                              .order_by(Trunk.id)).first()
            if queue is None or trunk is None:
                continue
            out.append(CampaignPlan(
                id=c.id, tenant_id=c.tenant_id, name=c.name, mode=c.mode, queue=queue.name,
                trunk=trunk.name,
                regulator=compliance.UK_OFCOM if c.regulator == "uk" else compliance.US_TSR,
                ring_timeout_s=max(15, round(c.ring_timeout_s)),
                window=CallingWindow(c.window_start, c.window_end,
                                     frozenset(d - 1 for d in c.window_days)),
                strategy=_strategy(c.dialing_order),
                rules=_rules(c.max_attempts, c.retry_rules),
                caller_ids=_caller_ids(s, c),
                default_timezone=c.default_timezone,
                target_abandon_rate=c.target_abandon_rate,
            ))
    return out


def _strategy(order: dict[str, Any]) -> Strategy:
    grace = order.get("private_grace_s")
    return Strategy(fresh=int(order.get("fresh", 100)), private=int(order.get("private", 0)),
                    system=int(order.get("system", 0)),
                    recontact_order=RecontactOrder(order.get("recontact_order", "most_overdue")),
                    private_grace_s=None if grace is None else float(grace))


def _rules(max_attempts: int, rules: dict[str, Any]) -> RetryRules:
    per = {Outcome(k): RetryRule(int(v["max_attempts"]), float(v["interval_s"]))
           for k, v in rules.items() if k not in ("human", "unallocated")}
    return RetryRules(max_attempts, per)


def _caller_ids(s: Session, c: Campaign) -> CallerIdPolicy | None:
    rows = s.scalars(select(CallerIdNumber).where(
        CallerIdNumber.tenant_id == c.tenant_id,
        or_(CallerIdNumber.campaign_id.is_(None), CallerIdNumber.campaign_id == c.id))).all()
    mode = _CALLER_ID_MODE[c.caller_id_mode]
    if mode is CallerIdMode.FIXED:
        return CallerIdPolicy(mode, fixed=c.fixed_caller_id)
    if not rows:
        return None  # no pool: the trunk's own number is presented
    caps = [r.daily_cap for r in rows if r.daily_cap]
    return CallerIdPolicy(mode, pool=tuple(PoolNumber(r.number, region=r.region) for r in rows),
                          tainted=frozenset(r.number for r in rows if r.tainted),
                          daily_cap=min(caps) if caps else None)


def _record(row: CampaignRecord, phone: ContactPhone, contact: Contact, tz: str) -> DialRecord:
    kind = RecordKind.FRESH
    if row.state == "scheduled":
        kind = (RecordKind.PRIVATE_RECONTACT if row.assigned_user_id is not None
                else RecordKind.SYSTEM_RECONTACT)
    return DialRecord(
        record_id=row.id, contact_id=row.contact_id, number=phone.number,
        timezone=contact.timezone or tz, kind=kind, priority=row.priority,
        attempts=row.attempts,
        outcome_counts=tuple((Outcome(k), int(v)) for k, v in sorted(row.outcome_counts.items())),
        last_outcome=Outcome(row.last_outcome) if row.last_outcome else None,
        next_due_at=_epoch(row.next_due_at), locked_until=_epoch(row.locked_until),
        assigned_user=str(row.assigned_user_id) if row.assigned_user_id else None,
        region=phone.region,
    )


def _blacklists(s: Session, plan: CampaignPlan) -> list[Blacklist]:
    rows = s.scalars(select(BlacklistEntry).where(
        or_(BlacklistEntry.tenant_id.is_(None), BlacklistEntry.tenant_id == plan.tenant_id),
        or_(BlacklistEntry.campaign_id.is_(None), BlacklistEntry.campaign_id == plan.id))).all()
    lists = []
    for scope, chosen in (("platform", [r for r in rows if r.tenant_id is None]),
                          ("tenant", [r for r in rows if r.tenant_id is not None
                                      and r.campaign_id is None]),
                          (f"campaign {plan.name}", [r for r in rows if r.campaign_id is not None])):
        if chosen:
            lists.append(Blacklist(frozenset(r.pattern for r in chosen if not r.is_prefix),
                                   tuple(r.pattern for r in chosen if r.is_prefix), scope))
    return lists


def reserve(db: Factory, plan: CampaignPlan, n: int, now: float, *, guaranteed: bool,
            rng: random.Random) -> list[Reserved]:
    """Pick up to ``n`` due records, mark them ``in_progress`` and write their attempt rows
    (``dial_at`` = now) in one transaction, so a crash can never dial a record twice."""
    if n <= 0:
        return []
    taken: list[Reserved] = []
    with transaction(db) as s:
        rows = s.execute(
            select(CampaignRecord, ContactPhone, Contact)
            .join(ContactPhone, ContactPhone.id == CampaignRecord.phone_id)
            .join(Contact, Contact.id == CampaignRecord.contact_id)
            .where(CampaignRecord.campaign_id == plan.id,
                   CampaignRecord.state.in_(("fresh", "scheduled")))
            .order_by(CampaignRecord.priority.desc(), CampaignRecord.id)
            .limit(max(200, n * 20))
        ).all()
        by_id = {r.id: r for r, _, _ in rows}
        records = [_record(r, p, c, plan.default_timezone) for r, p, c in rows]
        picked = select_records(records, plan.strategy, now, n, window=plan.window,
                                blacklist=_blacklists(s, plan), guaranteed_agent=guaranteed)
        usage = _usage(s, plan, now)
        for rec in picked.records:
            caller_id = ""
            if plan.caller_ids is not None:
                try:
                    choice = choose_caller_id(plan.caller_ids, rec, usage, rng)
                except NoCallerIdAvailable:
                    break  # every number at its cap: dial nothing more today
                caller_id = choice.number
            # Claimed only if still dialable: an HLR job or a preview batch may have taken the
            # record since it was read (the conditional UPDATE decides, on both engines).
            claimed = s.execute(
                update(CampaignRecord)
                .where(CampaignRecord.id == rec.record_id,
                       CampaignRecord.state.in_(("fresh", "scheduled")))
                .values(state="in_progress", last_attempt_at=_utc(now))
                .execution_options(synchronize_session=False))
            if cast(CursorResult[Any], claimed).rowcount != 1:
                continue
            if plan.caller_ids is not None:
                usage = choice.add_to(usage)
                _count_usage(s, plan, caller_id, now)
            row = by_id[rec.record_id]
            attempt = DialAttempt(tenant_id=plan.tenant_id, campaign_id=plan.id,
                                  record_id=row.id, number=rec.number, caller_id=caller_id,
                                  trunk=plan.trunk, mode=plan.mode, dial_at=_utc(now))
            s.add(attempt)
            s.flush()
            attempt_id = f"{plan.id}-{attempt.id}"
            attempt.call_id = f"campaign-{attempt_id}"
            taken.append(Reserved(attempt_id, row.id, rec.number, caller_id))
    return taken


def _usage(s: Session, plan: CampaignPlan, now: float) -> dict[str, int]:
    day = _utc(now).date()
    rows = s.execute(select(CallerIdNumber.number, CallerIdUsage.count)
                     .join(CallerIdUsage, CallerIdUsage.number_id == CallerIdNumber.id)
                     .where(CallerIdNumber.tenant_id == plan.tenant_id,
                            CallerIdUsage.day == day)).all()
    return {number: count for number, count in rows}


def _count_usage(s: Session, plan: CampaignPlan, number: str, now: float) -> None:
    num = s.scalar(select(CallerIdNumber).where(CallerIdNumber.tenant_id == plan.tenant_id,
                                                CallerIdNumber.number == number))
    if num is None:
        return
    day: date = _utc(now).date()
    usage = s.scalar(select(CallerIdUsage).where(CallerIdUsage.number_id == num.id,
                                                 CallerIdUsage.day == day))
    if usage is None:
        s.add(CallerIdUsage(number_id=num.id, day=day, count=1))
    else:
        usage.count += 1


def release(db: Factory, attempt_id: str, reason: str) -> None:
    """An attempt that was never dialled (refused by the call side): the record is due
    again at once and the attempt row says why (outcome ``failed``)."""
    with transaction(db) as s:
        attempt = s.get(DialAttempt, int(attempt_id.split("-")[1]))
        if attempt is None:
            return
        record = s.get(CampaignRecord, attempt.record_id)
        attempt.outcome, attempt.hangup_cause_txt = "failed", reason[:64]
        attempt.ended_at = attempt.dial_at
        if record is not None and record.state == "in_progress":
            record.state = "fresh" if record.attempts == 0 else "scheduled"


def refuse(db: Factory, plan: CampaignPlan, attempt_id: str, reason: str, *, final: bool,
           now: float) -> str:
    """An attempt the toll-fraud guard refused before dialling: the attempt row's outcome is
    ``refused`` with the reason. ``final`` (the number may not be called): the record is
    failed, never retried; otherwise (a cap) it is due again, no attempt counted. Returns
    the record's new state."""
    with transaction(db) as s:
        attempt = s.get(DialAttempt, int(attempt_id.split("-")[1]))
        if attempt is None:
            return "unknown"
        record = s.get(CampaignRecord, attempt.record_id)
        attempt.outcome, attempt.hangup_cause_txt = "refused", reason[:64]
        attempt.ended_at = attempt.dial_at
        if record is None or record.state != "in_progress":
            return record.state if record else "unknown"
        record.state = "fresh" if record.attempts == 0 else "scheduled"  # as it was
        if not final:
            return record.state
        phone = s.get(ContactPhone, record.phone_id)
        contact = s.get(Contact, record.contact_id)
        assert phone is not None and contact is not None
        pure = _record(record, phone, contact, plan.default_timezone)
        update = after_attempt(pure, Outcome.REFUSED, plan.rules, now, plan.regulator)
        record.state = _STATE_OF[update.state]
        record.outcome_counts = {str(k): v for k, v in update.outcome_counts}
        record.last_outcome = str(update.last_outcome) if update.last_outcome else None
        record.next_due_at = None
        return record.state


def finish(db: Factory, plan: CampaignPlan, result: AttemptResult, now: float,
           agent_user_id: int | None) -> str:
    """Write an attempt's result to its compliance row and move its record on (retry rules,
    lockouts). Idempotent: a result for a row already ended changes nothing. Returns the
    record's new state."""
    with transaction(db) as s:
        attempt = s.scalar(select(DialAttempt).where(DialAttempt.call_id == result.call_id))
        if attempt is None:
            return "unknown"
        record = s.get(CampaignRecord, attempt.record_id)
        if attempt.outcome is not None or record is None:
            return record.state if record else "unknown"
        for name in ("answer_at", "greeting_end_at", "amd_decision_at", "agent_connect_at",
                     "message_start_at", "ended_at"):
            setattr(attempt, name, getattr(result, name))
        attempt.amd_verdict, attempt.outcome = result.amd_verdict, result.outcome
        attempt.abandoned = result.outcome == "abandoned"
        attempt.hangup_cause, attempt.hangup_cause_txt = result.hangup_cause, result.hangup_cause_txt
        attempt.agent_user_id = agent_user_id
        if record.state != "in_progress":
            return record.state
        phone = s.get(ContactPhone, record.phone_id)
        contact = s.get(Contact, record.contact_id)
        assert phone is not None and contact is not None
        record.state = "fresh" if record.attempts == 0 else "scheduled"  # as it was dialled
        pure = _record(record, phone, contact, plan.default_timezone)
        update = after_attempt(pure, Outcome(result.outcome), plan.rules, now, plan.regulator)
        record.state = _STATE_OF[update.state]
        record.attempts = update.attempts
        record.outcome_counts = {str(k): v for k, v in update.outcome_counts}
        record.last_outcome = str(update.last_outcome) if update.last_outcome else None
        record.next_due_at = _utc(update.next_due_at) if update.next_due_at else None
        record.locked_until = _utc(update.locked_until) if update.locked_until else None
        if update.locked_until:
            record.lock_reason = "abandoned" if result.outcome == "abandoned" else "machine"
        return record.state


def recover(db: Factory, live_call_ids: set[str]) -> int:
    """After a restart: attempts still open whose call no longer exists in Asterisk are
    closed as ``failed`` (their record due again); returns how many. Attempts whose call is
    live are left to finish (their result arrives as usual)."""
    n = 0
    with transaction(db) as s:
        open_rows = s.scalars(select(DialAttempt).where(DialAttempt.outcome.is_(None))).all()
        for attempt in open_rows:
            if attempt.call_id in live_call_ids:
                continue
            attempt.outcome, attempt.hangup_cause_txt = "failed", "control plane restarted"
            attempt.ended_at = attempt.ended_at or attempt.dial_at
            record = s.get(CampaignRecord, attempt.record_id)
            if record is not None and record.state == "in_progress":
                record.state = "fresh" if record.attempts == 0 else "scheduled"
            n += 1
    return n


def counts(db: Factory, campaign_id: int) -> dict[str, int]:
    """Records per state (for the runner's log, the CLI and the tests)."""
    with db() as s:
        rows = s.execute(select(CampaignRecord.state, func.count()).where(
            CampaignRecord.campaign_id == campaign_id).group_by(CampaignRecord.state)).all()
    return {state: n for state, n in rows}


# ---- preview campaigns (controlplane.dialer.preview_rows) ----

def plan_for(s: Session, c: Campaign) -> CampaignPlan | None:
    """The plan of campaign ``c`` whatever its status and mode (a preview campaign needs no
    queue: ``queue`` is then ""); None when the tenant has no trunk to dial over."""
    queue = s.get(Queue, c.queue_id) if c.queue_id is not None else None
    trunk = s.scalars(select(Trunk).where(Trunk.tenant_id == c.tenant_id)
                      .order_by(Trunk.id)).first()
    if trunk is None:
        return None
    return CampaignPlan(
        id=c.id, tenant_id=c.tenant_id, name=c.name, mode=c.mode,
        queue=queue.name if queue is not None else "", trunk=trunk.name,
        regulator=compliance.UK_OFCOM if c.regulator == "uk" else compliance.US_TSR,
        ring_timeout_s=max(15, round(c.ring_timeout_s)),
        window=CallingWindow(c.window_start, c.window_end,
                             frozenset(d - 1 for d in c.window_days)),
        strategy=_strategy(c.dialing_order), rules=_rules(c.max_attempts, c.retry_rules),
        caller_ids=_caller_ids(s, c), default_timezone=c.default_timezone,
        target_abandon_rate=c.target_abandon_rate,
    )


def record_of(row: CampaignRecord, phone: ContactPhone, contact: Contact, tz: str) -> DialRecord:
    """``row`` as the pure dialer sees it (the mapping ``reserve`` uses); ``tz``: the
    campaign's default time zone."""
    return _record(row, phone, contact, tz)


def blacklists(s: Session, plan: CampaignPlan) -> list[Blacklist]:
    """The platform's, the tenant's and the campaign's blacklists for ``plan``."""
    return _blacklists(s, plan)


def present_caller_id(s: Session, plan: CampaignPlan, rec: DialRecord, now: float,
                      rng: random.Random) -> str:
    """Choose the caller ID of one attempt on ``rec`` and count its use today ("": the
    trunk's own number). Raises ``NoCallerIdAvailable`` when every number is capped."""
    if plan.caller_ids is None:
        return ""
    choice = choose_caller_id(plan.caller_ids, rec, _usage(s, plan, now), rng)
    _count_usage(s, plan, choice.number, now)
    return choice.number
