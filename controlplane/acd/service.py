"""The live ACD: the single owner of agent and queue state in the control plane.

Theory of operation
-------------------
Pure machines inside, I/O at the edge (docs/acd.md §9). Every public method is
one *operation*:

1. under ``_lock``: load the tenant if needed, feed events to the agent
   machines (``agent_machine.step``), the queue machines (``queue_machine``)
   and the router (``router.route``); their outputs are collected in a
   :class:`~controlplane.acd.live_state.Batch` (connector calls, log rows, stream events); the changed
   live state is mirrored to Redis;
2. under ``_send_lock`` (FIFO, so commands leave in the order they were
   decided): the connector calls, then the database rows (``store.append`` in
   a thread; kept and retried while the database is locked, ``log_writer.py``),
   then the stream events.

A connector method may call back into the service (``offer_failed`` from
inside ``offer``): the nested operation sends its own commands inline instead
of waiting for the send lock its caller holds. A connector ``offer`` that
raises is fed back as ``offer_failed(cause="error")``.

Redis keys (the panel reads them; the service only writes them, and reads the
agents back at start):

    centrala:acd:{tenant}:agents   hash  agent (user id) → agent state JSON (store.agent_to_json)
    centrala:acd:{tenant}:waiting  hash  call id → {queue, position, ewt_s, phase, …} JSON
    centrala:acd:{tenant}:stats    string  the latest queue.stats payload
    centrala:events                stream  agent.status, agent.break, queue.stats, … (live.py)

After a Redis restart (empty agents hash) the agents are rebuilt from each
one's latest ``AgentStatusLog`` row. Offers outstanding at a restart are
withdrawn (the call service hangs up orphan agent legs); waiting interactions
are not restored (the call service re-enqueues calls it adopts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import agent_events as ev
from controlplane.acd import queue_machine as qm
from controlplane.acd import store
from controlplane.acd.feature_codes import BREAK, LOGIN, LOGOUT, READY, SOUNDS, parse
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.live_state import (  # re-exported: the service's public vocabulary
    KEY,
    AcdError,
    Batch,
    CommandResult,
    Connector,
    TenantLive,
    UnknownQueue,
    UnknownTenant,
    skills_of,
)
from controlplane.acd.live_tenants import TenantsMixin
from controlplane.acd.log_writer import LogWriter
from controlplane.acd.queues import Recording
from controlplane.bus import ACD_MIRRORED_KEY
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, raise_if_cancelled

# Written once the live state is in Redis; missing later means Redis lost its data.
MIRROR_SENTINEL = ACD_MIRRORED_KEY

__all__ = [
    "KEY",
    "AcdError",
    "CommandResult",
    "Connector",
    "QueueService",
    "UnknownQueue",
    "UnknownTenant",
]

log = logging.getLogger(__name__)
S = ev.Status
COMMANDS = ("login", "logout", "ready", "break", "cancel_break", "approve", "deny", "force")


class QueueService(TenantsMixin):
    """Live queues and agents of every tenant (see the module docstring)."""

    def __init__(
        self,
        db: sessionmaker[Session],
        redis: aioredis.Redis,
        connector: Connector,
        clock: Callable[[], float] = time.time,
        *,
        max_missed: int = 3,
        stats_interval_s: float = 5.0,
        stats_window_s: float = 3600.0,
    ) -> None:
        self.db = db
        self.redis = redis
        self.connector = connector
        self.clock = clock
        self.max_missed = max_missed
        self.stats_interval_s = stats_interval_s
        self.stats_window_s = stats_window_s
        self._tenants: dict[int, TenantLive] = {}
        self._calls: dict[str, int] = {}  # call id → tenant
        self._owners: dict[str, tuple[int, str]] = {}  # endpoint → (tenant, agent)
        self._contacts: dict[str, dict[str, str]] = {}  # endpoint → contact → status
        self._lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._sender: asyncio.Task[Any] | None = None
        self._sentinel_written = False
        self._phones_busy: dict[str, int] = {}
        self._log_writer = LogWriter(db)  # never drops a row for a locked database

    # ---- public API ----

    async def start(self) -> None:
        """Load every tenant (agent state from Redis, or the status log)."""
        ids = await asyncio.to_thread(store.tenant_ids, self.db)
        async with self._op() as b:
            for tid in ids:
                await self._tenant(tid, b)

    async def run(self, interval_s: float = 1.0) -> None:
        """Tick every ``interval_s`` until cancelled."""
        await self.start()
        try:
            while True:
                try:
                    await self.tick()
                except Exception:  # a bad tick must not stop the clock of every tenant
                    log.exception("ACD tick failed")
                raise_if_cancelled()
                await asyncio.sleep(interval_s)
        finally:
            self._log_writer.close()

    async def reload(self, tenant_id: int) -> None:
        """Re-read a tenant's configuration (queues, members, skills, breaks)."""
        async with self._op() as b:
            t = self._tenants.get(tenant_id)
            if t is None:
                await self._tenant(tenant_id, b)
                return
            cfg = await asyncio.to_thread(store.load_tenant, self.db, tenant_id)
            if cfg is None:
                raise UnknownTenant(f"tenant {tenant_id} does not exist")
            t.cfg, t.settings = cfg, self._settings(cfg)
            self._own(t)

    async def enqueue(
        self,
        call_id: str,
        tenant_id: int,
        queue_name: str,
        priority: float = 0,
        skills: Iterable[str | tuple[str, int]] | Mapping[str, int] = (),
        caller: str = "",
        *,
        resume: bool = False,
    ) -> None:
        """A call enters queue ``queue_name``; raises UnknownQueue. A call already queued
        is left alone. ``resume``: the call waited before a restart of the control plane —
        it gets back its place (first arrival, entry time, priority and skills, from the
        queue log) instead of joining at the end."""
        async with self._op() as b:
            t = await self._tenant(tenant_id, b)
            qid = t.cfg.by_name.get(queue_name)
            if qid is None:
                raise UnknownQueue(f"tenant {tenant_id} has no queue {queue_name!r}")
            if call_id in self._calls:
                return
            now = self.clock()
            before = None
            if resume:
                before = await asyncio.to_thread(store.queued_before, self.db, tenant_id, call_id)
                if before is not None and not before.finished and before.queue_id in t.cfg.queues:
                    qid, priority, skills = before.queue_id, before.priority, before.skills
                else:
                    before = None
            last: tuple[str, float] | None = None
            if caller and t.cfg.queues[qid].sticky_wait_s > 0:
                last = await asyncio.to_thread(store.last_agent, self.db, tenant_id, caller)
            i = Interaction(
                call_id,
                Channel.VOICE,
                before.arrived_at if before else now,
                float(priority),
                skills_of(skills),
                caller or None,
                last[0] if last else None,
                last[1] if last else None,
            )
            self._calls[call_id] = tenant_id
            t.callers[call_id] = caller
            self._enter(t, b, i, qid, now, resumed_at=before.entered_at if before else None)
            self._route(t, b, now)

    async def caller_left(self, call_id: str) -> None:
        """The caller hung up (while waiting, ringing, or talking)."""
        async with self._op() as b:
            t, st = self._call(call_id)
            if t is None or st is None:
                return
            if st.phase == qm.Phase.CONNECTED:
                self._end(t, b, st, self.clock())
            else:
                self._queue(t, b, call_id, qm.CallerAbandoned(), self.clock())
            self._route(t, b, self.clock())

    async def callback_requested(self, call_id: str) -> None:
        """The waiting caller pressed the callback key: the call leaves the queue
        (``leave(call_id, "callback_requested", "callback:<queue name>")``)."""
        async with self._op() as b:
            t, st = self._call(call_id)
            if t is not None and st is not None:
                self._queue(t, b, call_id, qm.CallbackRequested(), self.clock())
                self._route(t, b, self.clock())

    async def dtmf(self, call_id: str, digit: str) -> bool:
        """A waiting caller pressed ``digit``; the queue's callback key (if it has one)
        requests a callback (see :meth:`callback_requested`). True when it did."""
        async with self._op() as b:
            t, st = self._call(call_id)
            if t is None or st is None or st.phase not in qm.QUEUED:
                return False
            q = t.cfg.queues.get(st.queue_id)
            if q is None or q.callback_key is None or digit != q.callback_key:
                return False
            self._queue(t, b, call_id, qm.CallbackRequested(), self.clock())
            self._route(t, b, self.clock())
            return True

    async def record_on_demand(self, call_id: str) -> bool:
        """May the agent of this connected call start its recording now? True when the
        call's queue records ``on_demand`` (the queue log notes who asked, and when)."""
        async with self._op() as b:
            t, st = self._call(call_id)
            if t is None or st is None or st.phase != qm.Phase.CONNECTED:
                return False
            q = t.cfg.queues.get(st.queue_id)
            if q is None or q.recording != Recording.ON_DEMAND:
                return False
            self._event(b, "queue.recording_started", t, self.clock(), call_id=call_id,
                        agent=st.agent)
            return True

    async def phone_in_use(self, endpoint: str, calls: int) -> None:
        """The call service counts ``calls`` it has on this phone that the ACD did not route
        (a DID ringing it directly, the agent's own outbound call, a preview call): while
        any, the agent is not offered voice (chats still come)."""
        async with self._op() as b:
            if calls > 0:
                self._phones_busy[endpoint] = calls
                return
            self._phones_busy.pop(endpoint, None)
            owner = self._owners.get(endpoint)
            if owner is not None and owner[0] in self._tenants:
                self._route(self._tenants[owner[0]], b, self.clock())

    async def offer_ringing(self, call_id: str, agent_endpoint: str) -> None:
        """Optional: the agent's phone rings (the agent shows ``ringing``, not ``reserved``)."""
        async with self._op() as b:
            t, _ = self._call(call_id)
            aid = self._agent_of(t, agent_endpoint)
            if t is not None and aid is not None:
                self._agent(t, b, aid, ev.Ringing(call_id), self.clock())

    async def offer_answered(self, call_id: str, agent_endpoint: str) -> None:
        """The agent answered the offer; the service connects (or cancels a late answer)."""
        async with self._op() as b:
            now = self.clock()
            t, st = self._call(call_id)
            aid = self._agent_of(t, agent_endpoint)
            if t is None or st is None or aid is None:
                b.send("cancel_offer", call_id, agent_endpoint, "late")
                return
            new, outs = qm.step(st, qm.AgentAnswered(aid), now, t.cfg.queues[st.queue_id])
            t.queued[call_id] = new
            if new.phase == qm.Phase.CONNECTED and new.agent == aid:
                self._agent(t, b, aid, ev.Answered(call_id), now)
            self._apply(t, b, new, outs, now)
            self._route(t, b, now)

    async def offer_failed(self, call_id: str, agent_endpoint: str, cause: str) -> None:
        """The agent leg ended before answer (timeout, busy, rejected, unreachable, error)."""
        async with self._op() as b:
            now = self.clock()
            t, st = self._call(call_id)
            aid = self._agent_of(t, agent_endpoint)
            if t is None or aid is None:
                return
            if st is not None:
                self._queue(t, b, call_id, qm.OfferTimeout(aid, cause), now)
            a = t.agents.get(aid)
            if a is not None and a.offer is not None and a.offer.interaction_id == call_id:
                self._agent(t, b, aid, ev.OfferFailed(call_id, cause), now)
            self._route(t, b, now)

    async def call_ended(self, call_id: str) -> None:
        """The conversation is over: the agent goes to wrap-up."""
        async with self._op() as b:
            now = self.clock()
            t, st = self._call(call_id)
            if t is None:  # not known (e.g. after a restart): end it in whoever holds it
                for t in self._tenants.values():
                    for aid, a in list(t.agents.items()):
                        if any(w.interaction_id == call_id for w in a.held):
                            self._agent(t, b, aid, ev.InteractionEnded(call_id), now)
                return
            if st is not None and st.phase == qm.Phase.CONNECTED:
                self._end(t, b, st, now)
            elif st is not None:
                self._queue(t, b, call_id, qm.CallerAbandoned(), now)
            self._route(t, b, now)

    async def agent_command(
        self,
        tenant_id: int,
        user_id: int,
        command: str,
        reason: str | None = None,
        *,
        by: str | None = None,
        workstation: str | None = None,
    ) -> CommandResult:
        """login | logout | ready | break (reason) | cancel_break; supervisor: approve |
        deny | force (reason), and logout with ``by``. ``workstation`` is the phone (or
        panel) the agent logs in from; default: the user's first phone."""
        async with self._op() as b:
            t = await self._tenant(tenant_id, b)
            return self._command(t, b, str(user_id), command, reason, by, workstation)

    async def contact_status(self, endpoint: str, status: str, contact: str = "") -> None:
        """AMI ``ContactStatus`` of a phone; several contacts of one AOR are aggregated
        (reachable when any is)."""
        async with self._op() as b:
            contacts = self._contacts.setdefault(endpoint, {})
            if status == "Removed":
                contacts.pop(contact, None)
            else:
                contacts[contact] = status
            owner = await self._owner(endpoint, b)
            if owner is None:
                return
            t = self._tenants[owner[0]]
            aid = owner[1]
            if t.endpoint.get(aid, endpoint) == endpoint and aid in t.agents:
                self._agent(t, b, aid, ev.ContactStatus(self._reach(endpoint)), self.clock())
                self._route(t, b, self.clock())

    async def feature_code(self, phone_endpoint: str, code: str) -> str:
        """Apply a desk-phone feature code; returns the sound to play as confirmation."""
        fc = parse(code)
        if fc is None:
            return SOUNDS["invalid"]
        async with self._op() as b:
            owner = await self._owner(phone_endpoint, b)
            if owner is None:
                return SOUNDS["unknown_phone"]
            t, aid = self._tenants[owner[0]], owner[1]
            cmd = {LOGIN: "login", READY: "ready", BREAK: "break", LOGOUT: "logout"}[fc.action]
            r = self._command(t, b, aid, cmd, fc.reason, None, phone_endpoint)
        if fc.action == LOGIN:
            if r.code in ("already", "logged_in_elsewhere"):
                return SOUNDS["already_on"]
            return SOUNDS["logged_in"] if r.ok else SOUNDS["unknown_phone"]
        if fc.action == LOGOUT and r.ok:
            return SOUNDS["logged_out"]
        return SOUNDS["ok"] if r.ok else SOUNDS["refused"]

    async def tick(self) -> None:
        """Time passes: wrap-ups end, offers time out, overflow, announcements, routing.
        If Redis lost its data (restarted empty), the whole live state is written again."""
        async with self._op() as b:
            now = self.clock()
            if await self._redis_lost():
                log.warning("ACD: Redis lost its data; mirroring the live state again")
                for t in self._tenants.values():
                    b.dirty.update((t.tid, aid) for aid in t.agents)
                    b.touched.add(t.tid)
            for t in self._tenants.values():
                self._tick(t, b, now)

    async def _redis_lost(self) -> bool:
        """True when the sentinel this service wrote is gone: Redis lost its data. The first
        check only writes it (``start`` has just mirrored everything)."""
        try:
            if await self.redis.exists(MIRROR_SENTINEL):
                self._sentinel_written = True
                return False
            await self.redis.set(MIRROR_SENTINEL, str(self.clock()))
        except aioredis.RedisError:
            return False  # down: nothing to mirror to; the next tick asks again
        lost, self._sentinel_written = self._sentinel_written, True
        return lost

    async def snapshot(self, tenant_id: int) -> dict[str, Any]:
        """Live statistics of a tenant: per queue and per agent status."""
        async with self._op() as b:
            t = await self._tenant(tenant_id, b)
            return self._stats(t, self.clock())

    # ---- operation plumbing ----

    @contextlib.asynccontextmanager
    async def _op(self) -> AsyncIterator[Batch]:
        b = Batch()
        async with self._lock:
            yield b
            await self._mirror(b)
        await self._flush(b)

    async def _flush(self, b: Batch) -> None:
        me = asyncio.current_task()
        if self._sender is not None and self._sender is me:  # re-entered from a connector call
            await self._send(b)
            return
        async with self._send_lock:
            self._sender = me
            try:
                await self._send(b)
            finally:
                self._sender = None

    async def _send(self, b: Batch) -> None:
        failed: list[tuple[str, str]] = []
        for name, args in b.sends:
            try:
                await getattr(self.connector, name)(*args)
            except Exception as err:  # noqa: BLE001 - one failed command must not stop the rest
                log.warning("connector %s%s failed: %s", name, args, err)
                if name == "offer":
                    failed.append((args[0], args[1]))
        logs = [lg for lg in b.logs if lg]
        if logs:
            await self._log_writer.write(logs)
        if b.events:
            try:
                pipe = self.redis.pipeline(transaction=False)
                for fields in b.events:
                    pipe.xadd(EVENTS_STREAM, fields, maxlen=EVENTS_MAXLEN, approximate=True)  # type: ignore[arg-type]
                await pipe.execute()
            except aioredis.RedisError as err:
                log.warning("ACD events not published: %s", err)
        for call_id, endpoint in failed:
            await self.offer_failed(call_id, endpoint, "error")

    async def _mirror(self, b: Batch) -> None:
        """Write the changed agents and the waiting lists of touched tenants to Redis."""
        if not (b.dirty or b.touched or b.stats):
            return
        pipe = self.redis.pipeline(transaction=True)
        for tid, aid in b.dirty:
            t = self._tenants[tid]
            pipe.hset(
                KEY.format(tenant=tid, part="agents"),
                aid,
                store.agent_to_json(t.agents[aid], t.endpoint.get(aid)),
            )
        for tid in b.touched:
            t = self._tenants[tid]
            key = KEY.format(tenant=tid, part="waiting")
            pipe.delete(key)
            waiting = self._waiting_json(t)
            if waiting:
                pipe.hset(key, mapping=waiting)  # type: ignore[arg-type]
        for tid, data in b.stats.items():
            pipe.set(KEY.format(tenant=tid, part="stats"), data)
        try:
            await pipe.execute()
        except aioredis.RedisError as err:
            log.warning("ACD live state not mirrored: %s", err)
