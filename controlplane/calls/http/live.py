"""Live calls for one user, read from the Redis contract in :mod:`controlplane.live`.

Theory of operation for the event stream: events on ``centrala:events`` may
not say which tenant they belong to, so they are never forwarded as they are.
Each batch of events is only a wake-up: the stream re-reads the live-calls
hash, filters it to what the user may see and sends the snapshot when it
differs from the last one sent. A tenant therefore learns nothing, not even
timing, from another tenant's calls. The first message is the current
snapshot; the last-seen stream id is taken *before* that snapshot so no event
between the two is lost. Streams end after ``SSE_MAX_AGE_S`` and the browser
reconnects (``retry:``), which re-checks the login. In between, ``still_live`` is
asked after every read (at most ``block_ms`` apart): a stream whose session was
ended (logout elsewhere, password change, force logout) stops there.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import redis

from controlplane.bus import EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall
from controlplane.models import Role
from web.auth import CurrentUser

log = logging.getLogger(__name__)

RECONNECT_MS = 2000


def visible(call: LiveCall, user: CurrentUser, endpoints: list[str]) -> bool:
    if call.tenant_id != user.tenant_id:
        return False
    return user.role is not Role.AGENT or call.agent_endpoint in endpoints


def live_calls(client: redis.Redis, user: CurrentUser, endpoints: list[str]) -> list[LiveCall]:
    """Calls in progress that ``user`` may see, oldest first; bad entries are skipped."""
    calls = []
    raw_calls: dict[str, str] = client.hgetall(LIVE_CALLS_KEY)  # type: ignore[assignment]
    for field, raw in raw_calls.items():
        try:
            call = LiveCall.from_json(raw)
        except (ValueError, TypeError) as err:
            log.warning("skipping malformed live call %r: %s", field, err)
            continue
        if visible(call, user, endpoints):
            calls.append(call)
    calls.sort(key=lambda c: (c.started_at, c.call_id))
    return calls


def calls_json(calls: list[LiveCall]) -> list[dict[str, Any]]:
    return [asdict(c) for c in calls]


def _sse(event: str, data: str, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


def _last_id(client: redis.Redis) -> str:
    last = client.xrevrange(EVENTS_STREAM, count=1)
    return str(last[0][0]) if last else "0-0"


def event_stream(
    client: redis.Redis,
    user: CurrentUser,
    endpoints: list[str],
    *,
    block_ms: int,
    max_age_s: float,
    last_event_id: str | None = None,
    still_live: Callable[[], bool] = lambda: True,
) -> Iterator[str]:
    """Server-sent events: ``calls`` snapshots of the user's live calls, keep-alives between."""
    deadline = time.monotonic() + max_age_s
    try:
        last_id = last_event_id or _last_id(client)
        snapshot = json.dumps(calls_json(live_calls(client, user, endpoints)))
        yield f"retry: {RECONNECT_MS}\n" + _sse("calls", snapshot, last_id)
        while time.monotonic() < deadline:
            reply = client.xread({EVENTS_STREAM: last_id}, block=block_ms, count=100)
            if not still_live():
                log.info("live stream for user %s ended: the session was ended", user.id)
                return
            if not reply:
                yield ": keep-alive\n\n"  # lets the server notice a closed connection
                continue
            last_id = str(reply[0][1][-1][0])  # type: ignore[index]  # RESP2 list shape
            current = json.dumps(calls_json(live_calls(client, user, endpoints)))
            if current != snapshot:
                snapshot = current
                yield _sse("calls", snapshot, last_id)
    except redis.RedisError as err:
        log.warning("live stream for user %s stopped: %s", user.id, err)
        yield _sse("unavailable", json.dumps({"message": "live data unavailable"}))
