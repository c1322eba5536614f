"""Login, logout, the ``login_required`` decorator, CSRF tokens and login throttling.

Theory of operation: a user types ``login@tenant-domain`` and a password; the
password is checked with argon2 (an unknown user is checked against a dummy
hash so both failures take the same time and give the same message). On
success a server-side session starts (:mod:`controlplane.security.panel_sessions`;
the cookie carries only its random id, :mod:`web.session_cookie`), remembering a
fingerprint of the password hash, so a password changed by any means ends every
session of that user. Logout, a password change and an administrator's force
logout (:mod:`web.users`) revoke sessions in the database: a copied cookie stops
working at once. Every view is wrapped by :func:`login_required`, which reloads the
session and the user on each request (a deactivated user is out at once) and checks
the role. Each session has a CSRF token (an HMAC of its id); every non-GET request
must echo it in the ``csrf_token`` form field or the ``X-CSRF-Token`` header.

Every login, failed or not, and every logout is an audit row (``security_event``:
``login.ok``, ``login.failed``, ``logout``, ``session.revoked``) and a log line. Failed
logins slow further attempts with growing delays per address, per account and per
known browser (the rule: :mod:`controlplane.security.login_throttle`), from Redis or,
when Redis is down, from the ``login.failed`` rows.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from controlplane.api_access.tokens import bearer_secret
from controlplane.chat import leaving
from controlplane.db import transaction
from controlplane.models import Role, Tenant, User
from controlplane.passwords import hash_password, verify_password
from controlplane.security import audit, panel_sessions
from controlplane.security.login_throttle import Attempt, LoginThrottle, device_hash
from web import ip_allow, known_devices
from web.errors import CsrfFailed, PanelError, wants_json
from web.services import services
from web.session_cookie import PanelSession, clock
from web.view_marks import cookieless, public, signed_post  # noqa: F401  (re-exported: views import them from here)

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

GENERIC_LOGIN_ERROR = "invalid login or password"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_ADDRESS_LEN = 400
# A local path: one "/", then printable ASCII without a second "/" or "\" right after it
# (``//host`` and ``/\host`` are other sites to a browser); no spaces or control
# characters, which browsers strip (``/%09/evil.example`` becomes ``//evil.example``).
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]*")
MAX_NEXT_LEN = 2000

F = TypeVar("F", bound=Callable[..., Any])


class Unauthorized(PanelError):
    status = 401
    error_id = "unauthorized"


class Forbidden(PanelError):
    status = 403
    error_id = "forbidden"


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in user as the views see it (no ORM object outlives its session)."""

    id: int
    tenant_id: int
    tenant_domain: str
    tenant_name: str
    login: str
    display_name: str
    role: Role
    locale: str = "pl"  # the user's language, else the tenant's (web.i18n)
    time_zone: str = "Europe/Warsaw"  # the tenant's: every time on a page is shown in it

    @property
    def address(self) -> str:
        return f"{self.login}@{self.tenant_domain}"


def current_user() -> CurrentUser:
    """The user of this request; only valid inside a :func:`login_required` view."""
    user: CurrentUser = g.centrala_user
    return user


def panel_session() -> PanelSession:
    """This request's session object (:class:`web.session_cookie.PanelSession`)."""
    sess = session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(sess, PanelSession)
    return sess


def client_address() -> str:
    return (request.remote_addr or "unknown")[:100]


def user_agent() -> str:
    return (request.user_agent.string or "")[:200]


def _load_user() -> CurrentUser | None:
    """The session's user if the session is live, the user active and the password the
    one the session was opened with; otherwise the session ends here (and says why).
    A request made with an API token is its holder's (controlplane.api_access.http.bearer)."""
    if (bearer := g.get("centrala_bearer_user")) is not None:
        return bearer  # type: ignore[no-any-return]
    sess = panel_session()
    if sess.info is None:
        return None
    with services().sessions() as s:
        row = s.execute(
            select(User, Tenant).join(Tenant).where(User.id == sess.info.user_id)).first()
        if row is None:
            reason, tenant_id, actor = "user_deleted", None, ""
        else:
            user, tenant = row
            fp = panel_sessions.password_fingerprint(user.password_hash)
            if user.active and sess.info.password_fp == fp:
                return CurrentUser(
                    id=user.id,
                    tenant_id=tenant.id,
                    tenant_domain=tenant.domain,
                    tenant_name=tenant.name,
                    login=user.login,
                    display_name=user.display_name or user.login,
                    role=user.role,
                    locale=user.locale or tenant.locale,
                    time_zone=tenant.time_zone,
                )
            reason = "password_changed" if user.active else "user_inactive"
            tenant_id, actor = tenant.id, f"{user.login}@{tenant.domain}"
    with transaction(services().sessions) as s:
        if panel_sessions.revoke(s, sess.info.id, reason, clock(current_app)):
            audit.record(s, "session.revoked", tenant_id=tenant_id, actor=actor,
                         source=client_address(), detail={"reason": reason, "sessions": 1})
    sess.end()
    return None


def session_still_live() -> bool:
    """Whether this request's session is still live *now*, for responses that outlast the
    check made at their start (event streams): re-read from the database, so a logout,
    password change or force logout elsewhere ends them too."""
    sess = panel_session()
    if sess.info is None:
        return False
    with services().sessions() as s:
        info = panel_sessions.by_id(s, sess.info.id)
        user = s.get(User, sess.info.user_id)
        return (info is not None and info.live(clock(current_app)) and user is not None
                and user.active
                and info.password_fp == panel_sessions.password_fingerprint(user.password_hash))


def login_required(*roles: Role) -> Callable[[F], F]:
    """Require a logged-in user with one of ``roles`` (any role when none are given).

    Logged out: pages redirect to the login form; the API and event streams (which
    cannot follow a redirect to a form) get 401.
    Wrong role: 403. The allowed roles are kept on the view as ``centrala_roles``
    so a test can check that no route was left unguarded.
    """
    allowed = frozenset(roles) or frozenset(Role)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = _load_user()
            if user is None:
                why = ended_reason()
                if wants_json() or request.path.endswith("/stream"):
                    raise Unauthorized(ended_message(why) or "login required")
                return redirect(url_for("auth.login", next=_request_target(), why=why))
            g.centrala_user = user  # set first so the 403 page still shows the menu
            if not ip_allow.ip_allowed(user.tenant_id, client_address()):
                raise Forbidden(ip_allow.refusal(client_address()))
            if user.role not in allowed:
                raise Forbidden("your role may not see this page")
            return view(*args, **kwargs)

        wrapper.centrala_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


# Why a browser's session ended, for the login page (the reasons a person can act on).
_ENDED = {
    "taken_over": lazy_gettext("You were logged out: your login was used on another "
                               "workstation, which took the session over."),
}


def ended_reason() -> str | None:
    """Why this request's session ended, when it is a reason worth telling."""
    reason = panel_session().ended_reason
    return reason if reason in _ENDED else None


def ended_message(reason: str | None) -> str | None:
    return str(_ENDED[reason]) if reason in _ENDED else None


def _request_target() -> str:
    return request.full_path if request.query_string else request.path


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (go to the default page)."""
    if not target or len(target) > MAX_NEXT_LEN or "\\" in target:
        return None
    return target if _LOCAL_PATH.fullmatch(target) else None


# --- CSRF ---------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token (the browser is given the session cookie it belongs to)."""
    sess = panel_session()
    sess.keep()
    token: str = sess["csrf"]
    return token


@bp.before_app_request
def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    if bearer_secret(request.path, request.headers.get("Authorization")) is not None:
        return  # an API token, not a cookie: no other site can make a browser send it
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "centrala_signed_post", False):
        return  # a machine's signed post (see signed_post): no session to forge
    if getattr(view, "centrala_cookieless", False):
        return  # reads no cookie (the chat widget's visitor API): nothing to forge
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed("missing or invalid CSRF token; reload the page and try again")


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "user": g.get("centrala_user")}


# --- credentials --------------------------------------------------------------------


@dataclass(frozen=True)
class LoginCheck:
    """The outcome of checking a login: the user if it matched, and why not otherwise."""

    user_id: int | None
    tenant_id: int | None
    password_hash: str
    reason: str  # ok, malformed, unknown_account, inactive, bad_password


def account_key(address: str) -> str:
    """The account as throttling and the audit trail name it: ``login@domain`` with the
    domain lower-cased (logins are case-sensitive, domains are not)."""
    login, at, domain = address.strip().rpartition("@")
    return (f"{login}@{domain.lower()}" if at else address.strip())[:200]


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_credentials(address: str, password: str) -> LoginCheck:
    """Check ``login@domain`` and ``password`` (always one argon2 verification)."""
    login, at, domain = address.strip().rpartition("@")
    user, tenant_id = None, None
    if at and login and domain:
        with services().sessions() as s:
            tenant = s.scalar(select(Tenant).where(Tenant.domain == domain.lower(),
                                                   Tenant.active))  # deactivated: nobody
            if tenant is not None:
                tenant_id = tenant.id
                user = s.scalar(
                    select(User).where(User.tenant_id == tenant.id, User.login == login))
    usable = user is not None and user.active and bool(user.password_hash)
    # Always run argon2 so an unknown user costs the same time as a wrong password.
    ok = verify_password(user.password_hash if usable else _dummy_hash(), password)  # type: ignore[union-attr]
    if user is None:
        reason = "malformed" if not (at and login and domain) else "unknown_account"
        return LoginCheck(None, tenant_id, "", reason)
    if not usable:
        return LoginCheck(None, tenant_id, "", "inactive")
    if not ok:
        return LoginCheck(None, tenant_id, "", "bad_password")
    return LoginCheck(user.id, tenant_id, user.password_hash, "ok")


# --- login / logout -------------------------------------------------------------------


def _form(next_url: str | None, address: str = "", error: str | None = None,
          status: int = 200) -> BaseResponse:
    notice = ended_message(request.args.get("why")) if request.method == "GET" else None
    resp = current_app.make_response((render_template(
        "login.html", next_url=next_url, address=address, error=error, notice=notice), status))
    return resp


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return _form(next_url)
    address = request.form.get("address", "")
    if len(address) > MAX_ADDRESS_LEN:
        return _form(next_url, "", f"login: at most {MAX_ADDRESS_LEN} characters", 400)
    account = account_key(address)
    device = known_devices.device_for(current_app, request, account)
    attempt = Attempt(client_address(), account, device_hash(device) if device else None)
    svc, now = services(), clock(current_app)
    throttle = LoginThrottle(svc.redis, current_app.config["LOGIN_THROTTLE"])
    with svc.sessions() as s:
        wait = throttle.wait_s(s, attempt, now)
    if wait:
        log.info("login throttled: %s from %s must wait %d s", account, attempt.address, wait)
        resp = _form(next_url, address,
                     f"too many failed logins; try again in {wait} s", 429)
        resp.headers["Retry-After"] = str(wait)
        return resp
    check = check_credentials(address, request.form.get("password", ""))
    if check.user_id is None:
        throttle.record_failure(attempt, now)
        detail: dict[str, object] = {"reason": check.reason, "user_agent": user_agent()}
        if attempt.device:
            detail["device"] = attempt.device
        with transaction(svc.sessions) as s:
            event = audit.record(s, "login.failed", tenant_id=check.tenant_id, actor=account,
                                 source=attempt.address, detail=detail)
            event.at = now  # the throttle's fallback counts these rows by time
        return _form(next_url, address, GENERIC_LOGIN_ERROR)
    # The steps after the password (IP allow-list, second factor, licences, one
    # workstation) and the session itself: web.login_access, which imports this module.
    from web.login_access import Pending, proceed

    assert check.tenant_id is not None
    return proceed(Pending(
        user_id=check.user_id, tenant_id=check.tenant_id, account=account,
        password_fp=panel_sessions.password_fingerprint(check.password_hash),
        next_url=next_url))


def home_page(user_id: int) -> str:
    """Where a login lands without a ``next``: agents on their own status page, everyone
    else on the call records."""
    with services().sessions() as s:
        user = s.get(User, user_id)
    return url_for("agents.me" if user is not None and user.role == Role.AGENT
                   else "calls.records")


@bp.post("/logout")
@public  # a logged-out browser posting its stale form just lands on the login page
def logout() -> BaseResponse:
    sess = panel_session()
    user = _load_user()
    if sess.info is not None and user is not None:
        with transaction(services().sessions) as s:
            if panel_sessions.revoke(s, sess.info.id, "logout", clock(current_app)):
                audit.record(s, "logout", tenant_id=user.tenant_id, actor=user.address,
                             source=client_address(), detail={"session": sess.info.id})
        leaving.session_ended(services().redis, services().sessions, user.tenant_id, user.id,
                              actor_id=user.id)  # chats in hand go back to their queues
    sess.end()
    return redirect(url_for("auth.login"))
