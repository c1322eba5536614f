"""An administrator changes or deactivates a user of their tenant (``/users/<id>`` page and
``/api/v1/users/<id>``).

Theory of operation
-------------------
* :func:`update` changes the display name, role, language (``None``: the tenant's) and
  whether the user is active. A change that would leave the tenant without an active
  administrator, or take the acting admin's own rights away (their role, their account),
  is refused with 409 ``conflict``: nobody could then administer the tenant, or the admin
  would lock themselves out mid-request.
* Deactivating (``active`` false, or :func:`deactivate`) ends the user's panel sessions and
  revokes their API tokens in the same transaction, so the next request of any browser or
  integration holding them is refused; a licensed user's seat is counted from live
  sessions (:func:`controlplane.security.access_store.seats_in_use`), so it is free at
  once. Reactivating gives nothing back: the user logs in again, and tokens are new ones.
* Every change is one ``user.updated`` / ``user.deactivated`` audit row with the fields
  before and after.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from controlplane.api_access import store as tokens
from controlplane.errors import Conflict
from controlplane.models import Role, User
from controlplane.models.api_tokens import ApiToken
from controlplane.security import audit, panel_sessions

FIELDS = ("display_name", "role", "locale", "active")


@dataclass(frozen=True)
class Actor:
    """The administrator making the change, for the checks and the audit row."""

    user_id: int
    address: str
    source: str


def _active_admins(s: Session, tenant_id: int) -> int:
    return int(s.scalar(select(func.count()).select_from(User).where(
        User.tenant_id == tenant_id, User.role == Role.ADMIN, User.active.is_(True))) or 0)


def _snapshot(user: User) -> dict[str, Any]:
    return {"display_name": user.display_name, "role": user.role.value,
            "locale": user.locale, "active": user.active}


def _check(s: Session, user: User, role: Role, active: bool, actor: Actor) -> None:
    """Refuse what would lock the acting admin out or leave no active administrator."""
    if user.id == actor.user_id and not active:
        raise Conflict("you cannot deactivate your own account; ask another administrator",
                       details={"field": "active", "reason": "own_account"})
    if user.id == actor.user_id and role != Role.ADMIN:
        raise Conflict("you cannot take the administrator role from yourself; ask another "
                       "administrator", details={"field": "role", "reason": "own_role"})
    was_admin = user.role == Role.ADMIN and user.active
    if was_admin and (role != Role.ADMIN or not active) and _active_admins(s, user.tenant_id) <= 1:
        raise Conflict(f"{user.login} is the tenant's last active administrator; make "
                       "someone else an administrator first",
                       details={"field": "active" if not active else "role",
                                "reason": "last_admin"})


def update(s: Session, user: User, values: dict[str, Any], actor: Actor,
           now: datetime) -> dict[str, Any]:
    """Apply ``values`` (a subset of :data:`FIELDS`; ``role`` as :class:`Role` or its value)
    to ``user``; returns what changed, field → [before, after]."""
    before = _snapshot(user)
    role = Role(values.get("role", user.role))
    active = bool(values.get("active", user.active))
    _check(s, user, role, active, actor)
    if "display_name" in values:
        user.display_name = values["display_name"] or ""
    if "locale" in values:
        user.locale = values["locale"] or None
    user.role = role
    ended = _end_access(s, user, actor, now) if user.active and not active else None
    user.active = active
    after = _snapshot(user)
    changed = {k: [before[k], after[k]] for k in FIELDS if before[k] != after[k]}
    if changed:
        detail: dict[str, Any] = {"user": user.login, "changed": changed}
        if ended is not None:
            detail.update(ended)
        audit.record(s, "user.deactivated" if ended is not None else "user.updated",
                     tenant_id=user.tenant_id, actor=actor.address, source=actor.source,
                     detail=detail)
    s.flush()
    return changed


def deactivate(s: Session, user: User, actor: Actor, now: datetime) -> dict[str, Any]:
    """Deactivate ``user`` (sessions ended, tokens revoked, audited); idempotent."""
    return update(s, user, {"active": False}, actor, now)


def _end_access(s: Session, user: User, actor: Actor, now: datetime) -> dict[str, int]:
    sessions = panel_sessions.revoke_user(s, user.id, f"deactivated:{actor.address}", now)
    revoked = sum(tokens.revoke(row, now) for row in s.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
    return {"sessions": sessions, "tokens": revoked}
