"""The live wallboard (supervisors and admins): agents, queues and campaigns of the day,
as a page, a big-screen page, JSON and server-sent events.

Every viewer of a tenant reads the same board from the per-process
:class:`~.wallboard_cache.WallboardCache` (built on first use, kept in
``app.extensions``), so screens add no database load; the figures come from the durable
logs (:mod:`.wallboard_source`), so a restart of the control plane changes none of them.
The pages are rendered with the board and ``static/wallboard.js`` keeps them current over
``/api/v1/wallboard/stream``. Formulas and colours: ``docs/wallboard.md``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    stream_with_context,
)
from pydantic import RootModel
from sqlalchemy.exc import SQLAlchemyError

from controlplane.acd.http.board import STATUSES
from controlplane.acd.http.wallboard_alerts import KIND_LABELS
from controlplane.acd.http.wallboard_cache import EventWaker, WallboardCache, board_stream
from controlplane.acd.http.wallboard_source import WallboardSource
from controlplane.api_access import store as api_tokens
from controlplane.api_access.tokens import bearer_secret
from controlplane.bus import EVENTS_STREAM
from controlplane.models import Role
from web.api.responses import responds
from web.auth import current_user, login_required, session_still_live
from web.errors import PanelError
from web.services import services
from web.session_cookie import clock
from web.validation import validated

log = logging.getLogger(__name__)

bp = Blueprint("wallboard", __name__)

VIEWERS = (Role.ADMIN, Role.SUPERVISOR)
EXTENSION = "centrala.wallboard"
_build_lock = threading.Lock()


class BoardEvents(RootModel[dict[str, Any]]):
    """Each event's data (text/event-stream): ``board``, the wallboard's JSON object (as
    GET /api/v1/wallboard), or ``unavailable``, ``{"message": ...}``."""


class Unavailable(PanelError):
    status = 503
    error_id = "unavailable"


def board_cache(app: Flask | None = None) -> WallboardCache:
    """The app's shared cache (built on first use; ``WALLBOARD_REFRESH_S``, default 1 s)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cache: WallboardCache | None = app.extensions.get(EXTENSION)
    if cache is None:
        with _build_lock:
            cache = app.extensions.get(EXTENSION)
            if cache is None:
                svc = app.extensions["centrala"]
                source = WallboardSource(svc.sessions, svc.redis,
                                         lambda: app.config["CLOCK"]().timestamp())
                cache = WallboardCache(source.compute,
                                       refresh_s=app.config.get("WALLBOARD_REFRESH_S", 1.0))
                app.extensions[EXTENSION] = cache
                if app.config.get("WALLBOARD_WAKE_ON_EVENTS", True):
                    EventWaker(svc.redis, cache, EVENTS_STREAM).start()
    return cache


def _board() -> dict[str, Any]:
    try:
        return board_cache().get(current_user().tenant_id).board
    except (redis.RedisError, SQLAlchemyError) as err:
        raise Unavailable("live wallboard data unavailable") from err


def _page(template: str) -> Any:
    try:
        board, error = _board(), None
    except Unavailable as err:
        board, error = None, err.message
    return render_template(template, board=board, error=error, states=STATUSES,
                           alert_kinds={k: str(v) for k, v in KIND_LABELS.items()})


@bp.get("/wallboard")
@login_required(*VIEWERS)
def page() -> Any:
    return _page("wallboard_live.html")


@bp.get("/wallboard/screen")
@login_required(*VIEWERS)
def screen() -> Any:
    return _page("wallboard_screen.html")


@bp.get("/api/v1/wallboard")
@login_required(*VIEWERS)
@validated()
def api_board() -> Any:
    """The wallboard of your tenant: queues, agents and campaigns of the day (see
    docs/wallboard.md for every formula)."""
    return jsonify(_board())


# API token (its secret's hash) → (monotonic time of the check, still valid): wall screens
# often share one token, and then share one re-check per interval.
_token_checks: dict[str, tuple[float, bool]] = {}
_token_checks_lock = threading.Lock()


def _liveness(recheck_s: float) -> Callable[[], bool]:
    """Whether the viewer may still watch: the session (or the API token) is re-read from
    the database at most every ``recheck_s`` — the only per-viewer queries of a stream, and
    they do not grow with the board's updates; screens on one API token share its re-check.
    A logout, password change, force logout or token revocation ends the stream within
    ``recheck_s``."""
    secret = bearer_secret(request.path, request.headers.get("Authorization"))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    token_key = hashlib.sha256(secret.encode()).hexdigest() if secret else ""

    def check() -> bool:
        if secret is None or g.get("centrala_bearer_user") is None:
            return session_still_live()
        with _token_checks_lock:
            at, ok = _token_checks.get(token_key, (float("-inf"), False))
        if time.monotonic() - at < recheck_s:
            return ok
        with services().sessions() as s:
            ok = api_tokens.holder(s, secret, clock(app)) is not None
        with _token_checks_lock:
            _token_checks[token_key] = (time.monotonic(), ok)
        return ok

    last = [time.monotonic(), True]

    def still_live() -> bool:
        if time.monotonic() - float(last[0]) >= recheck_s:
            last[:] = [time.monotonic(), check()]
        return bool(last[1])

    return still_live


@bp.get("/api/v1/wallboard/stream")
@login_required(*VIEWERS)
@validated()
@responds(BoardEvents, content_type="text/event-stream")
def api_stream() -> Any:
    """Server-sent events: ``board`` (the whole wallboard, as GET /api/v1/wallboard)
    first and on every change, at most once a second; keep-alives between."""
    cfg = current_app.config
    events = board_stream(
        board_cache(),
        current_user().tenant_id,
        max_age_s=cfg["SSE_MAX_AGE_S"],
        keepalive_s=min(10.0, cfg["SSE_BLOCK_MS"] / 1000.0),
        still_live=_liveness(cfg.get("WALLBOARD_RECHECK_S", 15.0)),
    )
    resp = Response(stream_with_context(events), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
