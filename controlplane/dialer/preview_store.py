"""Preview campaigns in the database: an agent's batch, a record dialled, a record skipped.

Theory of operation: in a preview campaign the agent sees a record before anything is
dialled. The record states of :mod:`controlplane.models.campaigns` are used as they are;
the batch is a *hold* on the record:

    row.state     assigned_user_id   open preview attempt      meaning
    fresh /       owner or none      —                         waiting; the pure selection
    scheduled                                                  decides (calling hours, …)
    in_progress   the agent          —                         HELD in the agent's batch
    in_progress   owner or none      yes, ``agent_user_id``    being DIALLED by that agent

A hold borrows ``assigned_user_id``. Whose private recontact a record really is, is
kept in its ``scheduled`` ``Recontact`` row (dispositions and the recontact functions
always write one), and ownership is put back from there the moment the hold ends (the
record is dialled, skipped or released), so a retried record is private only if it was.

* :func:`batch` returns the agent's batch, or (when every record of it was tried or
  skipped) takes the next one: up to ``preview_batch_size`` due records, the agent's own
  private recontacts first, then the campaign's dialling order (pure selection with
  ``agent=`` the user and an agent guaranteed: the agent is on the line before the
  customer). A conditional UPDATE takes each record, so two agents never hold one record.
* :func:`open_attempt` writes the ``dial_attempt`` row (mode ``preview``, the campaign's
  caller ID) before the agent's phone is rung; its call id is ``preview-<campaign>-<id>``.
* :func:`finish_call` fills the row when the call is over and moves the record on by
  ``retry.after_attempt`` (``attempt_store.finish``); :func:`close_unconnected` closes a row whose
  call never reached the customer because the agent's phone did not take it (outcome
  ``failed``, no attempt counted, the record stays in the batch).
* :func:`skip` marks a held record tried without dialling: outcome ``skipped``, no
  attempt counted, no compliance row (nothing was dialled); the campaign's ``skipped``
  retry rule applies, else :data:`DEFAULT_SKIP_RULE` (again in an hour, closed after 3
  skips), so a skipped record does not come straight back in the next batch.

Every function is synchronous and one transaction (the daemon calls them in a thread).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.dialer import attempt_store, store
from controlplane.dialer.exceptions import NoCallerIdAvailable
from controlplane.dialer.exceptions import PreviewError as PreviewError
from controlplane.dialer.live import AttemptResult
from controlplane.dialer.records import Outcome, RecordKind, RetryRule
from controlplane.dialer.retry import RetryRules, after_attempt
from controlplane.dialer.selection import select as select_records
from controlplane.models import PhoneEndpoint
from controlplane.models.acd import QueueMember
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Recontact,
)

Factory = sessionmaker[Session]
CALL_PREFIX = "preview-"
DEFAULT_SKIP_RULE = RetryRule(max_attempts=3, interval_s=3600.0)
WAITING = ("fresh", "scheduled")


@dataclass(frozen=True)
class BatchItem:
    """One record of an agent's batch as the panel shows it."""

    record_id: int
    number: str
    name: str
    kind: str  # fresh | private_recontact | system_recontact (as it was when taken)
    status: str  # ready | dialling
    attempt_id: int | None
    attempts: int
    last_outcome: str | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Dial:
    """An attempt written and about to be dialled: ring ``endpoint``, then ``number``."""

    attempt_id: int
    call_id: str
    campaign_id: int
    record_id: int
    number: str
    caller_id: str
    endpoint: str
    extension: str


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _waiting_state(rec: CampaignRecord) -> str:
    """The state a held record goes back to: ``fresh`` if never tried, else ``scheduled``."""
    return "fresh" if rec.attempts == 0 and not rec.outcome_counts and not rec.last_outcome \
        else "scheduled"


def _campaign(s: Session, tenant_id: int, campaign_id: int, *, running: bool) -> Campaign:
    c = s.get(Campaign, campaign_id)
    if c is None or c.tenant_id != tenant_id:
        raise PreviewError("not_found", f"no campaign #{campaign_id} in this tenant")
    if c.mode != "preview":
        raise PreviewError("not_preview", f"campaign {c.name!r} is {c.mode}, not preview")
    if running and c.status != "running":
        raise PreviewError("not_running", f"campaign {c.name!r} is {c.status}, not running")
    return c


def may_work(s: Session, c: Campaign, user_id: int) -> bool:
    """Whether ``user_id`` works ``c``: a member of its queue, or anyone without a queue."""
    if c.queue_id is None:
        return True
    return s.scalar(select(QueueMember.id).where(QueueMember.queue_id == c.queue_id,
                                                 QueueMember.user_id == user_id)) is not None


def owner_of(s: Session, record: CampaignRecord) -> int | None:
    """The agent whose private recontact ``record`` is (its scheduled recontact's user)."""
    return s.scalar(select(Recontact.user_id).where(
        Recontact.record_id == record.id, Recontact.status == "scheduled")
        .order_by(Recontact.id.desc()).limit(1))


def _items(s: Session, c: Campaign, user_id: int) -> list[BatchItem]:
    dialling = {a.record_id: a for a in s.scalars(select(DialAttempt).where(
        DialAttempt.campaign_id == c.id, DialAttempt.outcome.is_(None),
        DialAttempt.mode == "preview", DialAttempt.agent_user_id == user_id))}
    found = s.execute(
        select(CampaignRecord, ContactPhone, Contact)
        .join(ContactPhone, ContactPhone.id == CampaignRecord.phone_id)
        .join(Contact, Contact.id == CampaignRecord.contact_id)
        .where(CampaignRecord.campaign_id == c.id, CampaignRecord.state == "in_progress",
               (CampaignRecord.assigned_user_id == user_id)
               | CampaignRecord.id.in_(list(dialling) or [-1]))
    ).all()
    out = []
    for rec, phone, contact in found:
        attempt = dialling.get(rec.id)
        private = rec.assigned_user_id == user_id and owner_of(s, rec) == user_id
        kind = ("private_recontact" if private else
                "fresh" if _waiting_state(rec) == "fresh" else "system_recontact")
        out.append(BatchItem(
            record_id=rec.id, number=phone.number,
            name=" ".join(p for p in (contact.first_name, contact.last_name) if p),
            kind=kind, status="dialling" if attempt else "ready",
            attempt_id=attempt.id if attempt else None, attempts=rec.attempts,
            last_outcome=rec.last_outcome))
    out.sort(key=lambda i: (i.kind != "private_recontact", i.record_id))
    return out


def current_batch(db: Factory, tenant_id: int, user_id: int, campaign_id: int) -> list[BatchItem]:
    """The agent's batch as it is (nothing taken)."""
    with db() as s:
        return _items(s, _campaign(s, tenant_id, campaign_id, running=False), user_id)


def batch(db: Factory, tenant_id: int, user_id: int, campaign_id: int,
          now: float) -> list[BatchItem]:
    """The agent's batch; a new one when every record of the last was tried or skipped."""
    with transaction(db) as s:
        c = _campaign(s, tenant_id, campaign_id, running=True)
        if not may_work(s, c, user_id):
            raise PreviewError("forbidden", f"you are not an agent of campaign {c.name!r}")
        items = _items(s, c, user_id)
        if items:
            return items
        plan = store.plan_for(s, c)
        if plan is None:
            raise PreviewError("no_trunk", f"campaign {c.name!r}: the tenant has no trunk")
        query = (select(CampaignRecord, ContactPhone, Contact)
                 .join(ContactPhone, ContactPhone.id == CampaignRecord.phone_id)
                 .join(Contact, Contact.id == CampaignRecord.contact_id)
                 .where(CampaignRecord.campaign_id == c.id, CampaignRecord.state.in_(WAITING)))
        n = c.preview_batch_size
        own = s.execute(query.where(CampaignRecord.assigned_user_id == user_id,
                                    CampaignRecord.state == "scheduled")
                        .order_by(CampaignRecord.next_due_at).limit(n * 20)).all()
        rest = s.execute(query.order_by(CampaignRecord.priority.desc(), CampaignRecord.id)
                         .limit(max(200, n * 20))).all()
        tz = plan.default_timezone
        records = {r.id: store.record_of(r, p, ct, tz) for r, p, ct in [*own, *rest]}
        kw: dict[str, Any] = {"window": plan.window, "agent": str(user_id),
                              "blacklist": store.blacklists(s, plan), "guaranteed_agent": True}
        mine = [r for r in records.values() if r.kind is RecordKind.PRIVATE_RECONTACT
                and r.assigned_user == str(user_id)]
        first = select_records(mine, plan.strategy, now, n, **kw).records
        taken = {r.record_id for r in first}
        others = [r for r in records.values() if r.record_id not in taken]
        second = select_records(others, plan.strategy, now, n - len(first), **kw).records
        for rec in (*first, *second):
            s.execute(update(CampaignRecord)
                      .where(CampaignRecord.id == rec.record_id,
                             CampaignRecord.state.in_(WAITING))
                      .values(state="in_progress", assigned_user_id=user_id)
                      .execution_options(synchronize_session=False))
        s.expire_all()
        return _items(s, c, user_id)


def _held(s: Session, c: Campaign, user_id: int, record_id: int) -> CampaignRecord:
    rec = s.get(CampaignRecord, record_id)
    if rec is None or rec.campaign_id != c.id:
        raise PreviewError("not_found", f"no record #{record_id} in campaign {c.name!r}")
    busy = s.scalar(select(DialAttempt.id).where(DialAttempt.record_id == rec.id,
                                                 DialAttempt.outcome.is_(None)))
    if busy is not None:
        raise PreviewError("in_progress", f"record #{rec.id} is being dialled (attempt {busy})")
    if rec.state != "in_progress" or rec.assigned_user_id != user_id:
        raise PreviewError("not_in_batch", f"record #{rec.id} is not in your batch")
    return rec


def open_attempt(db: Factory, tenant_id: int, user_id: int, campaign_id: int, record_id: int,
                 now: float, rng: random.Random) -> Dial:
    """Write the attempt row of a held record and return what to dial."""
    with transaction(db) as s:
        c = _campaign(s, tenant_id, campaign_id, running=True)
        rec = _held(s, c, user_id, record_id)
        phone_ep = s.scalars(select(PhoneEndpoint).where(PhoneEndpoint.user_id == user_id)
                             .order_by(PhoneEndpoint.id)).first()
        if phone_ep is None:
            raise PreviewError("no_phone", "you have no phone to ring: ask an admin for one")
        plan = store.plan_for(s, c)
        if plan is None:
            raise PreviewError("no_trunk", f"campaign {c.name!r}: the tenant has no trunk")
        phone = s.get(ContactPhone, rec.phone_id)
        contact = s.get(Contact, rec.contact_id)
        assert phone is not None and contact is not None  # foreign keys
        leg = store.leg_for(plan, phone.number)  # the call itself is routed by calls.routing
        if leg is None:
            raise PreviewError("no_route", f"no outbound route takes {phone.number}: ask an "
                                           "admin for one")
        try:
            pure = store.record_of(rec, phone, contact, plan.default_timezone)
            caller_id = store.present_caller_id(s, plan, pure, now, rng)
        except NoCallerIdAvailable as err:
            raise PreviewError("no_caller_id", str(err)) from err
        rec.assigned_user_id = owner_of(s, rec)  # the hold ends: ownership as it was
        rec.last_attempt_at = _utc(now)
        attempt = DialAttempt(tenant_id=c.tenant_id, campaign_id=c.id, record_id=rec.id,
                              number=phone.number, caller_id=caller_id, trunk=leg.trunk,
                              agent_user_id=user_id, mode="preview", dial_at=_utc(now))
        s.add(attempt)
        s.flush()
        attempt.call_id = f"{CALL_PREFIX}{c.id}-{attempt.id}"
        return Dial(attempt.id, attempt.call_id, c.id, rec.id, phone.number, caller_id,
                    phone_ep.name, phone_ep.extension)


def close_unconnected(db: Factory, call_id: str, reason: str, cause: int | None,
                      now: float) -> bool:
    """The agent's phone never took the call: the row is ``failed`` (no attempt counted)
    and the record is held in the agent's batch again. False if the row was closed."""
    with transaction(db) as s:
        a = s.scalar(select(DialAttempt).where(DialAttempt.call_id == call_id))
        if a is None or a.outcome is not None:
            return False
        a.outcome, a.ended_at, a.hangup_cause = "failed", _utc(now), cause
        a.hangup_cause_txt = f"agent phone: {reason}"[:64]
        rec = s.get(CampaignRecord, a.record_id)
        if rec is not None and rec.state == "in_progress":
            rec.assigned_user_id = a.agent_user_id
        return True


def finish_call(db: Factory, result: AttemptResult, now: float) -> str:
    """Fill a preview attempt's row from the ended call and move its record on (retry
    rules). ``result.dial_at`` is when the customer's leg was dialled. Returns the state."""
    with transaction(db) as s:
        a = s.scalar(select(DialAttempt).where(DialAttempt.call_id == result.call_id))
        if a is None:
            return "unknown"
        c = s.get(Campaign, a.campaign_id)
        plan = store.plan_for(s, c) if c is not None else None
        agent = a.agent_user_id
        if a.outcome is None and result.dial_at is not None:
            a.dial_at = result.dial_at
    if plan is None:  # the trunk was deleted meanwhile: close the row, leave the record
        close_unconnected(db, result.call_id, "no trunk", result.hangup_cause, now)
        return "unknown"
    return attempt_store.finish(db, plan, result, now, agent)


def skip(db: Factory, tenant_id: int, user_id: int, campaign_id: int, record_id: int,
         now: float) -> str:
    """A held record tried without dialling; returns its new state."""
    with transaction(db) as s:
        c = _campaign(s, tenant_id, campaign_id, running=False)
        rec = _held(s, c, user_id, record_id)
        plan = store.plan_for(s, c)
        if plan is None:
            raise PreviewError("no_trunk", f"campaign {c.name!r}: the tenant has no trunk")
        per = dict(plan.rules.per_outcome)
        per.setdefault(Outcome.SKIPPED, DEFAULT_SKIP_RULE)
        rules = RetryRules(plan.rules.max_attempts, per)
        rec.assigned_user_id = owner_of(s, rec)
        rec.state = _waiting_state(rec)
        phone = s.get(ContactPhone, rec.phone_id)
        contact = s.get(Contact, rec.contact_id)
        assert phone is not None and contact is not None
        pure = store.record_of(rec, phone, contact, plan.default_timezone)
        up = after_attempt(pure, Outcome.SKIPPED, rules, now, plan.regulator)
        rec.state = up.state.value
        rec.outcome_counts = {str(k): v for k, v in up.outcome_counts}
        rec.last_outcome = str(up.last_outcome) if up.last_outcome else None
        rec.next_due_at = _utc(up.next_due_at) if up.next_due_at else None
        rec.last_attempt_at = _utc(now)
        return rec.state


def release(db: Factory, tenant_id: int, user_id: int, campaign_id: int) -> int:
    """Give the agent's held records (not those being dialled) back; returns how many."""
    with transaction(db) as s:
        c = _campaign(s, tenant_id, campaign_id, running=False)
        held = s.scalars(select(CampaignRecord).where(
            CampaignRecord.campaign_id == c.id, CampaignRecord.state == "in_progress",
            CampaignRecord.assigned_user_id == user_id)).all()
        n = 0
        for rec in held:
            if s.scalar(select(DialAttempt.id).where(DialAttempt.record_id == rec.id,
                                                     DialAttempt.outcome.is_(None))):
                continue
            rec.assigned_user_id = owner_of(s, rec)
            rec.state = _waiting_state(rec)
            n += 1
        return n


def preview_campaigns(db: Factory, tenant_id: int, user_id: int) -> list[dict[str, Any]]:
    """Running preview campaigns ``user_id`` works, with the size of their batch there."""
    with db() as s:
        found = s.scalars(select(Campaign).where(
            Campaign.tenant_id == tenant_id, Campaign.mode == "preview",
            Campaign.status == "running").order_by(Campaign.name)).all()
        return [{"id": c.id, "name": c.name, "batch_size": c.preview_batch_size,
                 "batch": [i.to_json() for i in _items(s, c, user_id)]}
                for c in found if may_work(s, c, user_id)]
