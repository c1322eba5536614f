"""The campaign tables as the pure dialer sees them: plans, records, blacklists, caller IDs.

Reading maps rows of :mod:`controlplane.models.campaigns` onto the pure vocabulary of
:mod:`controlplane.dialer.records` (``running_campaigns``, ``plan_for``, ``record_of``,
``blacklists``); the caller-ID pool's use per day is read and counted here too. The writes
of an attempt's life are in :mod:`controlplane.dialer.attempt_store`. All functions are
synchronous (the daemon calls them in a thread).

A plan carries the tenant's outbound routes: :func:`leg_for` gives each number its trunk and
the digits the carrier receives (no route at all: the first trunk, as before routes).

Record states in the table and in the pure core:

    row.state     pure kind / state                 dialled?
    fresh         FRESH / SCHEDULED                 when due
    scheduled     SYSTEM_RECONTACT (PRIVATE when     when due
                  assigned_user_id is set) / SCHEDULED
    in_progress   — (an attempt is out)              no
    done / closed / failed                           no

The pure ``RecordState`` values are the row's state names (``state.value``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.admin import route_store
from controlplane.admin.outbound_routes import Leg, Route, choose
from controlplane.dialer import compliance
from controlplane.dialer.callerid import (
    CallerIdMode,
    CallerIdPolicy,
    PoolNumber,
    choose_caller_id,
)
from controlplane.dialer.records import (
    Blacklist,
    CallingWindow,
    DialRecord,
    Outcome,
    RecordKind,
    RetryRule,
)
from controlplane.dialer.retry import RetryRules
from controlplane.dialer.selection import RecontactOrder, Strategy
from controlplane.models import PhoneEndpoint
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    BlacklistEntry,
    CallerIdNumber,
    CallerIdUsage,
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
)

Factory = sessionmaker[Session]
ABANDON_MESSAGE = ("We are sorry, all our consultants are busy right now. "
                   "We will call you again. Goodbye.")
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
    # the tenant's outbound routes (empty: every attempt leaves by ``trunk``, its first)
    routes: tuple[Route, ...] = ()


def leg_for(plan: CampaignPlan, number: str) -> Leg | None:
    """The trunk and the digits an attempt on ``number`` leaves by: the tenant's outbound
    routes (:mod:`controlplane.admin.outbound_routes`), or without routes the first trunk
    and the number without its '+' (as before routes). None: no route takes the number."""
    if plan.routes:
        choice = choose(plan.routes, number)
        return choice.primary if choice is not None else None
    return Leg(plan.trunk, number.lstrip("+"))


def _epoch(d: datetime | None) -> float | None:
    return None if d is None else d.timestamp()


def utc(t: float) -> datetime:
    """Epoch seconds as an aware UTC datetime (the tables' time type)."""
    return datetime.fromtimestamp(t, UTC)


def running_campaigns(db: Factory) -> list[CampaignPlan]:
    """Outbound campaigns with status ``running``, a queue and a trunk (others are skipped)."""
    out = []
    with db() as s:
        rows = s.scalars(select(Campaign).where(Campaign.status == "running",
                                                Campaign.kind != "inbound")).all()
        for c in rows:
            queue = s.get(Queue, c.queue_id) if c.queue_id is not None else None
            trunk = route_store.first_trunk(s, c.tenant_id)
            if queue is None or trunk is None:
                continue
            out.append(CampaignPlan(
                id=c.id, tenant_id=c.tenant_id, name=c.name, mode=c.mode, queue=queue.name,
                trunk=trunk, routes=tuple(route_store.routes_of(s, c.tenant_id)),
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


def record_of(row: CampaignRecord, phone: ContactPhone, contact: Contact, tz: str) -> DialRecord:
    """``row`` as the pure dialer sees it; ``tz``: the campaign's default time zone."""
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


def blacklists(s: Session, plan: CampaignPlan) -> list[Blacklist]:
    """The platform's, the tenant's and the campaign's blacklists for ``plan``."""
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


def usage(s: Session, plan: CampaignPlan, now: float) -> dict[str, int]:
    """Calls presented today (UTC) per caller-ID number of the tenant."""
    day = utc(now).date()
    rows = s.execute(select(CallerIdNumber.number, CallerIdUsage.count)
                     .join(CallerIdUsage, CallerIdUsage.number_id == CallerIdNumber.id)
                     .where(CallerIdNumber.tenant_id == plan.tenant_id,
                            CallerIdUsage.day == day)).all()
    return {number: count for number, count in rows}


def count_usage(s: Session, plan: CampaignPlan, number: str, now: float) -> None:
    """Count one more call presented with ``number`` today."""
    num = s.scalar(select(CallerIdNumber).where(CallerIdNumber.tenant_id == plan.tenant_id,
                                                CallerIdNumber.number == number))
    if num is None:
        return
    day: date = utc(now).date()
    row = s.scalar(select(CallerIdUsage).where(CallerIdUsage.number_id == num.id,
                                               CallerIdUsage.day == day))
    if row is None:
        s.add(CallerIdUsage(number_id=num.id, day=day, count=1))
    else:
        row.count += 1


def counts(db: Factory, campaign_id: int) -> dict[str, int]:
    """Records per state (for the runner's log, the CLI and the tests)."""
    with db() as s:
        rows = s.execute(select(CampaignRecord.state, func.count()).where(
            CampaignRecord.campaign_id == campaign_id).group_by(CampaignRecord.state)).all()
    return {state: n for state, n in rows}


# ---- preview campaigns (controlplane.dialer.preview_store) ----

def plan_for(s: Session, c: Campaign) -> CampaignPlan | None:
    """The plan of campaign ``c`` whatever its status and mode (a preview campaign needs no
    queue: ``queue`` is then ""); None when the tenant has no trunk to dial over."""
    queue = s.get(Queue, c.queue_id) if c.queue_id is not None else None
    trunk = route_store.first_trunk(s, c.tenant_id)
    if trunk is None:
        return None
    return CampaignPlan(
        id=c.id, tenant_id=c.tenant_id, name=c.name, mode=c.mode,
        queue=queue.name if queue is not None else "", trunk=trunk,
        routes=tuple(route_store.routes_of(s, c.tenant_id)),
        regulator=compliance.UK_OFCOM if c.regulator == "uk" else compliance.US_TSR,
        ring_timeout_s=max(15, round(c.ring_timeout_s)),
        window=CallingWindow(c.window_start, c.window_end,
                             frozenset(d - 1 for d in c.window_days)),
        strategy=_strategy(c.dialing_order), rules=_rules(c.max_attempts, c.retry_rules),
        caller_ids=_caller_ids(s, c), default_timezone=c.default_timezone,
        target_abandon_rate=c.target_abandon_rate,
    )


def present_caller_id(s: Session, plan: CampaignPlan, rec: DialRecord, now: float,
                      rng: random.Random) -> str:
    """Choose the caller ID of one attempt on ``rec`` and count its use today ("": the
    trunk's own number). Raises ``NoCallerIdAvailable`` when every number is capped."""
    if plan.caller_ids is None:
        return ""
    choice = choose_caller_id(plan.caller_ids, rec, usage(s, plan, now), rng)
    count_usage(s, plan, choice.number, now)
    return choice.number


def agent_user_id(db: Factory, endpoint: str | None) -> int | None:
    """The user whose phone ``endpoint`` is (None: no endpoint, or nobody's)."""
    if not endpoint:
        return None
    with db() as s:
        return s.scalar(select(PhoneEndpoint.user_id).where(PhoneEndpoint.name == endpoint))
