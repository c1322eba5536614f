"""One reader of the daemon's events per panel process, waking only the agents' cards an
event may change.

Theory of operation: every agent's interaction stream used to block in its own ``XREAD`` of
``centrala:events`` (one Redis connection per open agent page) and rebuild its card on every
event of every tenant: 200 agents and one status change meant 200 card builds. Now
:class:`CardWaker`'s single thread reads the stream and keeps, per *audience*, the number of
the last event batch that concerned it; a stream waits on the waker's condition until the
number of one of its audiences passes the one it last built for. A stream's audiences: its
agent, its agent's phones (endpoints), the call its card shows, its tenant, everyone.
An event's audiences, by its fields:

=====================================  ===============================================
event                                  wakes
=====================================  ===============================================
``queue.*``, ``chat.*``                nobody (no part of the card)
``agent.*`` naming ``agent``           that agent only (its status, break, phone)
naming a ``call_id`` (``call.*``,      the cards showing that call, and the agent whose
``supervision.*``, ``dialer.*``)       phone the live-calls hash puts it on now (read
                                       once per batch: the record writer mirrors the
                                       call before it announces it)
anything else naming a tenant          every agent of the tenant
no tenant, unreadable                  everyone
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
from collections.abc import Callable
from typing import Any

import redis

from controlplane.bus import LIVE_CALLS_KEY, LiveCall

log = logging.getLogger(__name__)

EVERYONE = ("all",)
SILENT = ("queue.", "chat.")  # kinds no card shows


def parsed(fields: dict[Any, Any]) -> dict[str, Any] | None:
    """The ``data`` JSON of one ``centrala:events`` entry (None when unreadable)."""
    raw = fields.get(b"data", fields.get("data"))
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def audience(data: dict[str, Any] | None,
             endpoint_of: Callable[[str], str | None]) -> set[tuple[Any, ...]]:
    """Whose cards one event (:func:`parsed`) may change; ``endpoint_of`` gives the phone a
    live call is on now (None when none or the call is gone)."""
    if data is None:
        return {EVERYONE}
    tenant, kind = data.get("tenant_id"), str(data.get("type") or "")
    if kind.startswith(SILENT):
        return set()
    if kind.startswith("agent.") and isinstance(tenant, int):
        try:
            return {("agent", tenant, int(data.get("agent")))}  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return {("tenant", tenant)}
    call_id = data.get("call_id")
    if isinstance(call_id, str) and call_id:
        endpoint = endpoint_of(call_id)
        return {("call", call_id)} | ({("endpoint", endpoint)} if endpoint else set())
    return {("tenant", tenant)} if isinstance(tenant, int) else {EVERYONE}


def audiences_of(tenant_id: int, user_id: int, endpoints: list[str],
                 call_id: str | None) -> list[tuple[Any, ...]]:
    """A stream's audiences: its agent, phones, the call its card shows, tenant, everyone."""
    out: list[tuple[Any, ...]] = [("agent", tenant_id, user_id), ("tenant", tenant_id),
                                  EVERYONE, *(("endpoint", e) for e in endpoints)]
    if call_id:
        out.append(("call", call_id))
    return out


def endpoints_now(client: redis.Redis, call_ids: list[str]) -> dict[str, str | None]:
    """Call id → the agent phone the live-calls hash has it on (one ``HMGET``)."""
    if not call_ids:
        return {}
    values: list[str | None] = client.hmget(LIVE_CALLS_KEY, call_ids)  # type: ignore[assignment]
    out: dict[str, str | None] = {}
    for cid, raw in zip(call_ids, values, strict=True):
        try:
            out[cid] = LiveCall.from_json(raw).agent_endpoint if raw else None
        except (ValueError, TypeError):
            out[cid] = None
    return out


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

    def version(self, audiences: list[tuple[Any, ...]]) -> int:
        """The number of the last batch that concerned one of ``audiences`` (0: none)."""
        return max((self._last.get(a, 0) for a in audiences), default=0)

    def wait(self, audiences: list[tuple[Any, ...]], after: int,
             timeout_s: float) -> int | None:
        """:meth:`version` once it passes ``after``; None after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while (v := self.version(audiences)) <= after:
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
        except Exception as err:  # noqa: BLE001 - Redis gone, or its pool closed under the
            # blocked read (redis-py then fails with anything); the thread must live on
            log.info("card waker: %s", err)
            if (waker := ref()) is not None:
                waker.mark({EVERYONE})
            del waker
            time.sleep(1.0)
            continue
        events = []
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                events.append(parsed(fields))
        calls = sorted({str(e["call_id"]) for e in events if e and e.get("call_id")
                        and not str(e.get("type") or "").startswith(("agent.", *SILENT))})
        audiences: set[tuple[Any, ...]] = set()
        try:
            where = endpoints_now(client, calls)
        except Exception as err:  # noqa: BLE001 - as above
            log.info("card waker: live calls not read: %s", err)
            where, audiences = {}, {EVERYONE}
        for e in events:
            audiences |= audience(e, where.get)
        if (waker := ref()) is not None:
            waker.mark(audiences)
