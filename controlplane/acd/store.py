"""Persistence of the ACD: configuration in, logs out, live state to and from Redis.

The database side is synchronous SQLAlchemy; the service calls it through
``asyncio.to_thread``. Identifiers in the pure core are strings: an agent is
``str(user_id)``, a queue ``str(queue.id)``, an interaction the call id.

The data it fills and writes (``TenantConfig``, ``Logs``) and the Redis codec of an agent
(``agent_to_json`` / ``agent_from_json``) live in the pure :mod:`controlplane.acd.tenant`;
they are re-exported here for the modules that import them from the store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import agent_events as ev
from controlplane.acd.queue_machine import parse_enter_detail
from controlplane.acd.queues import (
    AgingRule,
    Destination,
    DestinationKind,
    QueueConfig,
    Recording,
    SkillPreference,
    Strategy,
)
from controlplane.acd.tenant import Logs as Logs  # re-exported (see the docstring)
from controlplane.acd.tenant import TenantConfig as TenantConfig
from controlplane.acd.tenant import agent_from_json as agent_from_json
from controlplane.acd.tenant import agent_to_json as agent_to_json
from controlplane.db import transaction
from controlplane.models import PhoneEndpoint, Tenant, User
from controlplane.models.acd import (
    AgentBreakReason,
    AgentSessionAudit,
    AgentSkill,
    AgentStatusLog,
    Queue,
    QueueLog,
    QueueMember,
)
from controlplane.models.acd_channels import AcdChannelSettings, AgentChatCapacity
from controlplane.webhooks import outbox as webhook_outbox

Factory = sessionmaker[Session]


def _destination(row: Queue, ids: set[int]) -> Destination:
    """Where overflow goes: the overflow queue (same tenant) or out of the ACD."""
    if row.overflow_queue_id is not None and row.overflow_queue_id in ids:
        return Destination(DestinationKind.QUEUE, str(row.overflow_queue_id))
    return Destination(DestinationKind.HANGUP)


def _queue_config(row: Queue, members: tuple[str, ...], ids: set[int]) -> QueueConfig:
    overflow = _destination(row, ids)
    no_agents = {"wait": None, "leave": Destination(DestinationKind.HANGUP), "overflow": overflow}
    return QueueConfig(
        queue_id=str(row.id),
        members=members,
        strategy=Strategy(row.strategy),
        ring_timeout_s=row.ring_timeout_s,
        wrap_up_s=row.wrap_up_s,
        aging=AgingRule(rate_per_s=row.aging_rate_per_s, max_bonus=row.aging_max_bonus),
        skill_preference=SkillPreference(row.skill_preference),
        order=row.serve_order,
        max_wait_s=row.max_wait_s,
        max_waiting=row.max_waiting,
        # the pure machine overflows only with a destination: give one only when a limit is set
        overflow=overflow if (row.max_wait_s is not None or row.max_waiting is not None) else None,
        no_agents=no_agents.get(row.no_agents),
        sticky_wait_s=row.sticky_wait_s,
        sticky_max_age_s=row.sticky_max_age_s,
        announce_interval_s=row.announce_every_s or None,
        moh_class=row.moh_class,
        recording=Recording(row.recording),
        callback_key=row.callback_key,
    )


def load_tenant(db: Factory, tenant_id: int) -> TenantConfig | None:
    """Read a tenant's queues, members, skills, phones and break reasons."""
    with db() as s:
        tenant = s.get(Tenant, tenant_id)
        if tenant is None:
            return None
        rows = s.scalars(select(Queue).where(Queue.tenant_id == tenant_id)).all()
        ids = {r.id for r in rows}
        members: dict[int, list[str]] = {r.id: [] for r in rows}
        for m in s.scalars(
            select(QueueMember)
            .where(QueueMember.queue_id.in_(ids))
            .order_by(QueueMember.penalty, QueueMember.id)
        ):
            members[m.queue_id].append(str(m.user_id))
        channels = s.get(AcdChannelSettings, tenant_id)
        cfg = TenantConfig(tenant_id, tenant.licences)
        if channels is not None:
            cfg = replace(cfg, chats=channels.chats_per_agent,
                          voice_with_chats=channels.voice_with_chats,
                          emails=channels.emails_per_agent)
        for cap in s.scalars(select(AgentChatCapacity)
                             .where(AgentChatCapacity.tenant_id == tenant_id)):
            if cap.chats is not None:
                cfg.agent_chats[str(cap.user_id)] = cap.chats
            if cap.emails is not None:
                cfg.agent_emails[str(cap.user_id)] = cap.emails
        for r in rows:
            qid = str(r.id)
            cfg.queues[qid] = _queue_config(r, tuple(members[r.id]), ids)
            if channels is not None:
                cfg.queues[qid] = replace(cfg.queues[qid],
                                          chat_offer_timeout_s=channels.chat_offer_timeout_s,
                                          email_offer_timeout_s=channels.email_offer_timeout_s)
            cfg.by_name[r.name] = qid
            cfg.names[qid] = r.name
            cfg.sl_threshold_s[qid] = r.sl_threshold_s
        user_ids = select(User.id).where(User.tenant_id == tenant_id)
        for sk in s.scalars(select(AgentSkill).where(AgentSkill.user_id.in_(user_ids))):
            cfg.skills.setdefault(str(sk.user_id), {})[sk.skill] = sk.level
        phones = s.scalars(
            select(PhoneEndpoint)
            .where(PhoneEndpoint.tenant_id == tenant_id, PhoneEndpoint.user_id.is_not(None))
            # an agent's desk phone before their webphone: the ACD rings the first, and a
            # desk phone is what an administrator gave them on purpose
            .order_by(PhoneEndpoint.kind == "webphone", PhoneEndpoint.id)
        )
        for p in phones:
            key = str(p.user_id)
            cfg.endpoints[key] = (*cfg.endpoints.get(key, ()), p.name)
        for b in s.scalars(select(AgentBreakReason).where(AgentBreakReason.tenant_id == tenant_id)):
            cfg.breaks[b.code] = ev.BreakReason(b.code, ev.BreakKind(b.kind), b.max_on_break)
        return cfg


def tenant_ids(db: Factory) -> list[int]:
    """Every tenant (the service loads them all at start, so wrap-ups keep ticking)."""
    with db() as s:
        return list(s.scalars(select(Tenant.id).order_by(Tenant.id)))


def endpoint_owner(db: Factory, endpoint: str) -> tuple[int, int] | None:
    """(tenant id, user id) of the phone ``endpoint``, None when unknown or unassigned."""
    with db() as s:
        row = s.execute(
            select(PhoneEndpoint.tenant_id, PhoneEndpoint.user_id).where(
                PhoneEndpoint.name == endpoint
            )
        ).first()
    if row is None or row.user_id is None:
        return None
    return row.tenant_id, row.user_id


def last_agent(db: Factory, tenant_id: int, caller: str) -> tuple[str, float] | None:
    """The agent who last answered ``caller`` in this tenant, and when (sticky agent)."""
    with db() as s:
        row = s.execute(
            select(QueueLog.user_id, QueueLog.at)
            .where(
                QueueLog.tenant_id == tenant_id,
                QueueLog.caller == caller,
                QueueLog.kind == "answer",
                QueueLog.user_id.is_not(None),
            )
            .order_by(QueueLog.at.desc())
            .limit(1)
        ).first()
    return None if row is None else (str(row.user_id), row.at.timestamp())


@dataclass(frozen=True)
class QueuedBefore:
    """What the queue log knows of a call that waited before a restart."""

    arrived_at: float  # first entry into any queue (priority aging counts from here)
    queue_id: str  # the queue it entered last
    entered_at: float  # when it entered that queue
    priority: float
    skills: dict[str, int]
    finished: bool  # a terminal record (answer, abandon, overflow…) came after that entry


def queued_before(db: Factory, tenant_id: int, call_id: str) -> QueuedBefore | None:
    """The call's queue history from ``acd_queue_log`` (None: it never entered a queue)."""
    with db() as s:
        rows = s.execute(
            select(QueueLog.kind, QueueLog.queue_id, QueueLog.at, QueueLog.detail)
            .where(QueueLog.tenant_id == tenant_id, QueueLog.interaction_id == call_id)
            .order_by(QueueLog.id)
        ).all()
    enters = [r for r in rows if r.kind == "enter"]
    if not enters:
        return None
    last = enters[-1]
    after = rows[[i for i, r in enumerate(rows) if r.kind == "enter"][-1] + 1 :]
    priority, skills = parse_enter_detail(enters[0].detail)
    return QueuedBefore(
        arrived_at=enters[0].at.timestamp(),
        queue_id=str(last.queue_id),
        entered_at=last.at.timestamp(),
        priority=priority,
        skills=skills,
        finished=any(r.kind in ("answer", "abandon", "callback") for r in after),
    )


def latest_statuses(db: Factory, tenant_id: int) -> dict[str, tuple[str, str | None, float]]:
    """Each agent's latest status row: agent → (status, reason, at). For a Redis restart."""
    with db() as s:
        latest = (
            select(AgentStatusLog.user_id, func.max(AgentStatusLog.id).label("last"))
            .where(AgentStatusLog.tenant_id == tenant_id)
            .group_by(AgentStatusLog.user_id)
            .subquery()
        )
        rows = s.scalars(select(AgentStatusLog).join(latest, AgentStatusLog.id == latest.c.last))
        return {str(r.user_id): (r.to_status, r.reason, r.at.timestamp()) for r in rows}


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _int(agent: str | None) -> int | None:
    return int(agent) if agent is not None and agent.isdigit() else None


def append(db: Factory, logs: Iterable[Logs]) -> None:
    """Append status, queue and audit rows in one transaction: one multi-row INSERT per
    table (Core, not the ORM's unit of work: a queued call's operations write a few rows
    each, and building ORM objects for them was the control plane's largest CPU cost)."""
    statuses: list[dict[str, object]] = []
    queue_rows: list[dict[str, object]] = []
    audits: list[dict[str, object]] = []
    events: list[webhook_outbox.Row] = []
    for lg in logs:
        t = lg.tenant_id
        for r in lg.statuses:
            at = _at(r.at)
            statuses.append({"tenant_id": t, "user_id": int(r.agent), "from_status": str(r.from_),
                             "to_status": str(r.to), "reason": r.reason, "at": at})
            # webhooks: the same change, in the same transaction (the outbox)
            events.append(webhook_outbox.row(
                "agent.status_changed", t,
                {"user_id": int(r.agent), "from": str(r.from_), "to": str(r.to),
                 "reason": r.reason, "at": at.isoformat()},
                key=(t, r.agent, r.at, str(r.to)), at=at))
        for q, caller in lg.queue:
            queue_rows.append({"tenant_id": t, "queue_id": _int(q.queue_id),
                               "interaction_id": q.interaction_id, "kind": q.kind, "at": _at(q.at),
                               "user_id": _int(q.agent), "caller": caller[:64],
                               "detail": q.detail[:200]})
        for a in lg.audits:
            audits.append({"tenant_id": t, "user_id": int(a.user), "action": a.action,
                           "workstation": a.workstation[:64],
                           "previous_workstation": a.previous_workstation, "by": None,
                           "detail": a.detail[:200], "at": _at(a.at)})
        for b in lg.breaks:
            audits.append({"tenant_id": t, "user_id": int(b.agent), "action": f"break_{b.action}",
                           "workstation": "", "previous_workstation": None, "by": b.by,
                           "detail": b.reason[:200], "at": _at(b.at)})
    if not (statuses or queue_rows or audits):
        return
    with transaction(db) as s:
        for stmt, rows in zip(_INSERTS, (statuses, queue_rows, audits), strict=True):
            if rows:
                s.execute(stmt, rows)
        webhook_outbox.add(s, events)


# built once: a statement built per write costs more CPU than the write
_INSERTS = tuple(insert(cast(Table, model.__table__))
                 for model in (AgentStatusLog, QueueLog, AgentSessionAudit))
