"""After the password: IP allow-list, second factor, licences, one workstation, session.

Theory of operation. :func:`web.auth.login` checks the password and hands over to
:func:`proceed`. Each later step may stop the login with a page (the code form, the
take-over question) or a refusal; what was proved so far travels between the pages in a
*pending-login* token, signed with the app's secret (itsdangerous), valid five minutes,
bound to this browser's visitor cookie and to the user's password fingerprint: it cannot
be carried to another browser nor outlive a password change. The steps, in order:

1. the tenant's IP allow-list (``ip_not_allowed``, 403);
2. the second factor, if the user turned it on (form at ``/login/code``; a wrong code
   counts as a failed login for throttling and the audit trail);
3. licences: agents and supervisors with a live session, others than this user, must
   be fewer than ``tenant.licences`` (``licences``, 403; see
   :mod:`controlplane.security.access_store`);
4. one user on one workstation (tenant policy, on by default): live sessions of the user
   opened in another browser bring the question "take over?" (``/login/take-over``);
   yes ends them (``taken_over``: their next request lands on the login page saying why);
5. the session starts (``login.ok``).

Every refusal is a ``login.refused`` audit row with its reason; a take-over is a
``session.taken_over`` row naming the sessions it ended.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask import redirect as flask_redirect
from flask_babel import gettext
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.models import Tenant, User
from controlplane.security import access_store, audit, panel_sessions, totp_store
from controlplane.security.login_throttle import Attempt, LoginThrottle, device_hash
from web import known_devices
from web.auth import client_address, home_page, panel_session, public, user_agent
from web.i18n import local_time
from web.services import services
from web.session_cookie import LOGGED_IN, clock, lifetimes

bp = Blueprint("login_access", __name__)

PENDING_MAX_AGE_S = 300
_SALT = "centrala-login-pending"
MAX_CODE_LEN = 40


@dataclass(frozen=True)
class Pending:
    """A login whose password was right, on its way through the later steps."""

    user_id: int
    tenant_id: int
    account: str
    password_fp: str
    next_url: str | None
    second_factor: bool = False  # the code was given (or none is needed)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.secret_key), salt=_SALT)


def _browser() -> str:
    return hashlib.sha256(panel_session().token.encode()).hexdigest()[:16]


def _seal(p: Pending) -> str:
    panel_session().keep()  # the token is bound to the visitor cookie: the browser keeps it
    return _serializer().dumps({**asdict(p), "browser": _browser()})


def _open(raw: str) -> Pending | None:
    if not raw or len(raw) > 2000:
        return None
    try:
        value = _serializer().loads(raw, max_age=PENDING_MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(value, dict) or value.pop("browser", None) != _browser():
        return None
    try:
        return Pending(**value)
    except TypeError:
        return None


def _login_form(p: Pending | None, error: str, status: int, *, reason: str = "") -> BaseResponse:
    return current_app.make_response((render_template(
        "login.html", next_url=p.next_url if p else None,
        address=p.account if p else "", error=error, reason=reason), status))


def _refuse(p: Pending, reason: str, message: str, **detail: object) -> BaseResponse:
    with transaction(services().sessions) as s:
        event = audit.record(s, "login.refused", tenant_id=p.tenant_id, actor=p.account,
                             source=client_address(),
                             detail={"reason": reason, "user_agent": user_agent(), **detail})
        event.at = clock(current_app)
    return _login_form(p, message, 403, reason=reason)


def _attempt(account: str) -> Attempt:
    device = known_devices.device_for(current_app, request, account)
    return Attempt(client_address(), account, device_hash(device) if device else None)


def proceed(p: Pending, *, take_over: bool = False) -> BaseResponse:
    """Run the steps after the password for ``p`` (see the module docstring)."""
    svc, now = services(), clock(current_app)
    workstation = known_devices.browser_id(current_app, request)
    with svc.sessions() as s:
        user, tenant = s.get(User, p.user_id), s.get(Tenant, p.tenant_id)
        if (user is None or tenant is None or not user.active or user.tenant_id != tenant.id
                or panel_sessions.password_fingerprint(user.password_hash) != p.password_fp):
            return _login_form(None, gettext("Your login took too long or your account "
                                             "changed; please log in again."), 400)
        policy = access_store.policy(s, tenant.id)
        if not policy.allows(client_address()):
            return _refuse(p, "ip_not_allowed", gettext(
                "Logging in to %(tenant)s from your address %(address)s is not allowed "
                "(the tenant's IP allow-list). Ask your administrator.",
                tenant=tenant.name, address=client_address()), address=client_address())
        if not p.second_factor and totp_store.enabled(s, user.id):
            return _code_form(p)
        if user.role in access_store.LICENSED_ROLES:
            used = access_store.seats_in_use(s, tenant.id, now, other_than=user.id)
            if used >= tenant.licences:
                return _refuse(p, "licences", gettext(
                    "All %(limit)d licences of %(tenant)s are in use: %(used)d agents and "
                    "supervisors are logged in. Ask someone to log out, or an administrator "
                    "to end a session or add licences.",
                    limit=tenant.licences, tenant=tenant.name, used=used),
                    licences=tenant.licences, in_use=used)
        elsewhere = (access_store.sessions_elsewhere(s, user.id, workstation, now)
                     if policy.one_workstation else [])
        password_hash = user.password_hash
    if elsewhere and not take_over:
        other = elsewhere[0]
        return current_app.make_response(render_template(
            "login_take_over.html", pending=_seal(p), source=other.source or "?",
            since=local_time(other.created_at), sessions=len(elsewhere)))
    return _finish(p, password_hash, workstation, [e.id for e in elsewhere])


def _finish(p: Pending, password_hash: str, workstation: str,
            take_over: list[int]) -> BaseResponse:
    svc, now = services(), clock(current_app)
    with transaction(svc.sessions) as s:
        ended = [sid for sid in take_over if panel_sessions.revoke(s, sid, "taken_over", now)]
        if ended:
            audit.record(s, "session.taken_over", tenant_id=p.tenant_id, actor=p.account,
                         source=client_address(),
                         detail={"sessions": ended, "user_agent": user_agent()})
        token, info = panel_sessions.start(
            s, user_id=p.user_id, password_hash=password_hash, source=client_address(),
            user_agent=user_agent(), now=now, lifetimes=lifetimes(current_app),
            workstation=workstation)
        event = audit.record(s, "login.ok", tenant_id=p.tenant_id, actor=p.account,
                             source=client_address(),
                             detail={"session": info.id, "user_agent": user_agent()})
        event.at = now
    # A fresh session id (no fixation) and with it a fresh CSRF token.
    panel_session().begin(LOGGED_IN + token, info)
    resp = flask_redirect(p.next_url or home_page(p.user_id))
    known_devices.remember(current_app, request, resp, p.account, device=workstation)
    return resp


def _code_form(p: Pending, error: str | None = None, status: int = 200) -> BaseResponse:
    return current_app.make_response((render_template(
        "login_code.html", pending=_seal(p), error=error), status))


def _expired() -> BaseResponse:
    return _login_form(None, gettext("Your login took too long; please log in again."), 400)


@bp.post("/login/code")
@public
def code() -> Any:
    """The second step for users with TOTP: a 6-digit code or a recovery code."""
    p = _open(request.form.get("pending", ""))
    if p is None:
        return _expired()
    svc, now = services(), clock(current_app)
    attempt = _attempt(p.account)
    throttle = LoginThrottle(svc.redis, current_app.config["LOGIN_THROTTLE"])
    with svc.sessions() as s:
        wait = throttle.wait_s(s, attempt, now)
    if wait:
        resp = _code_form(p, gettext("Too many failed logins; try again in %(wait)d s.",
                                     wait=wait), 429)
        resp.headers["Retry-After"] = str(wait)
        return resp
    given = request.form.get("code", "")[:MAX_CODE_LEN]
    with transaction(svc.sessions) as s:
        kind = totp_store.check_login(s, p.user_id, given, now)
        if kind is None:
            event = audit.record(s, "login.failed", tenant_id=p.tenant_id, actor=p.account,
                                 source=attempt.address,
                                 detail={"reason": "bad_code", "user_agent": user_agent()})
            event.at = now
        elif kind == "recovery":
            audit.record(s, "totp.recovery_used", tenant_id=p.tenant_id, actor=p.account,
                         source=attempt.address,
                         detail={"left": totp_store.recovery_left(s, p.user_id)})
    if kind is None:
        throttle.record_failure(attempt, now)
        return _code_form(p, gettext("That code is not right. Type the 6 digits your "
                                     "authenticator app shows now, or a recovery code."), 400)
    return proceed(Pending(**{**asdict(p), "second_factor": True}))


@bp.post("/login/take-over")
@public
def take_over() -> Any:
    """The answer "yes, take over" to the one-workstation question."""
    p = _open(request.form.get("pending", ""))
    if p is None:
        return _expired()
    return proceed(p, take_over=True)
