"""The live ACD: the single owner of agent and queue state in the control plane.

Theory of operation
-------------------
Pure machines inside, I/O at the edge (docs/acd.md §9). Every public method is
one *operation*:

1. under ``_lock``: load the tenant if needed, feed events to the agent
   machines (``agent_machine.step``), the queue machines (``queue_machine``)
   and the router (``router.route``); their outputs are collected in a
   :class:`_Batch` (connector calls, log rows, stream events); the changed
   live state is mirrored to Redis;
2. under ``_send_lock`` (FIFO, so commands leave in the order they were
   decided): the connector calls, then the database rows (``store.append`` in
   a thread), then the stream events.

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
import json
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import queue_machine as qm
from controlplane.acd import sessions as ss
from controlplane.acd import store
from controlplane.acd.feature_codes import BREAK, LOGIN, LOGOUT, READY, SOUNDS, parse
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.queues import DestinationKind, Recording
from controlplane.acd.router import (
    AgentView,
    RouterState,
    Snapshot,
    Waiting,
    queue_positions,
    route,
)
from controlplane.acd.stats import QueueLogRecord, queue_report
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, event_fields

log = logging.getLogger(__name__)
S = ev.Status
KEY = "centrala:acd:{tenant}:{part}"
COMMANDS = ("login", "logout", "ready", "break", "cancel_break", "approve", "deny", "force")


class AcdError(Exception):
    """Base error of the ACD service."""


class UnknownTenant(AcdError):
    pass


class UnknownQueue(AcdError):
    pass


class Connector(Protocol):
    """What the ACD asks of the call service (the ARI side). Outcomes come back
    through ``offer_answered`` / ``offer_failed`` / ``caller_left`` / ``call_ended``."""

    async def offer(self, call_id: str, agent_endpoint: str, timeout_s: float) -> None: ...
    async def cancel_offer(self, call_id: str, agent_endpoint: str, reason: str) -> None: ...
    async def connect(self, call_id: str, agent_endpoint: str, record: bool) -> None: ...
    async def start_moh(self, call_id: str) -> None: ...
    async def stop_moh(self, call_id: str) -> None: ...
    async def announce(self, call_id: str, position: int, ewt_s: float) -> None: ...
    async def leave(self, call_id: str, outcome: str, destination: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class CommandResult:
    """``code``: "" ok | already | licence_limit | logged_in_elsewhere | refused | unknown_command."""

    ok: bool
    status: str
    reason: str | None = None
    code: str = ""
    message: str = ""


class _OpenBreaks(Mapping[str, ev.BreakReason]):
    """A tenant without configured break reasons accepts any code as a free break."""

    def __getitem__(self, key: str) -> ev.BreakReason:
        return ev.BreakReason(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass
class _Tenant:
    cfg: store.TenantConfig
    settings: am.AgentSettings
    sessions: ss.SessionsState
    agents: dict[str, am.AgentState] = field(default_factory=dict)
    endpoint: dict[str, str] = field(default_factory=dict)  # agent → phone in use
    queued: dict[str, qm.QueuedState] = field(default_factory=dict)
    callers: dict[str, str] = field(default_factory=dict)
    visited: dict[str, set[str]] = field(default_factory=dict)  # call → queues entered
    router: RouterState = field(default_factory=RouterState)
    rng: random.Random = field(default_factory=random.Random)
    log: dict[str, deque[QueueLogRecord]] = field(default_factory=dict)  # per queue, for stats
    aht: dict[str, float] = field(default_factory=dict)
    stats_at: float = float("-inf")

    @property
    def tid(self) -> int:
        return self.cfg.tenant_id

    def logged_in(self, aid: str) -> bool:
        a = self.agents.get(aid)
        return a is not None and a.status != S.LOGGED_OUT


@dataclass
class _Batch:
    sends: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    logs: list[store.Logs] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    dirty: set[tuple[int, str]] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    stats: dict[int, str] = field(default_factory=dict)  # tenant → latest queue.stats JSON

    def send(self, name: str, *args: Any) -> None:
        self.sends.append((name, args))


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _skills(skills: Iterable[str | tuple[str, int]] | Mapping[str, int]) -> dict[str, int]:
    if isinstance(skills, Mapping):
        return {str(k): int(v) for k, v in skills.items()}
    return dict((s, 1) if isinstance(s, str) else (s[0], int(s[1])) for s in skills)


class QueueService:
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
        self._tenants: dict[int, _Tenant] = {}
        self._calls: dict[str, int] = {}  # call id → tenant
        self._owners: dict[str, tuple[int, str]] = {}  # endpoint → (tenant, agent)
        self._contacts: dict[str, dict[str, str]] = {}  # endpoint → contact → status
        self._lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._sender: asyncio.Task[Any] | None = None

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
        while True:
            try:
                await self.tick()
            except Exception:  # a bad tick must not stop the clock of every tenant
                log.exception("ACD tick failed")
            await asyncio.sleep(interval_s)

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
    ) -> None:
        """A call enters queue ``queue_name``; raises UnknownQueue. A call already queued
        is left alone."""
        async with self._op() as b:
            t = await self._tenant(tenant_id, b)
            qid = t.cfg.by_name.get(queue_name)
            if qid is None:
                raise UnknownQueue(f"tenant {tenant_id} has no queue {queue_name!r}")
            if call_id in self._calls:
                return
            now = self.clock()
            last: tuple[str, float] | None = None
            if caller and t.cfg.queues[qid].sticky_wait_s > 0:
                last = await asyncio.to_thread(store.last_agent, self.db, tenant_id, caller)
            i = Interaction(
                call_id,
                Channel.VOICE,
                now,
                float(priority),
                _skills(skills),
                caller or None,
                last[0] if last else None,
                last[1] if last else None,
            )
            self._calls[call_id] = tenant_id
            t.callers[call_id] = caller
            self._enter(t, b, i, qid, now)
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
        """Time passes: wrap-ups end, offers time out, overflow, announcements, routing."""
        async with self._op() as b:
            now = self.clock()
            for t in self._tenants.values():
                self._tick(t, b, now)

    async def snapshot(self, tenant_id: int) -> dict[str, Any]:
        """Live statistics of a tenant: per queue and per agent status."""
        async with self._op() as b:
            t = await self._tenant(tenant_id, b)
            return self._stats(t, self.clock())

    # ---- operation plumbing ----

    @contextlib.asynccontextmanager
    async def _op(self) -> AsyncIterator[_Batch]:
        b = _Batch()
        async with self._lock:
            yield b
            await self._mirror(b)
        await self._flush(b)

    async def _flush(self, b: _Batch) -> None:
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

    async def _send(self, b: _Batch) -> None:
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
            try:
                await asyncio.to_thread(store.append, self.db, logs)
            except Exception as err:  # noqa: BLE001 - live state goes on; the log row is lost
                log.error("ACD log rows not written: %s", err)
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

    async def _mirror(self, b: _Batch) -> None:
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

    def _event(self, b: _Batch, kind: str, t: _Tenant, at: float, **payload: Any) -> None:
        b.events.append(event_fields(kind, tenant_id=t.tid, at=_iso(at), **payload))

    def _logs(self, t: _Tenant, b: _Batch) -> store.Logs:
        if not b.logs or b.logs[-1].tenant_id != t.tid:
            b.logs.append(store.Logs(t.tid))
        return b.logs[-1]

    # ---- tenants, agents, endpoints ----

    def _settings(self, cfg: store.TenantConfig) -> am.AgentSettings:
        return am.AgentSettings(self.max_missed, cfg.breaks or _OpenBreaks())

    def _own(self, t: _Tenant) -> None:
        for aid, eps in t.cfg.endpoints.items():
            for ep in eps:
                self._owners[ep] = (t.tid, aid)

    async def _tenant(self, tenant_id: int, b: _Batch) -> _Tenant:
        t = self._tenants.get(tenant_id)
        if t is not None:
            return t
        cfg = await asyncio.to_thread(store.load_tenant, self.db, tenant_id)
        if cfg is None:
            raise UnknownTenant(f"tenant {tenant_id} does not exist")
        t = _Tenant(
            cfg,
            self._settings(cfg),
            ss.SessionsState(tenant_id, cfg.licences),
            rng=random.Random(tenant_id),
        )
        self._tenants[tenant_id] = t
        self._own(t)
        await self._restore(t, b)
        return t

    async def _restore(self, t: _Tenant, b: _Batch) -> None:
        now = self.clock()
        raw = await self.redis.hgetall(KEY.format(tenant=t.tid, part="agents"))
        for value in raw.values():
            state, endpoint = store.agent_from_json(value)
            t.agents[state.agent_id] = state
            if endpoint:
                t.endpoint[state.agent_id] = endpoint
        if not raw:  # Redis lost its data: the status log says where everyone was
            rows = await asyncio.to_thread(store.latest_statuses, self.db, t.tid)
            for aid, (status, reason, at) in rows.items():
                t.agents[aid] = self._from_log(t, b, aid, S(status), reason, at, now)
        sessions = dict(t.sessions.sessions)
        for aid, a in list(t.agents.items()):
            if a.offer is not None:  # the agent leg is an orphan now; the call service hangs it up
                self._agent(t, b, aid, ev.OfferCancelled(a.offer.interaction_id), now)
            phones = t.cfg.endpoints.get(aid, ())
            if a.status != S.LOGGED_OUT and aid not in t.endpoint and phones:
                t.endpoint[aid] = phones[0]  # rebuilt from the log: the default phone
            if a.status != S.LOGGED_OUT:
                ws = t.endpoint.get(aid) or "panel"
                sessions[aid] = ss.Session(aid, ws, a.since)
            b.dirty.add((t.tid, aid))
        t.sessions = ss.SessionsState(t.tid, t.cfg.licences, sessions=sessions)

    def _from_log(
        self,
        t: _Tenant,
        b: _Batch,
        aid: str,
        status: ev.Status,
        reason: str | None,
        at: float,
        now: float,
    ) -> am.AgentState:
        a = am.AgentState(aid, status, reason, since=at, idle_since=at)
        if status == S.WRAP_UP:
            return am.AgentState(aid, status, None, since=at, wrap_until=at, idle_since=at)
        if status in (S.RESERVED, S.RINGING, S.ON_CALL):  # the work is unknown now
            self._logs(t, b).statuses.append(ev.StatusChanged(aid, status, S.READY, None, now))
            return am.AgentState(aid, S.READY, since=now, idle_since=now)
        return a

    async def _owner(self, endpoint: str, b: _Batch) -> tuple[int, str] | None:
        owner = self._owners.get(endpoint)
        if owner is None:
            found = await asyncio.to_thread(store.endpoint_owner, self.db, endpoint)
            if found is None:
                return None
            owner = (found[0], str(found[1]))
            self._owners[endpoint] = owner
        await self._tenant(owner[0], b)
        return owner

    def _agent_of(self, t: _Tenant | None, endpoint: str) -> str | None:
        owner = self._owners.get(endpoint)
        return owner[1] if t is not None and owner is not None and owner[0] == t.tid else None

    def _reach(self, endpoint: str) -> str:
        states = self._contacts.get(endpoint)
        if states is None:
            return "Unknown"
        if any(s in am.REACHABLE for s in states.values()):
            return "Reachable"
        if not states or any(s in am.UNREACHABLE for s in states.values()):
            return "Unreachable"
        return "Unknown"

    def _call(self, call_id: str) -> tuple[_Tenant | None, qm.QueuedState | None]:
        tid = self._calls.get(call_id)
        if tid is None:
            return None, None
        t = self._tenants[tid]
        return t, t.queued.get(call_id)

    # ---- machine steps ----

    def _agent(self, t: _Tenant, b: _Batch, aid: str, event: ev.AgentEvent, now: float) -> None:
        state = t.agents.get(aid) or am.AgentState(aid)
        new, outs = am.step(state, event, now, t.settings)
        t.agents[aid] = new
        if new is not state:
            b.dirty.add((t.tid, aid))
        lg = self._logs(t, b)
        for o in outs:
            if isinstance(o, ev.StatusChanged):
                lg.statuses.append(o)
                self._event(
                    b,
                    "agent.status",
                    t,
                    o.at,
                    agent=aid,
                    from_=str(o.from_),
                    to=str(o.to),
                    reason=o.reason,
                )
                if o.to == S.LOGGED_OUT:
                    ws = t.sessions.sessions.get(aid)
                    if ws is not None:
                        self._sessions(t, b, ss.Logout(aid, ws.workstation), now)
            elif isinstance(o, ev.Refused):
                b.refusals.append(o.why)
            elif isinstance(o, ev.BreakLog):
                lg.breaks.append(o)
                self._event(
                    b, "agent.break", t, o.at, agent=aid, action=o.action, reason=o.reason, by=o.by
                )
            elif isinstance(o, ev.ReachabilityChanged):
                self._event(b, "agent.reachability", t, o.at, agent=aid, reachable=o.reachable)

    def _sessions(self, t: _Tenant, b: _Batch, e: ss.SessionEvent, now: float) -> list[Any]:
        t.sessions, outs = ss.step(t.sessions, e, now)
        for o in outs:
            if isinstance(o, ss.Audit):
                self._logs(t, b).audits.append(o)
            elif isinstance(o, ss.EndSession):
                self._event(
                    b,
                    "agent.session_ended",
                    t,
                    now,
                    agent=o.user,
                    workstation=o.workstation,
                    reason=o.reason,
                )
        return outs

    def _queue(self, t: _Tenant, b: _Batch, call_id: str, e: qm.QueueEvent, now: float) -> None:
        st = t.queued.get(call_id)
        if st is None:
            return
        q = t.cfg.queues.get(st.queue_id)
        if q is None:  # the queue was deleted while the call waited
            self._drop(t, b, call_id)
            b.send("leave", call_id, "queue_removed", None)
            return
        new, outs = qm.step(st, e, now, q)
        t.queued[call_id] = new
        self._apply(t, b, new, outs, now)

    def _enter(self, t: _Tenant, b: _Batch, i: Interaction, qid: str, now: float) -> None:
        q = t.cfg.queues[qid]
        waiting = sum(1 for s in t.queued.values() if s.queue_id == qid and s.phase in qm.QUEUED)
        staffed = sum(1 for m in q.members if t.logged_in(m))
        st, outs = qm.start(qm.Enter(i, waiting, staffed), q, now)
        t.queued[i.interaction_id] = st
        t.visited.setdefault(i.interaction_id, set()).add(qid)
        self._apply(t, b, st, outs, now)

    def _apply(
        self, t: _Tenant, b: _Batch, st: qm.QueuedState, outs: list[qm.QueueOutput], now: float
    ) -> None:
        """Carry out the queue machine's outputs (docs/acd.md §9, commands out)."""
        iid = st.iid
        b.touched.add(t.tid)
        reenter: str | None = None
        record = any(isinstance(o, qm.Record) and o.mode == Recording.ALWAYS for o in outs)
        for o in outs:
            if isinstance(o, QueueLogRecord):
                t.log.setdefault(o.queue_id, deque(maxlen=20_000)).append(o)
                self._logs(t, b).queue.append((o, t.callers.get(iid, "")))
            elif isinstance(o, qm.StartMoh):
                b.send("start_moh", iid)
            elif isinstance(o, qm.StopMoh):
                b.send("stop_moh", iid)
            elif isinstance(o, qm.AnnouncePosition):
                b.send("announce", iid, o.position, o.ewt_s or 0.0)
            elif isinstance(o, qm.Offer):
                b.send("offer", iid, t.endpoint[o.agent], o.timeout_s)
            elif isinstance(o, qm.CancelOffer):
                self._cancel(t, b, o, now)
            elif isinstance(o, qm.Connect):
                b.send("connect", iid, t.endpoint[o.agent], record)
            elif isinstance(o, qm.Record) and o.mode == Recording.ON_DEMAND:
                self._event(b, "queue.record_on_demand", t, now, call_id=iid, agent=o.agent)
            elif isinstance(o, qm.Overflow):
                dest = o.destination
                if (
                    dest.kind == DestinationKind.QUEUE
                    and dest.target in t.cfg.queues
                    and (dest.target not in t.visited.get(iid, set()))
                ):
                    reenter = dest.target
                else:
                    where = (
                        None
                        if dest.kind == DestinationKind.HANGUP
                        else f"{dest.kind}:{dest.target}"
                    )
                    b.send("leave", iid, o.reason, where)
            elif isinstance(o, qm.Left) and o.outcome != "answered":
                t.queued.pop(iid, None)
                if o.outcome == "callback_requested":
                    b.send("leave", iid, o.outcome, f"callback:{t.cfg.names.get(o.queue_id)}")
        if reenter is not None:
            self._enter(t, b, st.interaction, reenter, now)
        elif iid not in t.queued:
            self._drop(t, b, iid)

    def _cancel(self, t: _Tenant, b: _Batch, o: qm.CancelOffer, now: float) -> None:
        endpoint = t.endpoint.get(o.agent)
        if endpoint is not None:
            b.send("cancel_offer", o.interaction_id, endpoint, o.reason)
        if o.reason in ("late", "stale"):
            return  # only the agent leg: the agent's offer is not this one
        a = t.agents.get(o.agent)
        if a is None or a.offer is None or a.offer.interaction_id != o.interaction_id:
            return
        e: ev.AgentEvent = (
            ev.OfferFailed(o.interaction_id, "timeout")
            if o.reason == "timeout"
            else ev.OfferCancelled(o.interaction_id)
        )
        self._agent(t, b, o.agent, e, now)

    def _drop(self, t: _Tenant, b: _Batch, call_id: str) -> None:
        t.queued.pop(call_id, None)
        t.callers.pop(call_id, None)
        t.visited.pop(call_id, None)
        self._calls.pop(call_id, None)
        b.touched.add(t.tid)

    def _end(self, t: _Tenant, b: _Batch, st: qm.QueuedState, now: float) -> None:
        self._queue(t, b, st.iid, qm.Ended(), now)
        if st.agent is not None:
            self._agent(t, b, st.agent, ev.InteractionEnded(st.iid), now)
        self._drop(t, b, st.iid)

    # ---- routing and time ----

    def _snapshot(self, t: _Tenant) -> Snapshot:
        views = {}
        for aid, a in t.agents.items():
            if a.status == S.LOGGED_OUT:
                continue
            free = am.available_channels(a, t.settings.capacity)
            if aid not in t.endpoint:  # no phone: nothing to ring
                free = free - {Channel.VOICE}
            views[aid] = AgentView(aid, free, t.cfg.skills.get(aid, {}), a.idle_since, a.answered)
        waiting = tuple(
            Waiting(s.interaction, s.queue_id, s.entered_at, s.tried, s.phase == qm.Phase.OFFERED)
            for s in t.queued.values()
            if s.phase in qm.QUEUED
        )
        return Snapshot(t.cfg.queues, views, waiting)

    def _route(self, t: _Tenant, b: _Batch, now: float) -> None:
        t.router, assignments = route(t.router, self._snapshot(t), now, t.rng)
        for a in assignments:
            st = t.queued[a.interaction_id]
            accepted = []
            for aid in a.agents:
                before = t.agents[aid]
                self._agent(
                    t,
                    b,
                    aid,
                    ev.Reserve(a.interaction_id, st.interaction.channel, a.queue_id, a.wrap_up_s),
                    now,
                )
                if t.agents[aid] is not before:
                    accepted.append(aid)
            if accepted:
                self._queue(t, b, a.interaction_id, qm.Offered(tuple(accepted), a.timeout_s), now)

    def _tick(self, t: _Tenant, b: _Batch, now: float) -> None:
        for aid in list(t.agents):
            self._agent(t, b, aid, ev.Tick(), now)
        positions = queue_positions(self._snapshot(t), now, t.aht)
        for iid, st in list(t.queued.items()):
            if st.phase not in qm.QUEUED or iid not in t.queued:
                continue
            q = t.cfg.queues.get(st.queue_id)
            staffed = sum(1 for m in q.members if t.logged_in(m)) if q else 0
            pos, ewt = positions.get(iid, (None, None))
            self._queue(t, b, iid, qm.Tick(pos, ewt, staffed), now)
        self._route(t, b, now)
        if now - t.stats_at >= self.stats_interval_s:
            t.stats_at = now
            fields = event_fields("queue.stats", **self._stats(t, now))
            b.events.append(fields)
            b.stats[t.tid] = fields["data"]

    def _stats(self, t: _Tenant, now: float) -> dict[str, Any]:
        per_status: dict[str, int] = {}
        for a in t.agents.values():
            if a.status != S.LOGGED_OUT:
                per_status[str(a.status)] = per_status.get(str(a.status), 0) + 1
        queues = []
        for qid, q in t.cfg.queues.items():
            records = t.log.setdefault(qid, deque(maxlen=20_000))
            while records and records[0].at < now - self.stats_window_s:
                records.popleft()
            r = queue_report(records, qid, now, t.cfg.sl_threshold_s.get(qid, 20.0))
            if r.avg_handle_s:
                t.aht[qid] = r.avg_handle_s
            live = [
                now - s.entered_at
                for s in t.queued.values()
                if s.queue_id == qid and s.phase in qm.QUEUED
            ]
            queues.append(
                {
                    "queue_id": qid,
                    "name": t.cfg.names.get(qid, qid),
                    "waiting": len(live),
                    "longest_wait_s": round(max(live, default=0.0), 1),
                    "entered": r.entered,
                    "answered": r.answered,
                    "abandoned": r.abandoned,
                    "overflowed": r.overflowed,
                    "diverted": r.diverted,
                    "service_level_pct": r.service_level_pct,
                    "abandon_rate_pct": r.abandon_rate_pct,
                    "avg_speed_of_answer_s": r.avg_speed_of_answer_s,
                    "avg_handle_s": r.avg_handle_s,
                    "agents_logged_in": sum(1 for m in q.members if t.logged_in(m)),
                    "agents_free": sum(
                        1
                        for m in q.members
                        if t.logged_in(m) and am.available_channels(t.agents[m])
                    ),
                }
            )
        return {
            "tenant_id": t.tid,
            "at": _iso(now),
            "window_s": self.stats_window_s,
            "queues": queues,
            "agents": per_status,
        }

    def _waiting_json(self, t: _Tenant) -> dict[str, str]:
        positions = queue_positions(self._snapshot(t), self.clock(), t.aht)
        out = {}
        for iid, s in t.queued.items():
            if s.phase not in qm.QUEUED:
                continue
            pos, ewt = positions.get(iid, (None, None))
            out[iid] = json.dumps(
                {
                    "queue_id": s.queue_id,
                    "queue": t.cfg.names.get(s.queue_id),
                    "position": pos,
                    "ewt_s": ewt,
                    "phase": str(s.phase),
                    "offered": list(s.offered),
                    "entered_at": _iso(s.entered_at),
                    "arrived_at": _iso(s.interaction.arrived_at),
                    "priority": s.interaction.priority,
                    "caller": t.callers.get(iid, ""),
                }
            )
        return out

    # ---- agent commands ----

    def _command(
        self,
        t: _Tenant,
        b: _Batch,
        aid: str,
        command: str,
        reason: str | None,
        by: str | None,
        workstation: str | None,
    ) -> CommandResult:
        now = self.clock()
        before = t.agents.get(aid) or am.AgentState(aid)
        first = len(b.refusals)
        code = ""
        if command == "login":
            code = self._login(t, b, aid, workstation, now)
        elif command == "logout":
            self._agent(t, b, aid, ev.LoggedOut(by), now)
        elif command == "ready":
            self._agent(t, b, aid, ev.GoReady(), now)
        elif command == "break" and reason:
            on_break = sum(
                1
                for a in t.agents.values()
                if (a.status == S.BREAK and a.reason == reason)
                or (a.deferred is not None and a.deferred.reason == reason)
            )
            self._agent(t, b, aid, ev.RequestBreak(reason, on_break), now)
        elif command == "cancel_break":
            self._agent(t, b, aid, ev.CancelBreakRequest(), now)
        elif command in ("approve", "deny"):
            e = (
                ev.ApproveBreak(by or "supervisor")
                if command == "approve"
                else ev.DenyBreak(by or "supervisor")
            )
            self._agent(t, b, aid, e, now)
        elif command == "force" and reason:
            self._agent(t, b, aid, ev.ForceBreak(reason, by or "supervisor"), now)
        else:
            b.refusals.append(f"unknown command {command!r} (or a missing reason)")
            code = "unknown_command"
        refusals = b.refusals[first:]
        self._route(t, b, now)
        after = t.agents.get(aid) or before
        if code == "already":
            return CommandResult(True, str(after.status), after.reason, code, "already logged in")
        if refusals:
            code = code or "refused"
            return CommandResult(False, str(after.status), after.reason, code, "; ".join(refusals))
        return CommandResult(True, str(after.status), after.reason)

    def _login(self, t: _Tenant, b: _Batch, aid: str, workstation: str | None, now: float) -> str:
        phones = t.cfg.endpoints.get(aid, ())
        endpoint = workstation if workstation in phones else (phones[0] if phones else None)
        outs = self._sessions(t, b, ss.Login(aid, workstation or endpoint or "panel"), now)
        for o in outs:
            if isinstance(o, ss.LoginRefused):
                b.refusals.append(o.message)
                return o.reason
        if endpoint is not None:
            t.endpoint[aid] = endpoint
            b.dirty.add((t.tid, aid))
        if t.logged_in(aid):
            return "already"
        self._agent(t, b, aid, ev.LoggedIn(ready=True), now)
        if endpoint is not None and endpoint in self._contacts:
            self._agent(t, b, aid, ev.ContactStatus(self._reach(endpoint)), now)
        return ""
