"""The administrator's list of users and their panel sessions, with a force logout.

An admin sees the users of their own tenant, each with their live panel sessions (when,
from where, which browser) and an *End sessions* button; the same is in the API:

* ``GET  /api/v1/users`` — the tenant's users with their live sessions;
* ``GET  /api/v1/users/<id>/sessions`` — one user's sessions, live and ended;
* ``POST /api/v1/users/<id>/sessions/revoke`` — end all of that user's sessions now
  (``{"revoked": n}``); the next request of any of their browsers is logged out.

None of the API routes takes parameters or a body (``@validated()`` refuses any by
name). A user of another tenant is "not found" (404). Every force logout is a
``session.revoked`` audit row naming the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.models import Role, User
from controlplane.security import audit, panel_sessions
from controlplane.security.panel_sessions import SessionInfo
from web.auth import client_address, current_user, login_required
from web.errors import NotFound
from web.services import services
from web.session_cookie import clock
from web.validation import validated

bp = Blueprint("users", __name__)


@dataclass(frozen=True)
class UserRow:
    id: int
    login: str
    display_name: str
    role: str
    active: bool
    sessions: list[SessionInfo]  # live ones, newest first


def _session_json(info: SessionInfo, now: Any) -> dict[str, Any]:
    return {
        "id": info.id,
        "created_at": info.created_at.isoformat(),
        "last_seen_at": info.last_seen_at.isoformat(),
        "idle_expires_at": info.idle_expires_at.isoformat(),
        "absolute_expires_at": info.absolute_expires_at.isoformat(),
        "source": info.source,
        "user_agent": info.user_agent,
        "live": info.live(now),
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "revoked_reason": info.revoked_reason or None,
    }


def _tenant_user(s: Session, user_id: int) -> User:
    me = current_user()
    target = s.scalar(select(User).where(User.id == user_id, User.tenant_id == me.tenant_id))
    if target is None:
        raise NotFound(f"no user {user_id} in your tenant")
    return target


def _rows() -> list[UserRow]:
    me, now = current_user(), clock(current_app)
    with services().sessions() as s:
        users = s.scalars(select(User).where(User.tenant_id == me.tenant_id).order_by(User.login))
        return [
            UserRow(u.id, u.login, u.display_name or u.login, u.role.value, u.active,
                    [i for i in panel_sessions.of_user(s, u.id) if i.live(now)])
            for u in users
        ]


def revoke_sessions(user_id: int) -> int:
    """End every session of ``user_id`` (of the admin's tenant); returns how many."""
    me = current_user()
    with transaction(services().sessions) as s:
        target = _tenant_user(s, user_id)
        target_address = f"{target.login}@{me.tenant_domain}"
        count = panel_sessions.revoke_user(s, target.id, f"admin:{me.address}",
                                           clock(current_app))
        audit.record(s, "session.revoked", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(),
                     detail={"reason": "admin", "user": target_address, "sessions": count})
    return count


@bp.get("/users")
@login_required(Role.ADMIN)
def index() -> Any:
    return render_template("users.html", rows=_rows())


@bp.post("/users/<int:user_id>/sessions/revoke")
@login_required(Role.ADMIN)
def revoke(user_id: int) -> BaseResponse:
    count = revoke_sessions(user_id)
    flash(f"{count} session(s) ended", "ok")
    return redirect(url_for("users.index"))


@bp.get("/api/v1/users")
@login_required(Role.ADMIN)
@validated()
def api_users() -> Any:
    now = clock(current_app)
    return jsonify({"users": [
        {"id": r.id, "login": r.login, "display_name": r.display_name, "role": r.role,
         "active": r.active, "sessions": [_session_json(i, now) for i in r.sessions]}
        for r in _rows()
    ]})


@bp.get("/api/v1/users/<int:user_id>/sessions")
@login_required(Role.ADMIN)
@validated()
def api_sessions(user_id: int) -> Any:
    now = clock(current_app)
    with services().sessions() as s:
        target = _tenant_user(s, user_id)
        infos = panel_sessions.of_user(s, target.id)
    return jsonify({"sessions": [_session_json(i, now) for i in infos]})


@bp.post("/api/v1/users/<int:user_id>/sessions/revoke")
@login_required(Role.ADMIN)
@validated()
def api_revoke(user_id: int) -> Any:
    return jsonify({"revoked": revoke_sessions(user_id)})
