"""One wallboard per tenant per process, shared by every screen that watches it.

Theory of operation: :class:`WallboardCache` keeps, per tenant, the last board computed
(:meth:`~.wallboard_source.WallboardSource.compute`), the moment it was computed and a
version that grows whenever the board's JSON changes. A board younger than ``refresh_s``
is served as it is; an older one is recomputed by the first viewer that asks, under the
tenant's lock, while the others wait on that lock and then find it fresh. So a tenant's
figures cost at most one computation (a few small queries) per ``refresh_s`` however many
screens watch: the database load grows with tenants watched, not with viewers.

:func:`board_stream` is one viewer's server-sent events: the current board first, then
each newer version (``event: board``, ``id:`` the version), keep-alives between. It
waits on the cache's condition (woken when any viewer's refresh produced a new version,
or at the next refresh time), never on the database. Like the live-calls stream it ends
after ``max_age_s`` (the browser reconnects, which re-checks the login) and stops as soon
as ``still_live`` says the session ended.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

RECONNECT_MS = 2000


@dataclass(frozen=True)
class Entry:
    version: int
    board: dict[str, Any]
    text: str  # the board's JSON, as sent
    computed_at: float  # monotonic


class WallboardCache:
    """Boards by tenant (see the module docstring)."""

    def __init__(self, compute: Callable[[int], dict[str, Any]], *, refresh_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.compute = compute
        self.refresh_s = refresh_s
        self.clock = clock
        self._entries: dict[int, Entry] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self._changed = threading.Condition()
        self.computations = 0  # for tests and the bench

    def _lock(self, tenant_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def _fresh(self, tenant_id: int) -> Entry | None:
        e = self._entries.get(tenant_id)
        if e is not None and self.clock() - e.computed_at < self.refresh_s:
            return e
        return None

    def get(self, tenant_id: int) -> Entry:
        """The tenant's board, recomputed when older than ``refresh_s``.
        Raises what the computation raises (Redis or the database unreachable)."""
        e = self._fresh(tenant_id)
        if e is not None:
            return e
        with self._lock(tenant_id):
            e = self._fresh(tenant_id)  # another viewer may have just done it
            if e is not None:
                return e
            board = self.compute(tenant_id)
            self.computations += 1
            text = json.dumps(board, sort_keys=True)
            old = self._entries.get(tenant_id)
            version = (old.version + (old.text != text)) if old else 1
            e = Entry(version, board, text, self.clock())
            self._entries[tenant_id] = e
        if old is None or old.version != version:
            with self._changed:
                self._changed.notify_all()
        return e

    def next_after(self, tenant_id: int, version: int, timeout_s: float) -> Entry | None:
        """The first board with a version other than ``version``, or None after
        ``timeout_s``. Sleeps until a refresh is due (or another viewer's refresh
        announces a change), then asks :meth:`get`, which recomputes at most once."""
        deadline = time.monotonic() + timeout_s
        while True:
            e = self.get(tenant_id)
            if e.version != version:
                return e
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            due = e.computed_at + self.refresh_s - self.clock()
            with self._changed:
                self._changed.wait(timeout=max(0.01, min(left, due)))


def board_stream(
    cache: WallboardCache,
    tenant_id: int,
    *,
    max_age_s: float,
    keepalive_s: float = 10.0,
    still_live: Callable[[], bool] = lambda: True,
) -> Iterator[str]:
    """Server-sent events of one viewer (see the module docstring)."""
    deadline = time.monotonic() + max_age_s
    try:
        e = cache.get(tenant_id)
        yield f"retry: {RECONNECT_MS}\nid: {e.version}\nevent: board\ndata: {e.text}\n\n"
        while (left := deadline - time.monotonic()) > 0:
            nxt = cache.next_after(tenant_id, e.version, min(keepalive_s, left))
            if not still_live():
                log.info("wallboard stream of tenant %s ended: the session was ended", tenant_id)
                return
            if nxt is None:
                yield ": keep-alive\n\n"
                continue
            e = nxt
            yield f"id: {e.version}\nevent: board\ndata: {e.text}\n\n"
    except (redis.RedisError, SQLAlchemyError) as err:
        log.warning("wallboard stream of tenant %s stopped: %s", tenant_id, err)
        yield "event: unavailable\ndata: " + json.dumps({"message": "live data unavailable"}) + "\n\n"
