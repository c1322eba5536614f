"""Login, logout, the ``login_required`` decorator, CSRF tokens and the login rate limit.

Theory of operation: a user types ``login@tenant-domain`` and a password; the
password is checked with argon2 (an unknown user is checked against a dummy
hash so both failures take the same time and give the same message). On
success the signed session cookie holds the user id and a fingerprint of the
password hash, so changing a password ends every session of that user. Every
view is wrapped by :func:`login_required`, which reloads the user from the
database on each request (a deactivated user is out at once) and checks the
role. Each session carries a random CSRF token; every non-GET request must echo
it in the ``csrf_token`` form field or the ``X-CSRF-Token`` header. Failed logins
are counted per client address in Redis in a fixed window.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from controlplane.models import Role, Tenant, User
from controlplane.passwords import hash_password, verify_password
from web.errors import CsrfFailed, PanelError, wants_json
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

GENERIC_LOGIN_ERROR = "invalid login or password"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FAILURES_KEY = "centrala:web:login-failures:{address}"
MAX_ADDRESS_LEN = 400

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

    @property
    def address(self) -> str:
        return f"{self.login}@{self.tenant_domain}"


def current_user() -> CurrentUser:
    """The user of this request; only valid inside a :func:`login_required` view."""
    user: CurrentUser = g.centrala_user
    return user


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _load_user() -> CurrentUser | None:
    uid = session.get("uid")
    if not isinstance(uid, int):
        return None
    with services().sessions() as s:
        row = s.execute(select(User, Tenant).join(Tenant).where(User.id == uid)).first()
        if row is None:
            return None
        user, tenant = row
        if not user.active or session.get("fp") != _fingerprint(user.password_hash):
            return None
        return CurrentUser(
            id=user.id,
            tenant_id=tenant.id,
            tenant_domain=tenant.domain,
            tenant_name=tenant.name,
            login=user.login,
            display_name=user.display_name or user.login,
            role=user.role,
        )


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
                if session.get("uid") is not None:
                    session.clear()
                if wants_json() or request.path.endswith("/stream"):
                    raise Unauthorized("login required")
                return redirect(url_for("auth.login", next=_request_target()))
            g.centrala_user = user  # set first so the 403 page still shows the menu
            if user.role not in allowed:
                raise Forbidden("your role may not see this page")
            return view(*args, **kwargs)

        wrapper.centrala_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as deliberately reachable without login (checked by the tests)."""
    view.centrala_public = True  # type: ignore[attr-defined]
    return view


def _request_target() -> str:
    return request.full_path if request.query_string else request.path


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: no scheme, no ``//host``, no backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


# --- CSRF ---------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


@bp.before_app_request
def _check_csrf() -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfFailed("missing or invalid CSRF token; reload the page and try again")


@bp.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "user": g.get("centrala_user")}


# --- login rate limit -----------------------------------------------------------------


def _failures_key() -> str:
    return FAILURES_KEY.format(address=request.remote_addr or "unknown")


def _too_many_failures() -> bool:
    # Fail open when Redis is down: an admin must still be able to log in and see
    # the health page; argon2 keeps each guess expensive meanwhile.
    try:
        count = services().redis.get(_failures_key())
    except redis.RedisError as err:
        log.warning("login rate limit unavailable: %s", err)
        return False
    limit: int = current_app.config["LOGIN_MAX_FAILURES"]
    return int(count or 0) >= limit


def _record_failure() -> None:
    key = _failures_key()
    try:
        with services().redis.pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, current_app.config["LOGIN_FAILURE_WINDOW_S"], nx=True)
            pipe.execute()
    except redis.RedisError as err:
        log.warning("could not count a failed login: %s", err)


# --- login / logout -------------------------------------------------------------------


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def authenticate(address: str, password: str) -> User | None:
    """The active user named by ``login@domain`` whose password matches, else None."""
    login, at, domain = address.strip().rpartition("@")
    user = None
    if at and login and domain and len(address) <= MAX_ADDRESS_LEN:
        with services().sessions() as s:
            user = s.scalar(
                select(User)
                .join(Tenant)
                .where(Tenant.domain == domain.lower(), User.login == login)
            )
    usable = user is not None and user.active and bool(user.password_hash)
    # Always run argon2 so an unknown user costs the same time as a wrong password.
    ok = verify_password(user.password_hash if usable else _dummy_hash(), password)  # type: ignore[union-attr]
    return user if usable and ok else None


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next_url=next_url, error=None, address="")
    address = request.form.get("address", "")
    if _too_many_failures():
        return render_template(
            "login.html",
            next_url=next_url,
            address=address,
            error="too many failed logins from your address; try again in a few minutes",
        ), 429
    user = authenticate(address, request.form.get("password", ""))
    if user is None:
        _record_failure()
        log.info("failed login from %s", request.remote_addr)
        return render_template(
            "login.html", next_url=next_url, address=address, error=GENERIC_LOGIN_ERROR
        )
    session.clear()  # a fresh session: no fixation, a fresh CSRF token
    session.permanent = True
    session["uid"] = user.id
    session["fp"] = _fingerprint(user.password_hash)
    csrf_token()
    log.info("user %s logged in from %s", user.id, request.remote_addr)
    return redirect(next_url or url_for("calls.records"))


@bp.post("/logout")
@public  # a logged-out browser posting its stale form just lands on the login page
def logout() -> BaseResponse:
    session.clear()
    return redirect(url_for("auth.login"))
