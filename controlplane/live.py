"""Live state in Redis: the calls in progress and the platform event stream.

Contract shared by the control plane (writer) and the panel/workers (readers):
- hash ``centrala:calls:live``: field = call id, value = JSON of :class:`LiveCall`;
- stream ``centrala:events``: entries with one field ``data`` = JSON event
  (``{"type": ..., "call_id": ..., "at": iso8601, ...}``), capped near 10 000.
The database is the source of truth for call records; this is a cache that the
control plane rebuilds from Asterisk after a restart.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from typing import Any

LIVE_CALLS_KEY = "centrala:calls:live"
EVENTS_STREAM = "centrala:events"
EVENTS_MAXLEN = 10_000


@dataclass(frozen=True)
class LiveCall:
    call_id: str
    tenant_id: int | None
    direction: str
    state: str
    caller: str
    callee: str
    did: str | None
    agent_endpoint: str | None
    started_at: str
    answered_at: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(raw: str | bytes) -> LiveCall:
        return LiveCall(**json.loads(raw))


def event_fields(event_type: str, **payload: Any) -> dict[str, str]:
    return {"data": json.dumps({"type": event_type, **payload}, default=str)}


def raise_if_cancelled() -> None:
    """Re-raise a cancellation a library swallowed. redis-py turns a ``CancelledError`` that
    lands inside a command into a ``ConnectionError``; a loop that survives errors would then
    never stop. ``Task.cancelling()`` still counts the request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
