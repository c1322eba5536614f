"""One reader of the daemon's events per panel process, waking only the agents' cards an
event may change.

Theory of operation: every agent's interaction stream used to block in its own ``XREAD`` of
``centrala:events`` (one Redis connection per open agent page) and rebuild its card on every
event of every tenant: 200 agents and one status change meant 200 card builds. Now
:class:`CardWaker`'s single thread reads the stream and keeps, per *audience*, the number of
the last event batch that concerned it; a stream waits on the waker's condition until the
number of one of its audiences passes the one it last built for. Audiences, by the
event's fields:

=====================================  ===============================================
event                                  wakes
=====================================  ===============================================
of another tenant (``tenant_id``)      nobody of this tenant
``agent.*`` naming ``agent``           that agent only (its status, break, phone)
``queue.*``, ``chat.*``                nobody (no part of the card)
anything else (``call.*``,             every agent of the tenant (their call may be it)
``supervision.*``, unknown kinds)
without a tenant, or unreadable        everyone
=====================================  ===============================================

A Redis error in the reader wakes everyone (their builds then find Redis gone and say so)
and the reader retries every second from where it stopped. The waker holds no card: what a
card shows is still read by its stream (:class:`.card.Card`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from typing import Any

import redis

log = logging.getLogger(__name__)

EVERYONE = ("all",)
SILENT = ("queue.", "chat.")  # kinds no card shows


def audience(fields: dict[Any, Any]) -> tuple[Any, ...] | None:
    """Whose cards one ``centrala:events`` entry may change: ``("agent", tenant, user)``,
    ``("tenant", tenant)``, :data:`EVERYONE`, or None for nobody."""
    raw = fields.get(b"data", fields.get("data"))
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return EVERYONE
    if not isinstance(data, dict):
        return EVERYONE
    tenant, kind = data.get("tenant_id"), str(data.get("type") or "")
    if not isinstance(tenant, int):
        return EVERYONE
    if kind.startswith(SILENT):
        return None
    if kind.startswith("agent."):
        try:
            return ("agent", tenant, int(data.get("agent")))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return ("tenant", tenant)
    return ("tenant", tenant)


class CardWaker:
    """The panel's one events reader for agent cards (see the module docstring)."""

    def __init__(self, client: redis.Redis, stream: str, block_ms: int = 1000) -> None:
        self.client, self.stream, self.block_ms = client, stream, block_ms
        self._cond = threading.Condition()
        self._seq = 0
        self._last: dict[tuple[Any, ...], int] = {}
        self.batches = 0  # for tests and the bench
        self._thread: threading.Thread | None = None

    def start(self) -> CardWaker:
        """Start reading after the stream's newest entry *now* (so a stream opened after
        this returns misses no event), in a daemon thread holding the waker weakly."""
        try:
            newest = self.client.xrevrange(self.stream, count=1)
            last = str(newest[0][0]) if newest else "0-0"  # type: ignore[index]
        except redis.RedisError:
            last = "$"
        self._thread = threading.Thread(target=_run, args=(weakref.ref(self), last),
                                        name="card-waker", daemon=True)
        self._thread.start()
        return self

    def version(self, tenant_id: int, user_id: int) -> int:
        """The number of the last batch that concerned this agent (0: none yet)."""
        return max(self._last.get(("agent", tenant_id, user_id), 0),
                   self._last.get(("tenant", tenant_id), 0), self._last.get(EVERYONE, 0))

    def wait(self, tenant_id: int, user_id: int, after: int, timeout_s: float) -> int | None:
        """The agent's :meth:`version` once it passes ``after``; None after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while (v := self.version(tenant_id, user_id)) <= after:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return v

    def mark(self, audiences: set[tuple[Any, ...]]) -> None:
        """One batch of events concerned ``audiences``: wake their streams."""
        if not audiences:
            return
        with self._cond:
            self._seq += 1
            self.batches += 1
            for a in audiences:
                self._last[a] = self._seq
            self._cond.notify_all()


def _run(ref: weakref.ReferenceType[CardWaker], last: str) -> None:
    while (waker := ref()) is not None:
        client, stream, block_ms = waker.client, waker.stream, waker.block_ms
        del waker  # not held while blocked: a discarded app's waker ends its thread
        try:
            reply = client.xread({stream: last}, block=block_ms, count=500)
        except (redis.RedisError, OSError, ValueError) as err:  # Redis gone, pool closed
            log.info("card waker: %s", err)
            if (waker := ref()) is not None:
                waker.mark({EVERYONE})
            del waker
            time.sleep(1.0)
            continue
        audiences: set[tuple[Any, ...]] = set()
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                who = audience(fields)
                if who is not None:
                    audiences.add(who)
        if (waker := ref()) is not None:
            waker.mark(audiences)
