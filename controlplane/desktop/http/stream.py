"""The interaction card over server-sent events (``GET /agent/interaction/stream``).

Theory of operation, as the live-calls stream (:mod:`controlplane.calls.http.live`):
events on ``centrala:events`` (calls' phases, agents' status changes) are only a wake-up;
after each batch the card is rebuilt for this user (:class:`.card.Card`: Redis, one small
query for the status; the database part of a call is read once per call) and sent when
it differs from the last one sent. The page never polls; the timers run in the browser
from ``since``/``answered_at``. The stream ends after ``SSE_MAX_AGE_S`` (the browser
reconnects, which re-checks the login) or as soon as the session is ended elsewhere.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import redis
from flask import Blueprint, Response, current_app, stream_with_context
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import EVENTS_STREAM
from controlplane.desktop.http.card import Card, stable
from web.auth import current_user, login_required, session_still_live
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("desktop_stream", __name__)

RECONNECT_MS = 2000


def _sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


def card_stream(client: redis.Redis, sessions: sessionmaker[Session], card: Card, *,
                now: Callable[[], datetime], block_ms: int, max_age_s: float,
                still_live: Callable[[], bool] = lambda: True) -> Iterator[str]:
    """``card`` events (the JSON of :meth:`Card.build`) when it changes, keep-alives between."""
    deadline = time.monotonic() + max_age_s

    def build() -> dict[str, Any]:
        with sessions() as s:
            return card.build(client, s, now())

    try:
        last = client.xrevrange(EVENTS_STREAM, count=1)
        last_id = str(last[0][0]) if last else "0-0"
        doc = build()
        sent = json.dumps(stable(doc), sort_keys=True)
        yield f"retry: {RECONNECT_MS}\n" + _sse("card", json.dumps(doc))
        while time.monotonic() < deadline:
            reply = client.xread({EVENTS_STREAM: last_id}, block=block_ms, count=100)
            if not still_live():
                return
            if not reply:
                yield ": keep-alive\n\n"
                continue
            last_id = str(reply[0][1][-1][0])  # type: ignore[index]  # RESP2 list shape
            doc = build()
            key = json.dumps(stable(doc), sort_keys=True)
            if key != sent:
                sent = key
                yield _sse("card", json.dumps(doc))
    except redis.RedisError as err:
        log.warning("interaction stream of user %s stopped: %s", card.user.id, err)
        yield _sse("unavailable", json.dumps({"message": "live data unavailable"}))


@bp.get("/agent/interaction/stream")
@login_required()
def interaction_stream() -> Response:
    svc, user = services(), current_user()
    with svc.sessions() as s:
        card = Card.load(s, user)
    events = card_stream(svc.redis, svc.sessions, card, now=current_app.config["CLOCK"],
                         block_ms=current_app.config["SSE_BLOCK_MS"],
                         max_age_s=current_app.config["SSE_MAX_AGE_S"],
                         still_live=session_still_live)
    resp = Response(stream_with_context(events), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
