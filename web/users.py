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

One user, read and changed by an admin (``/users/<id>`` page with a *Deactivate* button;
:mod:`controlplane.tenants.user_admin` has the rules):

* ``GET    /api/v1/users/<id>`` — the user, their phones and live sessions;
* ``PUT    /api/v1/users/<id>`` — ``{"display_name", "role", "locale", "active"}``, any of
  them (a phone is assigned to a user on the phone: ``PUT /api/v1/phones/<id>``);
* ``DELETE /api/v1/users/<id>`` — deactivate: sessions ended, API tokens revoked, the seat
  freed, audited. Deactivating oneself or the last administrator is 409.

The other API routes take no parameters or body (``@validated()`` refuses any by name). A user of another tenant is "not found" (404). Every force logout is a
``session.revoked`` audit row naming the admin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.bus import send_reload
from controlplane.chat import leaving
from controlplane.db import transaction
from controlplane.errors import CentralaError, Conflict
from controlplane.models import PhoneEndpoint, Role, User
from controlplane.security import audit, panel_sessions
from controlplane.security.panel_sessions import SessionInfo
from controlplane.tenants import service as tenant_service
from controlplane.tenants import store, user_admin
from controlplane.tenants.schemas import InviteForm, UserCreate
from controlplane.tenants.tokens import Purpose
from web.auth import client_address, current_user, login_required
from web.errors import NotFound
from web.schemas.users import UserEditForm, UserUpdate
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
        target_id = target.id
    leaving.session_ended(services().redis, services().sessions, me.tenant_id, target_id,
                          actor_id=me.id, by=me.address)
    return count


@bp.get("/users")
@login_required(Role.ADMIN)
def index() -> Any:
    return render_template("users.html", rows=_rows())


@bp.post("/users/<int:user_id>/sessions/revoke")
@login_required(Role.ADMIN)
def revoke(user_id: int) -> BaseResponse:
    count = revoke_sessions(user_id)
    flash(_("%(num)d session(s) ended", num=count), "ok")
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


# --- one user: read, change, deactivate ------------------------------------------------


def _actor() -> user_admin.Actor:
    me = current_user()
    return user_admin.Actor(me.id, me.address, client_address())


def user_json(s: Session, user: User) -> dict[str, Any]:
    """A user as the API shows it: fields, phones (extensions) and live sessions."""
    now = clock(current_app)
    phones = list(s.scalars(select(PhoneEndpoint.extension).where(
        PhoneEndpoint.tenant_id == user.tenant_id, PhoneEndpoint.user_id == user.id)
        .order_by(PhoneEndpoint.extension)))
    return {"id": user.id, "login": user.login, "display_name": user.display_name or user.login,
            "role": user.role.value, "active": user.active, "email": user.email or None,
            "activated": bool(user.password_hash), "locale": user.locale, "phones": phones,
            "sessions": [_session_json(i, now) for i in panel_sessions.of_user(s, user.id)
                         if i.live(now)]}


def change_user(user_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Apply ``values`` to the tenant's user ``user_id`` (409 on the admin rules); the ACD
    re-reads the tenant's agents when the role or the account's state changed."""
    me = current_user()
    if values.get("active") is False and user_id != me.id:  # their chats first, while active
        leaving.session_ended(services().redis, services().sessions, me.tenant_id, user_id,
                              actor_id=me.id, by=me.address)
    with transaction(services().sessions) as s:
        target = _tenant_user(s, user_id)
        changed = user_admin.update(s, target, values, _actor(), clock(current_app))
    if "role" in changed or "active" in changed:
        try:
            send_reload(services().redis, me.tenant_id, actor_id=me.id)
        except redis.RedisError:  # the daemon re-reads on its own start; the change stands
            current_app.logger.warning("acd.reload for tenant %s not sent", me.tenant_id)
    return changed


def _conflict_text(err: Conflict) -> str:
    """The admin rules' refusals in the page's language (the API keeps the English message)."""
    texts = {
        "own_account": _("You cannot deactivate your own account; ask another administrator."),
        "own_role": _("You cannot take the administrator role from yourself; ask another "
                      "administrator."),
        "last_admin": _("This is the tenant's last active administrator: make someone else "
                        "an administrator first."),
    }
    return texts.get(str(err.details.get("reason")), err.message)


def _edit_page(user_id: int, problems_: dict[str, str] | None = None,
               form: dict[str, str] | None = None, status: int = 200) -> Any:
    with services().sessions() as s:
        target = _tenant_user(s, user_id)
        shown = user_json(s, target)
    values = form if form is not None else {
        "display_name": target.display_name, "role": shown["role"], "locale": shown["locale"] or ""}
    return render_template("users_edit.html", target=shown, form=values, problems=problems_ or {},
                           roles=INVITE_ROLES, own=user_id == current_user().id), status


@bp.get("/users/<int:user_id>")
@login_required(Role.ADMIN)
def edit(user_id: int) -> Any:
    return _edit_page(user_id)


@bp.post("/users/<int:user_id>")
@login_required(Role.ADMIN)
def save(user_id: int) -> Any:
    form = parse_form(UserEditForm).model_dump()
    values = {k: v.strip() for k, v in form.items()}
    try:
        req = UserUpdate.model_validate({k: v for k, v in values.items() if k != "role" or v})
    except ValidationError as err:
        return _edit_page(user_id, {p.field: p.message for p in problems(err, UserUpdate)},
                          values, 400)
    try:
        change_user(user_id, req.given())
    except Conflict as err:
        return _edit_page(user_id, {str(err.details.get("field", "role")): _conflict_text(err)},
                          values, 409)
    flash(_("User saved."), "ok")
    return redirect(url_for("users.index"))


@bp.post("/users/<int:user_id>/deactivate")
@login_required(Role.ADMIN)
def deactivate(user_id: int) -> Any:
    try:
        change_user(user_id, {"active": False})
    except Conflict as err:
        return _edit_page(user_id, {"active": _conflict_text(err)}, None, 409)
    flash(_("User deactivated: their sessions ended and their API tokens were revoked."), "ok")
    return redirect(url_for("users.index"))


@bp.post("/users/<int:user_id>/activate")
@login_required(Role.ADMIN)
def activate(user_id: int) -> BaseResponse:
    change_user(user_id, {"active": True})
    flash(_("User activated again."), "ok")
    return redirect(url_for("users.index"))


@bp.get("/api/v1/users/<int:user_id>")
@login_required(Role.ADMIN)
@validated()
def api_user(user_id: int) -> Any:
    """One user of the tenant: fields, phones and live panel sessions."""
    with services().sessions() as s:
        return jsonify({"user": user_json(s, _tenant_user(s, user_id))})


@bp.put("/api/v1/users/<int:user_id>")
@login_required(Role.ADMIN)
@validated(body=UserUpdate)
def api_update(user_id: int, body: UserUpdate) -> Any:
    """Change a user's display name, role, language or active state (fields not sent keep
    their value). Taking the last administrator away, or one's own rights, is 409."""
    changed = change_user(user_id, body.given())
    with services().sessions() as s:
        return jsonify({"user": user_json(s, _tenant_user(s, user_id)), "changed": changed})


@bp.delete("/api/v1/users/<int:user_id>")
@login_required(Role.ADMIN)
@validated()
def api_deactivate(user_id: int) -> Any:
    """Deactivate a user: panel sessions ended, API tokens revoked, licence freed, audited.
    Oneself or the tenant's last administrator: 409."""
    changed = change_user(user_id, {"active": False})
    with services().sessions() as s:
        return jsonify({"user": user_json(s, _tenant_user(s, user_id)), "changed": changed})
