"""The reports' SQL: a tenant's log rows in a date range, as the pure builders' inputs.

Every query filters on ``tenant_id`` and a moment range, served by the composite
``(tenant_id, moment)`` indexes of :mod:`controlplane.models.reports` (their plans are
checked in ``tests/unit/reports/test_reports_store.py``). Rows come back as the frozen
records the builders take (:class:`~controlplane.acd.stats.QueueLogRecord`,
:class:`~controlplane.acd.agent_events.StatusChanged`, :mod:`.outcomes`' rows), moments
as epoch seconds and subjects (agents, queues, campaigns) as id strings. A reader given
``limit`` returns at most ``limit + 1`` rows, so the caller can tell "too many" without
reading them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlplane.acd.agent_events import Status, StatusChanged
from controlplane.acd.stats import QueueLogRecord
from controlplane.models import Tenant, User
from controlplane.models.acd import AgentBreakReason, AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.models.campaigns import Campaign, DialAttempt, Disposition
from controlplane.models.contacts import HlrResult
from controlplane.models.desktop import CallDisposition, CallWrapup
from controlplane.reports.outcomes import Attempt, Lookup, Wrapup


def _epoch(dt: datetime) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


_Q = TypeVar("_Q")


def _limited(q: _Q, limit: int | None) -> _Q:
    """``q`` reading at most ``limit + 1`` rows (a select; typed loosely so its row types
    survive)."""
    return q if limit is None else q.limit(limit + 1)  # type: ignore[attr-defined]


def time_zone(s: Session, tenant_id: int) -> str:
    tenant = s.get(Tenant, tenant_id)
    return tenant.time_zone if tenant else "UTC"


def queue_records(s: Session, tenant_id: int, start: float, end: float,
                  queues: Sequence[int] = (), limit: int | None = None
                  ) -> list[QueueLogRecord]:
    ql = QueueLog  # columns, not ORM objects: a month is tens of thousands of rows
    q = select(ql.interaction_id, ql.queue_id, ql.kind, ql.at, ql.user_id, ql.detail).where(
        ql.tenant_id == tenant_id, ql.at >= _dt(start), ql.at < _dt(end))
    if queues:
        q = q.where(ql.queue_id.in_(queues))
    return [QueueLogRecord(iid, str(qid), kind, _epoch(at), None if uid is None else str(uid),
                           detail)
            for iid, qid, kind, at, uid, detail
            in s.execute(_limited(q.order_by(ql.at, ql.id), limit))]


def status_records(s: Session, tenant_id: int, start: float, end: float,
                   agents: Sequence[int] = (), limit: int | None = None
                   ) -> list[StatusChanged]:
    """The changes in the range and each agent's last change before it."""
    sl = AgentStatusLog
    lo, hi = _dt(start), _dt(end)
    before = (select(func.max(sl.id)).where(sl.tenant_id == tenant_id, sl.at < lo)
              .group_by(sl.user_id))
    inside = (sl.at >= lo) & (sl.at < hi)
    q = select(sl.user_id, sl.from_status, sl.to_status, sl.reason, sl.at).where(
        sl.tenant_id == tenant_id, inside | sl.id.in_(before))
    if agents:
        q = q.where(sl.user_id.in_(agents))
    return [StatusChanged(str(uid), Status(from_), Status(to), reason, _epoch(at))
            for uid, from_, to, reason, at in s.execute(_limited(q.order_by(sl.id), limit))]


def wrapups(s: Session, tenant_id: int, start: float, end: float,
            agents: Sequence[int] = (), limit: int | None = None) -> list[Wrapup]:
    q = select(CallWrapup.created_at, CallWrapup.user_id, CallWrapup.disposition_code).where(
        CallWrapup.tenant_id == tenant_id, CallWrapup.created_at >= _dt(start),
        CallWrapup.created_at < _dt(end), CallWrapup.disposition_code.is_not(None))
    if agents:
        q = q.where(CallWrapup.user_id.in_(agents))
    return [Wrapup(_epoch(at), None if uid is None else str(uid), code or "")
            for at, uid, code in s.execute(_limited(q, limit))]


def attempts(s: Session, tenant_id: int, start: float, end: float,
             campaign: int | None = None, agents: Sequence[int] = (),
             limit: int | None = None) -> list[Attempt]:
    da = DialAttempt
    q = select(da.campaign_id, da.dial_at, da.agent_user_id, da.outcome, da.amd_verdict,
               da.abandoned, da.disposition_code, da.agent_connect_at, da.ended_at).where(
        da.tenant_id == tenant_id, da.dial_at >= _dt(start), da.dial_at < _dt(end))
    if campaign is not None:
        q = q.where(da.campaign_id == campaign)
    if agents:
        q = q.where(da.agent_user_id.in_(agents))
    return [Attempt(str(cid), _epoch(at), None if uid is None else str(uid), outcome, amd,
                    bool(abandoned), disposition,
                    None if connect is None else _epoch(connect),
                    None if ended is None else _epoch(ended))
            for cid, at, uid, outcome, amd, abandoned, disposition, connect, ended
            in s.execute(_limited(q, limit))]


def lookups(s: Session, tenant_id: int, start: float, end: float,
            limit: int | None = None) -> list[Lookup]:
    q = select(HlrResult.checked_at, HlrResult.status, HlrResult.provider).where(
        HlrResult.tenant_id == tenant_id, HlrResult.checked_at >= _dt(start),
        HlrResult.checked_at < _dt(end))
    return [Lookup(_epoch(at), status, provider)
            for at, status, provider in s.execute(_limited(q, limit))]


# ---- names and settings (small tables) ----


def queues(s: Session, tenant_id: int) -> dict[int, tuple[str, float]]:
    """Queue id → (name, service-level threshold in seconds)."""
    return {qid: (name, thr) for qid, name, thr in s.execute(
        select(Queue.id, Queue.name, Queue.sl_threshold_s).where(Queue.tenant_id == tenant_id)
        .order_by(Queue.name))}


def agents(s: Session, tenant_id: int) -> dict[int, str]:
    """User id → the name shown (display name, else login) of every user of the tenant."""
    return {uid: name or login for uid, name, login in s.execute(
        select(User.id, User.display_name, User.login).where(User.tenant_id == tenant_id)
        .order_by(User.display_name, User.login))}


def campaigns(s: Session, tenant_id: int) -> dict[int, tuple[str, int | None, float]]:
    """Campaign id → (name, queue id, abandon cap in %)."""
    return {cid: (name, qid, 100.0 * cap) for cid, name, qid, cap in s.execute(
        select(Campaign.id, Campaign.name, Campaign.queue_id, Campaign.target_abandon_rate)
        .where(Campaign.tenant_id == tenant_id).order_by(Campaign.name))}


def members(s: Session, tenant_id: int) -> dict[int, list[int]]:
    """Queue id → its agents' user ids."""
    out: dict[int, list[int]] = {}
    for qid, uid in s.execute(select(QueueMember.queue_id, QueueMember.user_id)
                              .join(Queue, Queue.id == QueueMember.queue_id)
                              .where(Queue.tenant_id == tenant_id)):
        out.setdefault(qid, []).append(uid)
    return out


def break_labels(s: Session, tenant_id: int) -> dict[str, str]:
    return {code: label or code for code, label in s.execute(
        select(AgentBreakReason.code, AgentBreakReason.label)
        .where(AgentBreakReason.tenant_id == tenant_id))}


def disposition_labels(s: Session, tenant_id: int) -> dict[tuple[str, str], str]:
    """(source, code) → label: source ``inbound`` for the tenant's call dispositions, the
    campaign id for a campaign's own (a tenant-wide campaign disposition under ``*``)."""
    out: dict[tuple[str, str], str] = {}
    for code, label in s.execute(select(CallDisposition.code, CallDisposition.label)
                                 .where(CallDisposition.tenant_id == tenant_id)):
        out[("inbound", code)] = label or code
    for cid, code, label in s.execute(select(Disposition.campaign_id, Disposition.code,
                                             Disposition.label)
                                      .where(Disposition.tenant_id == tenant_id)):
        out[("*" if cid is None else str(cid), code)] = label or code
    return out
