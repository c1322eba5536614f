"""The interaction card over server-sent events (``GET /agent/interaction/stream``).

Theory of operation: events on ``centrala:events`` (calls' phases, agents' status changes)
are only a wake-up, and the panel reads them once for every agent page: :class:`.waker.
CardWaker` (one thread per process) wakes a stream only for an event that may change its
card (its agent's own events, a call on its phones or on the card). The stream then rebuilds the card for
this user (:class:`.card.Card`: Redis only while no call is up; the database part of a
call read once per call) and sends it when it differs from the last one sent. The page
never polls; the timers run in the browser from ``since``/``answered_at``. The stream ends
after ``SSE_MAX_AGE_S`` (the browser reconnects, which re-checks the login) or once the
session is ended elsewhere: the open streams' sessions are re-read together, in one query
at most every ``SSE_RECHECK_S`` (:class:`web.stream_sessions.SessionWatch`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, stream_with_context
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import EVENTS_STREAM
from controlplane.desktop.http.card import Card, stable
from controlplane.desktop.http.waker import CardWaker, audiences_of
from web.auth import current_user, login_required, panel_session
from web.errors import PanelError
from web.services import services
from web.stream_sessions import SessionWatch

log = logging.getLogger(__name__)

bp = Blueprint("desktop_stream", __name__)

RECONNECT_MS = 2000
EXTENSION = "centrala.desktop_stream"


def _sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


def card_stream(waker: CardWaker, sessions: sessionmaker[Session], client: redis.Redis,
                card: Card, *, now: Callable[[], datetime], block_ms: int, max_age_s: float,
                still_live: Callable[[], bool] = lambda: True) -> Iterator[str]:
    """``card`` events (the JSON of :meth:`Card.build`) when it changes, keep-alives between."""
    deadline = time.monotonic() + max_age_s

    def build() -> dict[str, Any]:
        with sessions() as s:
            return card.build(client, s, now())

    def audiences(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
        shown = (doc.get("call") or {}).get("call_id")
        return audiences_of(card.user.tenant_id, card.user.id, card.endpoints, shown)

    try:
        seen = waker.version(audiences({}))  # before the build: nothing after it is missed
        doc = build()
        sent = json.dumps(stable(doc), sort_keys=True)
        yield f"retry: {RECONNECT_MS}\n" + _sse("card", json.dumps(doc))
        while (left := deadline - time.monotonic()) > 0:
            woken = waker.wait(audiences(doc), seen, min(left, block_ms / 1000.0))
            if not still_live():
                return
            if woken is None:
                yield ": keep-alive\n\n"
                continue
            seen = woken
            doc = build()
            key = json.dumps(stable(doc), sort_keys=True)
            if key != sent:
                sent = key
                yield _sse("card", json.dumps(doc))
    except redis.RedisError as err:
        log.warning("interaction stream of user %s stopped: %s", card.user.id, err)
        yield _sse("unavailable", json.dumps({"message": "live data unavailable"}))


_build_lock = threading.Lock()


def _shared(app: Flask) -> tuple[CardWaker, SessionWatch]:
    """The app's card waker and stream-session watch (built on first use)."""
    got = app.extensions.get(EXTENSION)
    if got is None:
        with _build_lock:
            got = app.extensions.get(EXTENSION)
            if got is None:
                svc = app.extensions["centrala"]
                got = (CardWaker(svc.redis, EVENTS_STREAM).start(),
                       SessionWatch(svc.sessions, app.config["CLOCK"],
                                    app.config.get("SSE_RECHECK_S", 2.0)))
                app.extensions[EXTENSION] = got
    return got  # type: ignore[no-any-return]


def _watched(watch: SessionWatch, session_id: int, events: Iterator[str]) -> Iterator[str]:
    """``events`` while the stream holds its session in ``watch``."""
    watch.open(session_id)
    try:
        yield from events
    finally:
        watch.close(session_id)


@bp.get("/agent/interaction/stream")
@login_required()
def interaction_stream() -> Response:
    svc, user = services(), current_user()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    waker, watch = _shared(app)
    info = panel_session().info
    if info is None:  # a bearer token: no panel session to watch (the API's own checks)
        raise PanelError("the interaction stream needs a panel login")
    with svc.sessions() as s:
        card = Card.load(s, user)
    events = _watched(watch, info.id, card_stream(
        waker, svc.sessions, svc.redis, card, now=app.config["CLOCK"],
        block_ms=app.config["SSE_BLOCK_MS"], max_age_s=app.config["SSE_MAX_AGE_S"],
        still_live=lambda: watch.live(info.id)))
    resp = Response(stream_with_context(events), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
