"""Centrala's web panel: server-rendered pages and a small JSON API (Flask).

``create_app`` is the composition root: it builds the database engine, session
factory and Redis client from :class:`~controlplane.config.Settings` and keeps
them on ``app.extensions["centrala"]`` (see :mod:`web.services`), and registers
every domain's blueprints.

Where things live (DESIGN.md "Rooms"): each domain's pages and ``/api/v1`` are in
its own room, ``controlplane.<domain>.http`` -- :mod:`controlplane.calls.http`,
:mod:`controlplane.ivr.http`, :mod:`controlplane.acd.http`,
:mod:`controlplane.campaigns.http` -- each exporting ``BLUEPRINTS``. ``web`` keeps
what they share: the app factory, auth and sessions (:mod:`.auth`,
:mod:`.session_cookie`), errors (:mod:`.errors`), validation (:mod:`.validation`,
:mod:`.schemas`), request limits, TLS and the server, the health page, the layout
templates and static assets. The security and admin pages (:mod:`.security`,
:mod:`.outbound_policy`, :mod:`.users`, :mod:`.account`, with :mod:`.auth`) stay here
until the ``admin`` domain exists (issue 12).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, request

from controlplane.access import http as access_http
from controlplane.acd import http as acd_http
from controlplane.admin import http as admin_http
from controlplane.api_access import http as api_access_http
from controlplane.calls import http as calls_http
from controlplane.campaigns import http as campaigns_http
from controlplane.campaigns.http import import_pages as campaign_import_pages
from controlplane.chat import http as chat_http
from controlplane.config import Settings, load_settings
from controlplane.contacts import http as contacts_http
from controlplane.desk import http as desk_http
from controlplane.desk.email import http as desk_email_http
from controlplane.desk.sms import http as sms_http
from controlplane.desktop import http as desktop_http
from controlplane.ivr import http as ivr_http
from controlplane.ivr.http import prompts as ivr_prompts
from controlplane.models.base import utcnow
from controlplane.reports import http as reports_http
from controlplane.security.login_throttle import Policy
from controlplane.sla import http as sla_http
from controlplane.supervision import http as supervision_http
from controlplane.tenants import http as tenants_http
from controlplane.webhooks import http as webhooks_http
from dialplan import webphone
from web import (
    account,
    auth,
    errors,
    health,
    i18n,
    login_access,
    outbound_policy,
    request_limits,
    security,
    users,
)
from web.api import docs as api_docs
from web.server import serve
from web.services import EXTENSION_KEY, Services
from web.session_cookie import ServerSessionInterface

__all__ = ["create_app", "serve"]

DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_NAME": "centrala_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # True when the panel serves HTTPS (CENTRALA_WEB_TLS), see create_app.
    "SESSION_COOKIE_SECURE": False,
    # Server-side sessions (web.session_cookie): the absolute lifetime (a shift) and the
    # idle time after which an unused session ends.
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "SESSION_IDLE_TIMEOUT": timedelta(hours=1),
    "MAX_CONTENT_LENGTH": 64 * 1024,
    # Growing delays after failed logins (controlplane.security.login_throttle).
    "LOGIN_THROTTLE": Policy(),
    # Now, as an aware UTC datetime; tests inject a clock they can move.
    "CLOCK": utcnow,
    "SSE_BLOCK_MS": 10_000,
    "SSE_MAX_AGE_S": 300.0,
    # Open streams' panel sessions are re-read together at most this often
    # (web.stream_sessions): a logout elsewhere ends them within it.
    "SSE_RECHECK_S": 2.0,
}

# Our own JS and CSS only; no inline script, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def csp_for(settings: Settings) -> str:
    """:data:`CSP` plus the webphone's WebSocket to Asterisk (``connect-src``: dialplan.webphone)."""
    host = "*" if settings.bind_address in ("0.0.0.0", "::") else settings.bind_address
    ws = webphone.ws_url(settings, host).removesuffix("/ws")
    return f"{CSP}; connect-src 'self' {ws}"


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the panel app; ``config`` overrides Flask/panel keys (see ``DEFAULTS``)."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config["SECRET_KEY"] = settings.secret("flask_secret_key")
    app.config["SESSION_COOKIE_SECURE"] = settings.web_tls
    app.config["CONTENT_SECURITY_POLICY"] = csp_for(settings)
    app.config.update(config or {})
    app.session_interface = ServerSessionInterface()
    app.extensions[EXTENSION_KEY] = Services.build(settings)
    request_limits.install(app)  # first: ids in range, bounded JSON, clean text
    i18n.install(app, settings.runtime_dir)  # Polish and English, the tenant's time zone

    # Every domain's room (controlplane.<domain>.http) and the pages web still keeps, in
    # the order they were always registered (auth's request hooks first).
    for bp in (
        auth.bp,
        *calls_http.BLUEPRINTS,
        health.bp,
        *ivr_http.BLUEPRINTS,
        *acd_http.BLUEPRINTS,
        *campaigns_http.BLUEPRINTS,
        *contacts_http.BLUEPRINTS,
        campaign_import_pages.bp,
        *admin_http.BLUEPRINTS,
        users.bp,
        account.bp,
        outbound_policy.bp,
        security.bp,
        *tenants_http.BLUEPRINTS,
        login_access.bp,
        *access_http.BLUEPRINTS,
        api_docs.bp,
        *api_access_http.BLUEPRINTS,
        *webhooks_http.BLUEPRINTS,
        *sla_http.BLUEPRINTS,
        *supervision_http.BLUEPRINTS,
        *desktop_http.BLUEPRINTS,
        *desk_http.BLUEPRINTS,
        *reports_http.BLUEPRINTS,
        *desk_email_http.BLUEPRINTS,
        *sms_http.BLUEPRINTS,
        *chat_http.BLUEPRINTS,
    ):
        app.register_blueprint(bp)
    campaigns_http.imports.install(app)  # contact imports API, own upload size limit
    ivr_prompts.install(app)  # prompts: pages and API, own upload size limit
    errors.register(app)
    app.after_request(_security_headers)
    return app


def _security_headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy",
                            current_app.config.get("CONTENT_SECURITY_POLICY", CSP))
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "static":
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp
