"""Call-record queries shared by the records page and the JSON API.

:func:`parse_filter` turns query parameters into a :class:`RecordFilter` (or
raises :class:`~web.errors.Invalid` naming the parameter): their shape is
:class:`~.schemas.RecordsQuery`'s, the dates are read here.
:func:`find_records` applies it together with the tenant and role scope. Scope is never a parameter the
client controls: it always comes from the logged-in user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from controlplane.calls.http.schemas import DEFAULT_PER_PAGE, RecordsQuery
from controlplane.models import CallRecord, PhoneEndpoint, Role, User
from controlplane.models.call_quality import CallQuality
from controlplane.models.desktop import CallWrapup
from web.auth import CurrentUser
from web.errors import BadParameter
from web.validation import parse_query


@dataclass(frozen=True)
class RecordFilter:
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    number: str = ""
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE


@dataclass(frozen=True)
class RecordRow:
    record: CallRecord
    agent_name: str | None
    wrapup: CallWrapup | None = None  # the agent's disposition and note (controlplane.desktop)
    quality: CallQuality | None = None  # what the agent's webphone measured (models.call_quality)

    @property
    def answered(self) -> bool:
        return self.record.answered_at is not None

    def to_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "id": r.id,
            "call_id": r.call_id,
            "started_at": r.started_at.isoformat(),
            # the caller's leg first answered (IVR, prompt, queue, or the phone); the agent's
            # answer is answered_at; definitions: controlplane.models.calls.CallRecord
            "platform_answered_at": (r.platform_answered_at.isoformat()
                                     if r.platform_answered_at else None),
            "answered_at": r.answered_at.isoformat() if r.answered_at else None,
            "ended_at": r.ended_at.isoformat() if r.ended_at else None,
            "direction": r.direction,
            "status": r.status,
            "caller": r.caller,
            "callee": r.callee,
            "did": r.did,
            "agent_endpoint": r.agent_endpoint,
            "agent_name": self.agent_name,
            "answered": self.answered,
            "duration_s": r.duration_s,
            "billsec_s": r.billsec_s,  # the agent's talk time
            "carrier_billsec_s": r.carrier_billsec_s,  # what the carrier bills
            # and for the numbers a transfer or consultation reached (a second carrier leg)
            "transfer_carrier_billsec_s": r.transfer_carrier_billsec_s,
            "hangup_cause": r.hangup_cause,
            "hangup_cause_txt": r.hangup_cause_txt,
            "has_recording": bool(r.recording_path),
            "refused_reason": r.refused_reason,
            "disposition": self.wrapup.disposition_code if self.wrapup else None,
            "note": self.wrapup.note if self.wrapup else None,
            "quality": self.quality.to_json() if self.quality else None,
        }


@dataclass(frozen=True)
class RecordPage:
    rows: list[RecordRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _parse_instant(name: str, raw: str, *, end: bool) -> datetime:
    """``YYYY-MM-DD`` (a whole UTC day) or an ISO 8601 datetime (naive means UTC)."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime.combine(day, time(), tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(raw)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise BadParameter(
            name, f"expected a date YYYY-MM-DD or an ISO 8601 datetime, got {raw[:40]!r}"
        ) from None
    except OverflowError:  # the day after 9999-12-31, or 0001-01-01 east of UTC
        raise BadParameter(name, f"{raw[:40]!r} is outside the years 1-9999") from None


def parse_filter(query: RecordsQuery | None = None) -> RecordFilter:
    """The filter of ``query`` (by default this request's query string); empty means unset."""
    query = query or parse_query(RecordsQuery)
    assert query is not None
    since = until = None
    if raw := (query.from_ or "").strip():
        since = _parse_instant("from", raw, end=False)
    if raw := (query.to or "").strip():
        until = _parse_instant("to", raw, end=True)
    if since and until and since >= until:
        raise BadParameter("to", "must be after 'from'")
    return RecordFilter(since, until, query.number.strip(), query.page, query.per_page)


def own_endpoints(s: Session, user: CurrentUser) -> list[str]:
    """Names of the phone endpoints assigned to ``user`` (an agent's own phones)."""
    return list(
        s.scalars(
            select(PhoneEndpoint.name).where(
                PhoneEndpoint.user_id == user.id, PhoneEndpoint.tenant_id == user.tenant_id
            )
        )
    )


def scoped(user: CurrentUser, s: Session) -> Select[CallRecord]:
    """Records ``user`` may see: own tenant; an agent only calls on their own phones."""
    stmt = select(CallRecord).where(CallRecord.tenant_id == user.tenant_id)
    if user.role is Role.AGENT:
        stmt = stmt.where(CallRecord.agent_endpoint.in_(own_endpoints(s, user)))
    return stmt


def find_records(s: Session, user: CurrentUser, flt: RecordFilter,
                 *where: ColumnElement[bool]) -> RecordPage:
    """One page of the records ``user`` may see matching ``flt`` (and ``where``: the
    recordings API's conditions), newest first."""
    stmt = scoped(user, s).where(*where)
    if flt.since:
        stmt = stmt.where(CallRecord.started_at >= flt.since)
    if flt.until:
        stmt = stmt.where(CallRecord.started_at < flt.until)
    if flt.number:
        stmt = stmt.where(
            or_(
                CallRecord.caller.contains(flt.number, autoescape=True),
                CallRecord.callee.contains(flt.number, autoescape=True),
                CallRecord.did.contains(flt.number, autoescape=True),
            )
        )
    total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    phone, agent = aliased(PhoneEndpoint), aliased(User)
    page_stmt = (
        stmt.add_columns(agent.display_name, agent.login)
        .outerjoin(
            phone,
            (phone.name == CallRecord.agent_endpoint) & (phone.tenant_id == CallRecord.tenant_id),
        )
        .outerjoin(agent, agent.id == phone.user_id)
        .order_by(CallRecord.started_at.desc(), CallRecord.id.desc())
        .limit(flt.per_page)
        .offset((flt.page - 1) * flt.per_page)
    )
    found = list(s.execute(page_stmt))
    wrapups = {w.call_id: w for w in s.scalars(select(CallWrapup).where(
        CallWrapup.tenant_id == user.tenant_id,
        CallWrapup.call_id.in_([record.call_id for record, _, _ in found])))} if found else {}
    qualities = {q.call_id: q for q in s.scalars(select(CallQuality).where(
        CallQuality.tenant_id == user.tenant_id,
        CallQuality.call_id.in_([record.call_id for record, _, _ in found])))} if found else {}
    rows = [
        RecordRow(record, display_name or login, wrapups.get(record.call_id),
                  qualities.get(record.call_id))
        for record, display_name, login in found
    ]
    return RecordPage(rows, total, flt.page, flt.per_page)


def get_record(s: Session, user: CurrentUser, record_id: int) -> CallRecord | None:
    """The record if ``user`` may see it; None both when missing and when out of scope."""
    return s.scalar(scoped(user, s).where(CallRecord.id == record_id))
