"""The SQL behind seats, workstations and the IP allow-list (``tenant_access``, sessions).

Theory of operation. A *seat* is a licence in use: a user of a licensed role with at
least one live panel session (two tabs of one user take one seat). Seats are counted
from the ``panel_session`` rows at login time, so a session that ends (logout, expiry,
take-over, force logout) frees its seat with no bookkeeping. Two logins racing for the
last seat may both pass; the count is a cap for honest use, not a lock.

A *workstation* is the browser a session was opened in (its known-device id). "One user
on one workstation" looks for the user's live sessions opened in another browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from controlplane.models import PanelSession, Role, TenantAccess, User
from controlplane.security import ip_allow_list
from controlplane.security.panel_sessions import SessionInfo, info_of

# Seed §1 and §5.2: a licence is a user's access; simultaneous use is capped by the
# licence count. Administrators are not counted: an administrator who could not get in
# could not free a seat (force logout) nor buy more, and the tenant would be locked out.
LICENSED_ROLES = (Role.AGENT, Role.SUPERVISOR)


@dataclass(frozen=True)
class AccessPolicy:
    ip_allow_list: tuple[str, ...] = ()
    one_workstation: bool = True

    def allows(self, address: str) -> bool:
        return ip_allow_list.allows(ip_allow_list.parse(self.ip_allow_list), address)


def policy(s: Session, tenant_id: int) -> AccessPolicy:
    row = s.get(TenantAccess, tenant_id)
    if row is None:
        return AccessPolicy()
    return AccessPolicy(tuple(row.ip_allow_list or ()), bool(row.one_workstation))


def save_policy(s: Session, tenant_id: int, *, ip_list: list[str] | None = None,
                one_workstation: bool | None = None, now: datetime) -> AccessPolicy:
    """Change what is given (``ip_list`` already normalised); returns the new policy."""
    row = s.get(TenantAccess, tenant_id)
    if row is None:
        row = TenantAccess(tenant_id=tenant_id, ip_allow_list=[], one_workstation=True)
        s.add(row)
    if ip_list is not None:
        row.ip_allow_list = list(ip_list)
    if one_workstation is not None:
        row.one_workstation = one_workstation
    row.updated_at = now
    s.flush()
    return AccessPolicy(tuple(row.ip_allow_list), bool(row.one_workstation))


def _live(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (PanelSession.revoked_at.is_(None), PanelSession.idle_expires_at > now,
            PanelSession.absolute_expires_at > now)


def seats_in_use(s: Session, tenant_id: int, now: datetime, *,
                 other_than: int | None = None) -> int:
    """Licensed users of ``tenant_id`` with a live session (``other_than`` left out)."""
    query = (select(func.count(distinct(PanelSession.user_id)))
             .join(User, User.id == PanelSession.user_id)
             .where(User.tenant_id == tenant_id, User.active.is_(True),
                    User.role.in_(LICENSED_ROLES), *_live(now)))
    if other_than is not None:
        query = query.where(PanelSession.user_id != other_than)
    return int(s.scalar(query) or 0)


def sessions_elsewhere(s: Session, user_id: int, workstation: str,
                       now: datetime) -> list[SessionInfo]:
    """``user_id``'s live sessions opened in another browser than ``workstation``, newest
    first."""
    rows = s.scalars(select(PanelSession)
                     .where(PanelSession.user_id == user_id,
                            PanelSession.workstation != workstation, *_live(now))
                     .order_by(PanelSession.id.desc()))
    return [info_of(r) for r in rows]
