"""Live state in Redis, the daemon's side: the names it writes and a helper of its loops.

The keys, the stream and the value shapes are the bus's (:mod:`controlplane.bus`):
hash ``LIVE_CALLS_KEY`` (call id → JSON of :class:`LiveCall`) and stream
``EVENTS_STREAM`` (entries made by :func:`event_fields`), re-exported here for the
daemon's modules. The database is the source of truth for call records; this is a cache
that the control plane rebuilds from Asterisk after a restart.
"""

from __future__ import annotations

import asyncio

from controlplane.bus import EVENTS_MAXLEN, EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, event_fields

__all__ = ["EVENTS_MAXLEN", "EVENTS_STREAM", "LIVE_CALLS_KEY", "LiveCall", "event_fields",
           "raise_if_cancelled"]


def raise_if_cancelled() -> None:
    """Re-raise a cancellation a library swallowed. redis-py turns a ``CancelledError`` that
    lands inside a command into a ``ConnectionError``; a loop that survives errors would then
    never stop. ``Task.cancelling()`` still counts the request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
