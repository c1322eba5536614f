"""The writes of an outbound attempt's life: reserved, released, refused, finished, recovered.

What :mod:`controlplane.dialer.runner` does to the database around each call it places:
``reserve`` takes due records with the pure selection and writes their compliance rows
before anything is dialled; ``release`` and ``refuse`` undo a reservation the call side
did not dial; ``finish`` writes the result and moves the record on by the retry rules;
``recover`` closes, after a restart, attempts whose call is gone. Each function is
synchronous (the runner calls it in a thread) and one transaction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.dialer.callerid import NoCallerIdAvailable, choose_caller_id
from controlplane.dialer.live import AttemptResult
from controlplane.dialer.records import Outcome
from controlplane.dialer.retry import after_attempt
from controlplane.dialer.selection import select as select_records
from controlplane.dialer.store import (
    CampaignPlan,
    blacklists,
    count_usage,
    leg_for,
    record_of,
    usage,
    utc,
)
from controlplane.models.campaigns import CampaignRecord, Contact, ContactPhone, DialAttempt
from controlplane.webhooks import outbox as webhook_outbox

Factory = sessionmaker[Session]


@dataclass(frozen=True)
class Reserved:
    """A record taken for an attempt: its attempt row exists, the record is in_progress."""

    attempt_id: str
    record_id: int
    number: str
    caller_id: str


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
        # a number no outbound route takes is not dialled; it waits (a route added later
        # takes it) without being picked again and again ahead of the others
        records = [rec for rec in (record_of(r, p, c, plan.default_timezone) for r, p, c in rows)
                   if leg_for(plan, rec.number) is not None]
        picked = select_records(records, plan.strategy, now, n, window=plan.window,
                                blacklist=blacklists(s, plan), guaranteed_agent=guaranteed)
        used = usage(s, plan, now)
        for rec in picked.records:
            caller_id = ""
            if plan.caller_ids is not None:
                try:
                    choice = choose_caller_id(plan.caller_ids, rec, used, rng)
                except NoCallerIdAvailable:
                    break  # every number at its cap: dial nothing more today
                caller_id = choice.number
            # Claimed only if still dialable: an HLR job or a preview batch may have taken the
            # record since it was read (the conditional UPDATE decides, on both engines).
            claimed = s.execute(
                update(CampaignRecord)
                .where(CampaignRecord.id == rec.record_id,
                       CampaignRecord.state.in_(("fresh", "scheduled")))
                .values(state="in_progress", last_attempt_at=utc(now))
                .execution_options(synchronize_session=False))
            if cast(CursorResult[Any], claimed).rowcount != 1:
                continue
            if plan.caller_ids is not None:
                used = choice.add_to(used)
                count_usage(s, plan, caller_id, now)
            row = by_id[rec.record_id]
            leg = leg_for(plan, rec.number)
            attempt = DialAttempt(tenant_id=plan.tenant_id, campaign_id=plan.id,
                                  record_id=row.id, number=rec.number, caller_id=caller_id,
                                  trunk=leg.trunk if leg else plan.trunk, mode=plan.mode,
                                  dial_at=utc(now))
            s.add(attempt)
            s.flush()
            attempt_id = f"{plan.id}-{attempt.id}"
            attempt.call_id = f"campaign-{attempt_id}"
            taken.append(Reserved(attempt_id, row.id, rec.number, caller_id))
    return taken


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
        pure = record_of(record, phone, contact, plan.default_timezone)
        update = after_attempt(pure, Outcome.REFUSED, plan.rules, now, plan.regulator)
        record.state = update.state.value
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
        # webhooks: the same change, in the same transaction (the outbox)
        webhook_outbox.emit(s, "campaign.attempt_finished", attempt.tenant_id, {
            "attempt_id": attempt.id, "campaign_id": attempt.campaign_id,
            "record_id": attempt.record_id, "call_id": attempt.call_id,
            "number": attempt.number, "outcome": result.outcome,
            "amd_verdict": result.amd_verdict, "agent_user_id": agent_user_id,
            "hangup_cause": result.hangup_cause,
            "ended_at": result.ended_at.isoformat() if result.ended_at else None,
        }, key=(attempt.id,))
        if record.state != "in_progress":
            return record.state
        phone = s.get(ContactPhone, record.phone_id)
        contact = s.get(Contact, record.contact_id)
        assert phone is not None and contact is not None
        record.state = "fresh" if record.attempts == 0 else "scheduled"  # as it was dialled
        pure = record_of(record, phone, contact, plan.default_timezone)
        update = after_attempt(pure, Outcome(result.outcome), plan.rules, now, plan.regulator)
        record.state = update.state.value
        record.attempts = update.attempts
        record.outcome_counts = {str(k): v for k, v in update.outcome_counts}
        record.last_outcome = str(update.last_outcome) if update.last_outcome else None
        record.next_due_at = utc(update.next_due_at) if update.next_due_at else None
        record.locked_until = utc(update.locked_until) if update.locked_until else None
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
