"""The administrator's list of users and their panel sessions, with a force logout.

An admin sees the users of their own tenant, each with their live panel sessions (when,
from where, which browser) and an *End sessions* button; the same is in the API:

* ``GET  /api/v1/users`` — the tenant's users with their live sessions;
* ``GET  /api/v1/users/<id>/sessions`` — one user's sessions, live and ended;
* ``POST /api/v1/users/<id>/sessions/revoke`` — end all of that user's sessions now
  (``{"revoked": n}``); the next request of any of their browsers is logged out.

New users are invited by e-mail (:func:`controlplane.tenants.service.invite_user`): the
admin gives an address and a role, never a password; the user gets a single-use
activation link (48 h) and sets their own. ``/users/new`` (form), ``POST /api/v1/users``
(``{"email", "role", "display_name"?, "login"?}`` → 201), and *Send activation again*
(``POST /users/<id>/activation``, ``/api/v1/users/<id>/activation``) for a user who has
not activated yet.

The other API routes take no parameters or body (``@validated()`` refuses any by name). A user of another tenant is "not found" (404). Every force logout is a
``session.revoked`` audit row naming the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.errors import CentralaError, Conflict
from controlplane.models import Role, User
from controlplane.security import audit, panel_sessions
from controlplane.security.panel_sessions import SessionInfo
from controlplane.tenants import service as tenant_service
from controlplane.tenants import store
from controlplane.tenants.schemas import InviteForm, UserCreate
from controlplane.tenants.tokens import Purpose
from web.auth import client_address, current_user, login_required
from web.errors import NotFound
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form, problems, validated

bp = Blueprint("users", __name__)

INVITE_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True)
class UserRow:
    id: int
    login: str
    display_name: str
    role: str
    active: bool
    sessions: list[SessionInfo]  # live ones, newest first
    email: str = ""
    activated: bool = True  # False: invited, password not set yet


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
                    [i for i in panel_sessions.of_user(s, u.id) if i.live(now)],
                    u.email or "", bool(u.password_hash))
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
         "active": r.active, "email": r.email or None, "activated": r.activated, "sessions": [_session_json(i, now) for i in r.sessions]}
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


# --- invitations (activation by e-mail) ---------------------------------------------


def invite(req: UserCreate) -> UserRow:
    """Create the user without a password and queue their activation mail."""
    me = current_user()
    with transaction(services().sessions) as s:
        user = tenant_service.invite_user(s, me.tenant_id, req, by=me.address,
                                          source=client_address(), now=clock(current_app))
        return UserRow(user.id, user.login, user.display_name or user.login, user.role.value,
                       user.active, [], user.email or "", False)


def resend_activation(user_id: int) -> None:
    me = current_user()
    with transaction(services().sessions) as s:
        target = _tenant_user(s, user_id)
        if target.password_hash or not target.email:
            raise Conflict(f"{target.login} has activated their account already"
                           if target.password_hash else f"{target.login} has no e-mail")
        store.request_link(s, target, Purpose.ACTIVATION, by=me.address,
                           source=client_address(), now=clock(current_app))
        audit.record(s, "user.invited", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(), detail={"user": target.login, "again": True})


def _invite_page(problems_: dict[str, str] | None = None, form: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    return render_template("users_new.html", problems=problems_ or {}, form=form or {},
                           roles=INVITE_ROLES), status


@bp.get("/users/new")
@login_required(Role.ADMIN)
def new() -> Any:
    return _invite_page()


@bp.post("/users")
@login_required(Role.ADMIN)
def create() -> Any:
    raw = parse_form(InviteForm).model_dump()
    values = {k: v.strip() for k, v in raw.items() if v.strip()}
    try:
        req = UserCreate.model_validate(values)
    except ValidationError as err:
        return _invite_page({p.field: p.message for p in problems(err, UserCreate)}, values, 400)
    try:
        row = invite(req)
    except CentralaError as err:
        return _invite_page({str(err.details.get("field", "email")): err.message}, values,
                            err.status)
    flash(_("%(login)s created; the activation link was mailed to %(email)s.",
            login=row.login, email=row.email), "ok")
    return redirect(url_for("users.index"))


@bp.post("/users/<int:user_id>/activation")
@login_required(Role.ADMIN)
def activation(user_id: int) -> BaseResponse:
    resend_activation(user_id)
    flash(_("A new activation link was mailed."), "ok")
    return redirect(url_for("users.index"))


@bp.post("/api/v1/users")
@login_required(Role.ADMIN)
@validated(body=UserCreate)
def api_create(body: UserCreate) -> Any:
    row = invite(body)
    return jsonify({"user": {"id": row.id, "login": row.login, "display_name": row.display_name,
                             "role": row.role, "active": row.active, "email": row.email,
                             "activated": False}}), 201


@bp.post("/api/v1/users/<int:user_id>/activation")
@login_required(Role.ADMIN)
@validated()
def api_activation(user_id: int) -> Any:
    resend_activation(user_id)
    return jsonify({"queued": True}), 202
