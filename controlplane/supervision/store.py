"""The database side of supervision: who may be rung, sessions' rows and their audit lines.

Synchronous (the daemon calls it through ``asyncio.to_thread``; the panel directly). Every
query is scoped by tenant. Every change of a session writes one audit event
(``supervision.start`` / ``.mode`` / ``.end``) in the same transaction as the row, so the
trail and the table never disagree.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.models import PhoneEndpoint, User
from controlplane.models.base import utcnow
from controlplane.models.supervision import SupervisionSession
from controlplane.security import audit

SOURCE = "supervision"


def phone_to_ring(s: Session, tenant_id: int, user_id: int) -> str | None:
    """The endpoint to ring for ``user_id``: a desk phone first, else their webphone (a
    supervisor's phone; a colleague an agent consults before a transfer)."""
    rows = s.execute(select(PhoneEndpoint.name, PhoneEndpoint.kind).where(
        PhoneEndpoint.tenant_id == tenant_id, PhoneEndpoint.user_id == user_id)
        .order_by(PhoneEndpoint.id)).all()
    names = [n for n, k in rows if k != "webphone"] or [n for n, _ in rows]
    return names[0] if names else None


def agent_endpoints(s: Session, tenant_id: int, user_id: int) -> set[str] | None:
    """The phones of agent ``user_id``; None when there is no such user in the tenant."""
    user = s.get(User, user_id)
    if user is None or user.tenant_id != tenant_id:
        return None
    return set(s.scalars(select(PhoneEndpoint.name).where(
        PhoneEndpoint.tenant_id == tenant_id, PhoneEndpoint.user_id == user_id)))


def user_of_endpoint(s: Session, tenant_id: int, endpoint: str | None) -> int | None:
    if not endpoint:
        return None
    return s.scalar(select(PhoneEndpoint.user_id).where(
        PhoneEndpoint.tenant_id == tenant_id, PhoneEndpoint.name == endpoint))


def open_session(db: sessionmaker[Session], *, tenant_id: int, supervisor_id: int,
                 agent_id: int | None, call_id: str, phone: str, mode: str,
                 actor: str) -> int:
    """A new row (state dialing) and its ``supervision.start`` audit line; its id."""
    with transaction(db) as s:
        row = SupervisionSession(tenant_id=tenant_id, supervisor_id=supervisor_id,
                                 agent_id=agent_id, call_id=call_id, phone=phone, mode=mode,
                                 modes=mode, state="dialing", end_reason="")
        s.add(row)
        s.flush()
        audit.record(s, "supervision.start", tenant_id=tenant_id, actor=actor, source=SOURCE,
                     detail={"session": row.id, "agent_id": agent_id, "call_id": call_id,
                             "mode": mode, "phone": phone})
        return row.id


def mark_active(db: sessionmaker[Session], session_id: int) -> None:
    with transaction(db) as s:
        row = s.get(SupervisionSession, session_id)
        if row is not None and row.state == "dialing":
            row.state = "active"


def change_mode(db: sessionmaker[Session], session_id: int, mode: str, actor: str) -> None:
    with transaction(db) as s:
        row = s.get(SupervisionSession, session_id)
        if row is None:
            return
        row.mode = mode
        row.modes = f"{row.modes},{mode}"[-200:]
        audit.record(s, "supervision.mode", tenant_id=row.tenant_id, actor=actor, source=SOURCE,
                     detail={"session": row.id, "call_id": row.call_id, "mode": mode})


def end_session(db: sessionmaker[Session], session_id: int, reason: str, actor: str) -> None:
    """Close the row (once) with its ``supervision.end`` audit line."""
    with transaction(db) as s:
        row = s.get(SupervisionSession, session_id)
        if row is None or row.state == "ended":
            return
        _end(s, row, reason, actor)


def end_stale(db: sessionmaker[Session], live: set[int]) -> list[int]:
    """Close every open row but ``live`` (a daemon that died left them); their ids."""
    with transaction(db) as s:
        rows = list(s.scalars(select(SupervisionSession).where(
            SupervisionSession.state != "ended")))
        stale = [r for r in rows if r.id not in live]
        for row in stale:
            _end(s, row, "restart", "controlplane")
        return [r.id for r in stale]


def _end(s: Session, row: SupervisionSession, reason: str, actor: str) -> None:
    row.state, row.ended_at, row.end_reason = "ended", utcnow(), reason[:32]
    audit.record(s, "supervision.end", tenant_id=row.tenant_id, actor=actor, source=SOURCE,
                 detail={"session": row.id, "call_id": row.call_id, "agent_id": row.agent_id,
                         "modes": row.modes, "reason": reason,
                         "started_at": row.started_at.isoformat()})


# ---- the panel's reads ----

def get(s: Session, tenant_id: int, session_id: int) -> SupervisionSession | None:
    row = s.get(SupervisionSession, session_id)
    return row if row is not None and row.tenant_id == tenant_id else None


def active_of(s: Session, tenant_id: int, supervisor_id: int) -> SupervisionSession | None:
    """The supervisor's open session, if any."""
    return s.scalars(select(SupervisionSession).where(
        SupervisionSession.tenant_id == tenant_id,
        SupervisionSession.supervisor_id == supervisor_id,
        SupervisionSession.state != "ended").order_by(SupervisionSession.id.desc())).first()
