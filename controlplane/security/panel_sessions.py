"""Panel sessions on the server: start, look up, touch, revoke (``panel_session`` table).

The cookie holds a random id (256 bits); only its SHA-256 is stored, so the table alone
cannot be replayed. A session is live while not revoked and before both its idle expiry
(pushed forward by use) and its absolute expiry (fixed at login). Lookups return a
frozen :class:`SessionInfo`, never an ORM object, so nothing outlives the DB session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from controlplane.models.panel_sessions import PanelSession

TOKEN_BYTES = 32
# A live session's last-seen time is written at most this often (one write a minute per
# browser, not one per request); idle expiry is therefore exact to within this.
TOUCH_EVERY = timedelta(seconds=60)
# Ended sessions stay this long for the administrator's session list, then go.
KEEP_ENDED = timedelta(days=30)


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    absolute_expires_at: datetime
    source: str
    user_agent: str
    password_fp: str
    data: dict[str, object]
    revoked_at: datetime | None
    revoked_reason: str
    workstation: str = ""

    def live(self, now: datetime) -> bool:
        return (self.revoked_at is None and now < self.idle_expires_at
                and now < self.absolute_expires_at)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_fingerprint(password_hash: str) -> str:
    """A short digest of a password hash: changes whenever the password does."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def info_of(row: PanelSession) -> SessionInfo:
    return SessionInfo(
        id=row.id, user_id=row.user_id, created_at=row.created_at,
        last_seen_at=row.last_seen_at, idle_expires_at=row.idle_expires_at,
        absolute_expires_at=row.absolute_expires_at, source=row.source,
        user_agent=row.user_agent, password_fp=row.password_fp, data=dict(row.data or {}),
        revoked_at=row.revoked_at, revoked_reason=row.revoked_reason,
        workstation=row.workstation or "")


def start(s: Session, *, user_id: int, password_hash: str, source: str, user_agent: str,
          now: datetime, lifetimes: Lifetimes, workstation: str = "",
          ) -> tuple[str, SessionInfo]:
    """Open a session for ``user_id``; returns the cookie token (shown once) and the row."""
    token = new_token()
    absolute = now + lifetimes.absolute
    row = PanelSession(
        token_hash=token_hash(token), user_id=user_id, created_at=now, last_seen_at=now,
        idle_expires_at=min(now + lifetimes.idle, absolute), absolute_expires_at=absolute,
        source=source[:100], user_agent=user_agent[:300],
        password_fp=password_fingerprint(password_hash), data={}, revoked_reason="",
        workstation=workstation[:64])
    s.add(row)
    # Opportunistic clean-up: logins are rare enough, and the index makes it cheap.
    s.execute(delete(PanelSession).where(PanelSession.absolute_expires_at < now - KEEP_ENDED))
    s.flush()
    return token, info_of(row)


def find_live(s: Session, token: str, now: datetime) -> SessionInfo | None:
    """The live session of ``token``, else None."""
    row = s.scalar(select(PanelSession).where(PanelSession.token_hash == token_hash(token)))
    if row is None:
        return None
    info = info_of(row)
    return info if info.live(now) else None


def find_any(s: Session, token: str) -> SessionInfo | None:
    """The session of ``token`` whatever its state (to tell a browser why it was ended)."""
    row = s.scalar(select(PanelSession).where(PanelSession.token_hash == token_hash(token)))
    return info_of(row) if row is not None else None


def by_id(s: Session, session_id: int) -> SessionInfo | None:
    row = s.get(PanelSession, session_id, populate_existing=True)
    return info_of(row) if row is not None else None


def touch_due(info: SessionInfo, now: datetime) -> bool:
    return now - info.last_seen_at >= TOUCH_EVERY


def touch(s: Session, info: SessionInfo, now: datetime, lifetimes: Lifetimes) -> None:
    """Record use of a live session: last seen now, idle expiry pushed on."""
    s.execute(update(PanelSession)
              .where(PanelSession.id == info.id, PanelSession.revoked_at.is_(None))
              .values(last_seen_at=now,
                      idle_expires_at=min(now + lifetimes.idle, info.absolute_expires_at)))


def save_data(s: Session, session_id: int, data: dict[str, object]) -> None:
    s.execute(update(PanelSession).where(PanelSession.id == session_id).values(data=data))


def set_password_fp(s: Session, session_id: int, password_hash: str) -> None:
    """Keep ``session_id`` valid across its own user's password change."""
    s.execute(update(PanelSession).where(PanelSession.id == session_id)
              .values(password_fp=password_fingerprint(password_hash)))


def revoke(s: Session, session_id: int, reason: str, now: datetime) -> bool:
    """End one session; False if it was already ended."""
    result = s.execute(
        update(PanelSession)
        .where(PanelSession.id == session_id, PanelSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason[:100]))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_user(s: Session, user_id: int, reason: str, now: datetime,
                keep: int | None = None) -> int:
    """End every live session of ``user_id`` (but ``keep``); returns how many ended."""
    query = (update(PanelSession)
             .where(PanelSession.user_id == user_id, PanelSession.revoked_at.is_(None),
                    PanelSession.idle_expires_at > now, PanelSession.absolute_expires_at > now)
             .values(revoked_at=now, revoked_reason=reason[:100]))
    if keep is not None:
        query = query.where(PanelSession.id != keep)
    return int(s.execute(query).rowcount)  # type: ignore[attr-defined]


def of_user(s: Session, user_id: int, limit: int = 50) -> list[SessionInfo]:
    """The newest sessions of ``user_id``, live and ended."""
    rows = s.scalars(select(PanelSession).where(PanelSession.user_id == user_id)
                     .order_by(PanelSession.id.desc()).limit(limit))
    return [info_of(r) for r in rows]
