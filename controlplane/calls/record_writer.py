"""Call records written behind the calls, in batches, by one writer (and their live mirror).

Why: a call used to wait, at each ``SaveCall``, for a thread hop, a SELECT, an ORM upsert
and a commit, and then a Redis ``MULTI/EXEC``; at 50 calls/s those queued behind each
other in the default executor and the caller's 200 OK waited seconds for them. Now a save
is :meth:`RecordWriter.submit`: no I/O, the call goes on at once.

Theory of operation:
- Pending records are kept per call, the newest snapshot wins (a call that went from IVR
  to QUEUED in the same 50 ms is written once, as QUEUED). One task flushes them every
  ``interval_s`` (or at once when ``max_rows`` are waiting) in ONE transaction, on its own
  thread, with :func:`records.write` (one ``INSERT … ON CONFLICT DO UPDATE``).
- A flush that fails with ``OperationalError`` (SQLite "database is locked", PostgreSQL
  restarting) keeps its rows — unless a newer snapshot of that call arrived meanwhile —
  and is retried with a doubling delay (:func:`controlplane.db.backoff`): a record is never
  dropped for a busy or absent database. Any other error means one row cannot be written:
  the batch is written row by row, and only the row that fails is dropped, loudly.
- After each flush the live mirror goes to Redis in one non-transactional pipeline: the
  newest ``live_calls`` entry per call (HSET, or HDEL once ended) and every ``call.<phase>``
  event, in the order the saves happened. Redis down loses only the live view (as before).
- :meth:`durable` waits until a snapshot is committed: the ENDED record must be in the
  database before a job reads it (recording verification); :meth:`flush` waits for
  everything submitted so far, committed and mirrored (reconcile reads the records; tests). :meth:`close` flushes
  what is left when the daemon stops.
- Webhook events (``call.started``/``answered``/``ended``, :mod:`controlplane.webhooks.outbox`)
  are computed at :meth:`submit` (so a call that passes through a phase within one flush
  still reports it) and written in the SAME transaction as the records they report.
- A crash (SIGKILL) loses at most the last ``interval_s`` of snapshots plus a flush in
  flight: see "Restarts" in ``docs/ARCHITECTURE.md`` for what a restart then finds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis.asyncio as aioredis
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls import records
from controlplane.calls.common import now
from controlplane.calls.machine import CallState, Phase
from controlplane.db import backoff, transaction
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, event_fields
from controlplane.webhooks import call_events as webhook_calls
from controlplane.webhooks import outbox as webhook_outbox

log = logging.getLogger(__name__)

# (session, states, recordings dir): writes one batch inside the writer's transaction.
Write = Callable[[Session, Sequence[CallState], Path], None]


class RecordWriter:
    """The one writer of call records (see the module docstring)."""

    def __init__(self, db: sessionmaker[Session], recordings_dir: Path,
                 redis: aioredis.Redis | None, *, interval_s: float = 0.05,
                 max_rows: int = 200, first_retry_s: float = 0.1, max_retry_s: float = 5.0,
                 write: Write = records.write) -> None:
        self.db = db
        self.recordings_dir = recordings_dir
        self.redis = redis
        self.interval_s = interval_s
        self.max_rows = max_rows
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.write = write
        self._rows: dict[str, CallState] = {}  # call id → newest snapshot not yet committed
        self._writing: set[str] = set()  # call ids of the flush in flight
        self._waiters: list[asyncio.Future[None]] = []  # resolved by the next commit
        self._live: dict[str, CallState] = {}  # call id → newest snapshot not yet mirrored
        self._events: list[dict[str, str]] = []  # call.<phase> events not yet sent
        self._hooks: dict[str, list[webhook_outbox.Row]] = {}  # webhook events not committed
        self._reached: dict[str, set[str]] = {}  # call id → webhook events already queued
        self._dirty = asyncio.Event()
        self._now = asyncio.Event()  # flush without waiting for the interval
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._thread: ThreadPoolExecutor | None = None
        self.flushes = self.written = 0  # counters (tests, benches)

    @property
    def pending(self) -> int:
        """Calls whose newest snapshot is not committed yet (waiting or being written)."""
        return len(self._rows.keys() | self._writing)

    def submit(self, state: CallState) -> None:
        """Queue ``state`` as the call's record (replacing an older one still waiting)."""
        self._rows[state.call_id] = state
        self._live[state.call_id] = state
        hooks = webhook_calls.call_rows(state, self._reached.setdefault(state.call_id, set()))
        if hooks:
            self._hooks.setdefault(state.call_id, []).extend(hooks)
        if state.phase == Phase.ENDED:
            self._reached.pop(state.call_id, None)
        self._events.append(event_fields(f"call.{state.phase.value}", call_id=state.call_id,
                                         tenant_id=state.tenant_id, at=now().isoformat()))
        self._dirty.set()
        if len(self._rows) >= self.max_rows:
            self._now.set()
        self._ensure_running()

    async def durable(self, state: CallState) -> None:
        """Submit ``state`` and return once it (or a newer snapshot) is committed."""
        self.submit(state)
        await self.flush()

    async def flush(self) -> None:
        """Return once everything submitted before this call is committed (retrying while
        the database is unavailable)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._dirty.set()
        self._now.set()
        self._ensure_running()
        await asyncio.shield(waiter)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Flush what is held (the daemon is stopping), then stop the writer."""
        if self._rows or self._events:
            try:
                await asyncio.wait_for(self.flush(), timeout_s)
            except TimeoutError:
                log.error("call records of %d calls not written (stopping while the database "
                          "was unavailable)", len(self._rows))
        if self._task is not None:
            # Asked to stop, not cancelled: a cancel inside redis-py's pipeline can be
            # swallowed there, and the writer would then wait for work forever.
            self._closing = True
            self._dirty.set()
            self._now.set()
            done, _ = await asyncio.wait([self._task], timeout=timeout_s)
            if not done:
                self._task.cancel()
            self._task = None
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None

    # ---- the writer's task ----
    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="call-records")

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            await self._dirty.wait()
            if not self._now.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), self.interval_s)
            self._dirty.clear()
            self._now.clear()
            try:
                ok = await self._flush_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the writer must outlive any one bad batch
                log.exception("call-record writer: unexpected error")
                ok = False
            if ok:
                attempt = 0
                continue
            attempt += 1
            self._dirty.set()
            await asyncio.sleep(backoff(attempt, self.first_retry_s, self.max_retry_s))

    async def _flush_once(self) -> bool:
        """Write the pending rows in one transaction, then mirror; False: retry later."""
        rows, self._rows = self._rows, {}
        hooks, self._hooks = self._hooks, {}
        waiters, self._waiters = self._waiters, []
        ok = True
        if rows:
            started = time.monotonic()
            self._writing = set(rows)
            try:
                await self._in_thread(self._commit, list(rows.values()), hooks)
            except OperationalError as err:
                log.warning("call records of %d calls not written yet, retrying: %s",
                            len(rows), err)
                for call_id, state in rows.items():  # a newer snapshot, if any, wins
                    self._rows.setdefault(call_id, state)
                self._keep_hooks(hooks)
                self._waiters[:0] = waiters
                ok = False
            except Exception as err:  # noqa: BLE001 - one row cannot be written: find it
                log.error("call-record batch failed (%s); writing its %d rows one by one",
                          err, len(rows))
                ok = await self._one_by_one(rows, hooks)
                if not ok:
                    self._waiters[:0] = waiters
            self._writing = set()
            if ok:
                self.flushes += 1
                self.written += len(rows)
                log.debug("%d call records written in %.1f ms", len(rows),
                          (time.monotonic() - started) * 1000)
        await self._mirror()
        if ok:  # after the mirror too: who flushed finds the live view up to date
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
        return ok

    def _keep_hooks(self, hooks: dict[str, list[webhook_outbox.Row]]) -> None:
        """Not committed: the webhook events wait for the next flush (older ones first)."""
        for call_id, events in hooks.items():
            self._hooks[call_id] = events + self._hooks.get(call_id, [])

    async def _one_by_one(self, rows: dict[str, CallState],
                          hooks: dict[str, list[webhook_outbox.Row]]) -> bool:
        ok = True
        for call_id, state in rows.items():
            mine = {call_id: hooks[call_id]} if call_id in hooks else {}
            try:
                await self._in_thread(self._commit, [state], mine)
            except OperationalError:
                self._rows.setdefault(call_id, state)
                self._keep_hooks(mine)
                ok = False
            except Exception as err:  # noqa: BLE001 - retrying cannot help this row
                log.error("call record %s dropped: it cannot be written: %s", call_id, err)
        return ok

    def _commit(self, states: list[CallState],
                hooks: dict[str, list[webhook_outbox.Row]]) -> None:
        with transaction(self.db) as s:
            self.write(s, states, self.recordings_dir)
            webhook_outbox.add(s, [e for st in states for e in hooks.get(st.call_id, ())])

    async def _in_thread(self, fn: Callable[[list[CallState],
                                             dict[str, list[webhook_outbox.Row]]], None],
                         states: list[CallState],
                         hooks: dict[str, list[webhook_outbox.Row]]) -> None:
        # Its own thread: record writes neither queue behind nor hold up the default
        # executor's other work (look-ups, TTS), and they stay in order.
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="call-records")
        await asyncio.get_running_loop().run_in_executor(self._thread, fn, states, hooks)

    async def _mirror(self) -> None:
        """The live view: newest entry per call and every event, one round trip, no MULTI."""
        live, self._live = self._live, {}
        events, self._events = self._events, []
        if self.redis is None or not (live or events):
            return
        pipe = self.redis.pipeline(transaction=False)
        for call_id, state in live.items():
            if state.phase == Phase.ENDED:
                pipe.hdel(LIVE_CALLS_KEY, call_id)
            else:
                pipe.hset(LIVE_CALLS_KEY, call_id, live_json(state))
        for fields in events:
            pipe.xadd(EVENTS_STREAM, fields,  # type: ignore[arg-type]
                      maxlen=EVENTS_MAXLEN, approximate=True)
        try:
            await pipe.execute()
        except aioredis.RedisError as err:  # live view only; the database holds the record
            log.warning("redis update failed: %s", err)
            for call_id, state in live.items():  # tried again next time; newer ones win
                self._live.setdefault(call_id, state)

    async def audit_live(self, calls: Mapping[str, CallState]) -> int:
        """Make the live view say what ``calls`` (the service's calls in progress) says:
        drop entries of calls that are over, write those missing. An entry survives a lost
        update (Redis restarted, a write failed at a call's end) only until this runs.
        Returns how many entries it changed."""
        if self.redis is None:
            return 0
        try:
            shown = {k.decode() if isinstance(k, bytes) else str(k)
                     for k in await self.redis.hkeys(LIVE_CALLS_KEY)}
        except aioredis.RedisError as err:
            log.warning("live view not audited: %s", err)
            return 0
        # After the read: what the service knows now (calls waiting in ``_live`` are
        # written by the next mirror anyway).
        alive = {cid: st for cid, st in calls.items() if st.phase != Phase.ENDED}
        stale = [cid for cid in shown if cid not in alive and cid not in self._live]
        missing = {cid: live_json(st) for cid, st in alive.items()
                   if cid not in shown and cid not in self._live}
        if not (stale or missing):
            return 0
        pipe = self.redis.pipeline(transaction=False)
        if stale:
            pipe.hdel(LIVE_CALLS_KEY, *stale)
        if missing:
            pipe.hset(LIVE_CALLS_KEY, mapping=missing)  # type: ignore[arg-type]
        try:
            await pipe.execute()
        except aioredis.RedisError as err:
            log.warning("live view not audited: %s", err)
            return 0
        log.warning("live view corrected: %d ended call(s) dropped, %d live call(s) added",
                    len(stale), len(missing))
        return len(stale) + len(missing)


def live_json(state: CallState) -> str:
    """A live call as the panel's live view reads it (``live_calls`` hash)."""
    return LiveCall(state.call_id, state.tenant_id, state.direction, state.phase.value,
                    state.caller, state.callee, state.did, state.agent_endpoint,
                    state.started_at.isoformat(),
                    state.answered_at.isoformat() if state.answered_at else None,
                    {"target": state.consult.target, "answered": state.consult.answered}
                    if state.consult is not None else None).to_json()
