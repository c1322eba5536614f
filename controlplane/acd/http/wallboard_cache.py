"""One wallboard per tenant per process, shared by every screen that watches it.

Theory of operation: :class:`WallboardCache` keeps, per tenant, the last board computed
(:meth:`~.wallboard_source.WallboardSource.compute`), the moment it was computed and a
version that grows whenever the board's JSON changes. A board younger than ``refresh_s``
is served as it is; an older one is recomputed by the first viewer that asks, under the
tenant's lock, while the others wait on that lock and then find it fresh. So a tenant's
figures cost at most one computation (a few small queries) per ``refresh_s`` however many
screens watch: the database load grows with tenants watched, not with viewers.

Waking on events: :class:`EventWaker`, one thread per panel process, reads the daemon's
events stream (agent status, queue and call events, each naming its tenant; the ACD
publishes them after writing the rows the figures are read from) and *pokes* the tenant's
board: it is recomputed as soon as it is at least ``min_interval_s`` old, rather than at
the next ``refresh_s``. A change reaches the screens in tens of milliseconds instead of up
to a refresh later, and an event storm still costs at most one computation per
``min_interval_s`` per tenant. The timed refresh stays, for what no event announces (the
clock moving the day's figures, a Redis outage).

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
import weakref
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
                 min_interval_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.compute = compute
        self.refresh_s = refresh_s
        self.min_interval_s = min(min_interval_s, refresh_s)
        self.clock = clock
        self._entries: dict[int, Entry] = {}
        self._poked: set[int] = set()  # tenants an event said changed since their computation
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()
        self._changed = threading.Condition()
        self.computations = 0  # for tests and the bench

    def _lock(self, tenant_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def _max_age(self, tenant_id: int) -> float:
        return self.min_interval_s if tenant_id in self._poked else self.refresh_s

    def _fresh(self, tenant_id: int) -> Entry | None:
        e = self._entries.get(tenant_id)
        if e is not None and self.clock() - e.computed_at < self._max_age(tenant_id):
            return e
        return None

    def watched(self, tenant_id: int) -> bool:
        return tenant_id in self._entries

    def poke(self, tenant_id: int) -> None:
        """Something of the tenant changed: recompute its board as soon as allowed."""
        if tenant_id not in self._entries:
            return  # nobody watches it: nothing to hurry
        self._poked.add(tenant_id)
        with self._changed:
            self._changed.notify_all()

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
            self._poked.discard(tenant_id)  # what the event announced is in this computation
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
            due = e.computed_at + self._max_age(tenant_id) - self.clock()
            with self._changed:
                self._changed.wait(timeout=max(0.01, min(left, due)))


class EventWaker:
    """Pokes the boards of the tenants the daemon's events name (see the module docstring).

    A daemon thread blocked on ``XREAD`` of the events stream; it holds the cache weakly and
    ends once the cache is gone (an app discarded by a test). A Redis error pauses it for a
    second: the timed refresh covers the gap."""

    def __init__(self, client: redis.Redis, cache: WallboardCache, stream: str,
                 block_ms: int = 1000) -> None:
        self.client, self.stream, self.block_ms = client, stream, block_ms
        self._cache = weakref.ref(cache)
        self.thread = threading.Thread(target=self._run, name="wallboard-waker", daemon=True)

    def start(self) -> EventWaker:
        self.thread.start()
        return self

    def _run(self) -> None:
        last = "$"
        while (cache := self._cache()) is not None:
            del cache  # not held while blocked
            try:
                reply = self.client.xread({self.stream: last}, block=self.block_ms, count=500)
            except (redis.RedisError, OSError, ValueError) as err:  # Redis gone, pool closed
                log.info("wallboard waker: %s", err)
                time.sleep(1.0)
                last = "$"
                continue
            cache = self._cache()
            if cache is None:
                return
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    last = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                    tenant = _tenant_of(fields)
                    if tenant is not None:
                        cache.poke(tenant)


def _tenant_of(fields: dict[Any, Any]) -> int | None:
    raw = fields.get(b"data", fields.get("data"))
    try:
        tenant = json.loads(raw).get("tenant_id") if raw else None
    except (ValueError, AttributeError):
        return None
    return tenant if isinstance(tenant, int) else None


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
