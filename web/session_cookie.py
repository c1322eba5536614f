"""Flask's ``session`` backed by the ``panel_session`` table: the cookie is only an id.

Theory of operation. The ``centrala_session`` cookie holds one random token:

* ``s.<43 chars>`` — a logged-in session; its SHA-256 names a ``panel_session`` row. The
  row (user, expiries, revocation) decides, on every request, whether it is still live:
  logout, a password change or a force logout end it at once, copied cookies included.
* ``a.<43 chars>`` — a visitor who is not logged in (the login form); stored nowhere.

The CSRF token is not stored either: it is an HMAC of the token under the app's secret
key, so it changes with every login (fresh token) and a visitor's token is bound to
their own cookie. Other values put in the session (flash messages) are kept in the
row's ``data`` for logged-in sessions and dropped for visitors.

The cookie is sent only when it changes (a login, a visitor's first form, a logout):
``HttpOnly``, ``SameSite=Lax`` and ``Secure`` when the panel serves HTTPS.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import CallbackDict

from controlplane.security import panel_sessions
from controlplane.security.panel_sessions import Lifetimes, SessionInfo
from web.services import EXTENSION_KEY, Services

log = logging.getLogger(__name__)

LOGGED_IN, VISITOR = "s.", "a."
_TOKEN = re.compile(r"^[as]\.[A-Za-z0-9_-]{43}$")
CSRF_KEY = "csrf"


def clock(app: Flask) -> datetime:
    """Now, from the app's injectable clock (``CLOCK``)."""
    now: Callable[[], datetime] = app.config["CLOCK"]
    return now()


def lifetimes(app: Flask) -> Lifetimes:
    return Lifetimes(idle=app.config["SESSION_IDLE_TIMEOUT"],
                     absolute=app.config["PERMANENT_SESSION_LIFETIME"])


class PanelSession(CallbackDict[str, Any], SessionMixin):
    """The request's session: a token, the live row if logged in, and a few values."""

    modified = False
    accessed = False

    def __init__(self, token: str, info: SessionInfo | None, secret: str,
                 data: dict[str, Any] | None = None, *, issue: bool = False) -> None:
        def on_update(_: CallbackDict[str, Any]) -> None:
            self.modified = True
            self.accessed = True

        super().__init__(data or {}, on_update)
        self.token = token
        self.info = info
        self.issue = issue  # the browser must be sent the cookie
        self.ended = False  # logged out: the browser must drop the cookie
        self.ended_reason = ""  # why the browser's logged-in session had ended (login page)
        self._secret = secret
        dict.__setitem__(self, CSRF_KEY, self._csrf())

    @property
    def user_id(self) -> int | None:
        return self.info.user_id if self.info is not None else None

    def _csrf(self) -> str:
        mac = hmac.new(self._secret.encode(), b"csrf:" + self.token.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def keep(self) -> None:
        """Make sure the browser keeps this token (its CSRF token is about to be used)."""
        if self.info is None and not self.ended:
            self.issue = self.issue or self.new

    def begin(self, token: str, info: SessionInfo) -> None:
        """Become the freshly started logged-in session ``info`` (login)."""
        self._reset(token, info)
        self.issue, self.ended = True, False

    def end(self) -> None:
        """Forget the logged-in session (logout); the browser drops the cookie."""
        self._reset(_visitor_token(), None)
        self.issue, self.ended = False, True

    def _reset(self, token: str, info: SessionInfo | None) -> None:
        dict.clear(self)
        self.token, self.info = token, info
        dict.__setitem__(self, CSRF_KEY, self._csrf())
        self.modified = self.accessed = True


def _visitor_token() -> str:
    return VISITOR + panel_sessions.new_token()


class ServerSessionInterface(SessionInterface):
    """Open and save :class:`PanelSession` (installed by ``create_app``)."""

    def open_session(self, app: Flask, request: Request) -> PanelSession:
        secret = str(app.secret_key)
        token = request.cookies.get(self.get_cookie_name(app), "")
        if not _TOKEN.match(token):
            session = PanelSession(_visitor_token(), None, secret)
            session.new = True
            return session
        if token.startswith(VISITOR):
            return PanelSession(token, None, secret)
        svc: Services = app.extensions[EXTENSION_KEY]
        now = clock(app)
        try:
            with svc.sessions() as s:
                found = panel_sessions.find_any(s, token[len(LOGGED_IN):])
            info = found if found is not None and found.live(now) else None
        except SQLAlchemyError as err:
            # Treat as logged out for this request, but leave the browser's cookie alone:
            # the session may well be live once the database answers again.
            log.warning("panel session not checked, database unavailable: %s", err)
            return PanelSession(_visitor_token(), None, secret)
        if info is not None and panel_sessions.touch_due(info, now):
            try:
                with svc.sessions.begin() as s:
                    panel_sessions.touch(s, info, now, lifetimes(app))
            except SQLAlchemyError as err:  # a busy database: the next request touches it
                log.info("panel session %s not touched: %s", info.id, err)
        if info is None:  # ended or expired: a visitor again, with a fresh token
            session = PanelSession(_visitor_token(), None, secret, issue=True)
            session.new = True
            session.ended_reason = found.revoked_reason if found is not None else ""
            return session
        # a deep copy: flask's flash() appends to the list it finds in the session, and a
        # list shared with ``info.data`` made the change invisible to save_session (a second
        # message before the next page was lost)
        return PanelSession(token, info, secret, copy.deepcopy(info.data))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, PanelSession)
        name, domain, path = (self.get_cookie_name(app), self.get_cookie_domain(app),
                              self.get_cookie_path(app))
        if session.accessed:
            response.vary.add("Cookie")
        if session.ended:
            response.delete_cookie(name, domain=domain, path=path,
                                   secure=self.get_cookie_secure(app),
                                   httponly=self.get_cookie_httponly(app),
                                   samesite=self.get_cookie_samesite(app))
            return
        if session.info is not None and session.modified:
            data = {k: v for k, v in session.items() if k != CSRF_KEY}
            if data != session.info.data:
                svc: Services = app.extensions[EXTENSION_KEY]
                with svc.sessions.begin() as s:
                    panel_sessions.save_data(s, session.info.id, data)
        if session.issue:
            response.set_cookie(
                name, session.token,
                expires=session.info.absolute_expires_at if session.info else None,
                httponly=self.get_cookie_httponly(app), domain=domain, path=path,
                secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app))
