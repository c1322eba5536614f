"""The live ACD: the single owner of agent and queue state in the control plane.

Theory of operation
-------------------
Pure machines inside, I/O at the edge (docs/acd.md §9). :class:`QueueService` is one class
composed of collaborators, each with its dependencies given explicitly:

    pure   Registry (live_state)   every live tenant, call → tenant, phone → agent
           Reports (live_report)   the router's snapshot, queue statistics, waiting list
           Steps (live_steps)      the machines' steps; their outputs → typed orders
           CallSteps (live_calls)  what the call service reports about a queued call
           AgentCommands (live_commands)  login, breaks, supervisor actions, feature codes
    I/O    Tenants (live_tenants)  configuration and restored agents from the DB and Redis
           Publisher (publisher)   Redis mirror, orders to the connector, log rows, events

Every public method is one *operation*:

1. under ``_lock``: load the tenant if needed, feed events to the agent machines
   (``agent_machine.step``), the queue machines (``queue_machine``) and the router
   (``router.route``); their outputs are collected in a
   :class:`~controlplane.acd.live_state.Batch` (orders to calls — frozen dataclasses of
   :mod:`controlplane.acd.outputs` —, log rows, stream events); the changed live state is
   mirrored to Redis;
2. under ``_send_lock`` (FIFO, so orders leave in the order they were decided): the orders
   (``Connector.send``), then the database rows (``store.append`` in a thread; kept and
   retried while the database is locked, ``log_writer.py``), then the stream events.

A connector may call back into the service (``offer_failed`` from inside a ``RingAgent``):
the nested operation sends its own orders inline, not waiting for the send lock its caller
holds. A ``RingAgent`` the connector fails is fed back as ``offer_failed(cause="error")``.

Redis keys (the panel reads them; the service writes them, reads the agents back at start):
``centrala:acd:{tenant}:agents`` (hash: agent → state JSON, tenant.agent_to_json),
``…:waiting`` (hash: interaction id → {queue, position, ewt_s, phase, channel, …} JSON),
``…:stats`` (the latest queue.stats payload); events on ``centrala:events`` (live.py).

After a Redis restart (empty agents hash) the agents are rebuilt from each one's latest
``AgentStatusLog`` row. Offers outstanding at a restart are withdrawn (the call service
hangs up orphan agent legs); waiting interactions are not restored by the ACD itself (the
call service re-enqueues calls it adopts; the chat service hands back the open chats of the
``chat`` table through ``restore_chats``).

Chats are interactions of channel chat (``chat:<chat id>``): the chat service reports them
through ``enqueue_chat`` / ``chat_accepted`` / ``chat_declined`` / ``chat_left`` /
``chat_ended`` / ``chat_transferred`` (:mod:`controlplane.acd.live_chats`); their orders go
to the ``chat_connector``. Tickets (``ticket:<id>``, channel e-mail) likewise through
:meth:`QueueService.on_tenant` and :mod:`controlplane.acd.live_tickets`; their orders go to
the ``ticket_connector``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeVar

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import outputs as out
from controlplane.acd import publisher as pub
from controlplane.acd import store
from controlplane.acd.exceptions import AcdError, UnknownQueue, UnknownTenant
from controlplane.acd.feature_codes import SOUNDS, parse
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.live_calls import CallSteps
from controlplane.acd.live_chats import ChatResult, ChatSteps, OpenChat
from controlplane.acd.live_commands import COMMANDS, AgentCommands
from controlplane.acd.live_report import Reports
from controlplane.acd.live_state import KEY, Batch, CommandResult, Registry, TenantLive, skills_of
from controlplane.acd.live_steps import Steps
from controlplane.acd.live_tenants import Tenants
from controlplane.acd.live_tickets import TicketSteps
from controlplane.acd.log_writer import LogWriter
from controlplane.acd.publisher import MIRROR_SENTINEL, Connector, Publisher
from controlplane.live import raise_if_cancelled

__all__ = ["COMMANDS", "KEY", "MIRROR_SENTINEL", "AcdError", "ChatResult", "CommandResult",
           "Connector", "QueueService", "UnknownQueue", "UnknownTenant"]

log = logging.getLogger(__name__)
R = TypeVar("R")


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
        chat_connector: pub.ChatConnector | None = None,
        ticket_connector: pub.TicketConnector | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.registry = Registry()
        self._tenants = self.registry.tenants  # the same dict (tests and tools read it)
        reports = Reports(self.registry, stats_window_s)
        self.steps = Steps(self.registry, reports, stats_interval_s)
        self.calls = CallSteps(self.registry, self.steps)
        self.chats = ChatSteps(self.steps)
        self.tickets = TicketSteps(self.steps)
        self.commands = AgentCommands(self.registry, self.steps)
        self.tenants = Tenants(db, redis, self.registry, self.steps, clock, max_missed)
        self._log_writer = LogWriter(db)  # never drops a row for a locked database
        self.publisher = Publisher(redis, connector, self._log_writer, self.registry, reports,
                                   clock, chat_connector, ticket_connector)
        self._lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._sender: asyncio.Task[Any] | None = None

    # ---- lifecycle ----

    async def start(self) -> None:
        """Load every tenant (agent state from Redis, or the status log)."""
        ids = await self.tenants.ids()
        async with self._op() as b:
            for tid in ids:
                await self.tenants.get(tid, b)

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
            await self.tenants.reload(tenant_id, b)

    async def tick(self) -> None:
        """Time passes: wrap-ups end, offers time out, overflow, announcements, routing.
        If Redis lost its data (restarted empty), the whole live state is written again."""
        async with self._op() as b:
            now = self.clock()
            if await self.publisher.redis_lost():
                log.warning("ACD: Redis lost its data; mirroring the live state again")
                for t in self._tenants.values():
                    b.dirty.update((t.tid, aid) for aid in t.agents)
                    b.touched.add(t.tid)
            for t in self._tenants.values():
                self.steps.tick(t, b, now)

    # ---- the call service's reports ----

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
        direct_agent: str | None = None,
    ) -> None:
        """A call enters queue ``queue_name`` (offered to ``direct_agent`` first); raises
        UnknownQueue. A call already queued is left alone. ``resume``: the call waited before
        a restart of the control plane — it gets back its place (first arrival, entry time,
        priority and skills, from the queue log) instead of joining at the end."""
        async with self._op() as b:
            t = await self.tenants.get(tenant_id, b)
            qid = t.cfg.by_name.get(queue_name)
            if qid is None:
                raise UnknownQueue(f"tenant {tenant_id} has no queue {queue_name!r}")
            if call_id in self.registry.calls:
                return
            now = self.clock()
            before = None
            if resume:
                before = await asyncio.to_thread(store.queued_before, self.db, tenant_id, call_id)
                if before is not None and not before.finished and before.queue_id in t.cfg.queues:
                    qid, priority, skills = before.queue_id, before.priority, before.skills
                else:
                    before = None
            last = await self._last_agent(t, qid, caller)
            i = Interaction(
                call_id,
                Channel.VOICE,
                before.arrived_at if before else now,
                float(priority),
                skills_of(skills),
                caller or None,
                last[0] if last else None,
                last[1] if last else None,
                direct_agent,
            )
            resumed_at = before.entered_at if before else None
            self.calls.enqueue(t, b, i, qid, caller, now, resumed_at)

    async def _last_agent(self, t: TenantLive, qid: str, caller: str) -> tuple[str, float] | None:
        """The agent who last served this caller (sticky routing), if the queue wants it."""
        if not caller or t.cfg.queues[qid].sticky_wait_s <= 0:
            return None
        return await asyncio.to_thread(store.last_agent, self.db, t.tid, caller)

    async def caller_left(self, call_id: str) -> None:
        """The caller hung up (while waiting, ringing, or talking)."""
        async with self._op() as b:
            self.calls.caller_left(call_id, b, self.clock())

    async def dtmf(self, call_id: str, digit: str) -> bool:
        """A waiting caller pressed ``digit``; the queue's callback key (if it has one)
        requests a callback: the call leaves the queue with
        :class:`~controlplane.acd.outputs.LeaveForCallback`. True when it did."""
        async with self._op() as b:
            return self.calls.dtmf(call_id, digit, b, self.clock())

    async def record_on_demand(self, call_id: str) -> bool:
        """May the agent of this connected call start its recording now? True when the
        call's queue records ``on_demand`` (the queue log notes who asked, and when)."""
        async with self._op() as b:
            return self.calls.record_on_demand(call_id, b, self.clock())

    async def phone_in_use(self, endpoint: str, calls: int) -> None:
        """The call service counts ``calls`` it has on this phone that the ACD did not route
        (a DID ringing it directly, the agent's own outbound call, a preview call): while
        any, the agent is not offered voice (chats still come)."""
        async with self._op() as b:
            self.calls.phone_in_use(endpoint, calls, b, self.clock())

    async def offer_ringing(self, call_id: str, agent_endpoint: str) -> None:
        """The agent's phone rings (the agent shows ``ringing``, not ``reserved``): the call
        service reports the agent leg's ``ChannelStateChange`` to ``Ringing``."""
        async with self._op() as b:
            self.calls.offer_ringing(call_id, agent_endpoint, b, self.clock())

    async def offer_answered(self, call_id: str, agent_endpoint: str) -> None:
        """The agent answered the offer; the service connects (or withdraws a late answer)."""
        async with self._op() as b:
            self.calls.offer_answered(call_id, agent_endpoint, b, self.clock())

    async def offer_failed(self, call_id: str, agent_endpoint: str, cause: str) -> None:
        """The agent leg ended before answer (timeout, busy, rejected, unreachable, error)."""
        async with self._op() as b:
            self.calls.offer_failed(call_id, agent_endpoint, cause, b, self.clock())

    async def call_ended(self, call_id: str) -> None:
        """The conversation is over: the agent goes to wrap-up."""
        async with self._op() as b:
            self.calls.call_ended(call_id, b, self.clock())

    async def contact_status(self, endpoint: str, status: str, contact: str = "") -> None:
        """AMI ``ContactStatus`` of a phone; several contacts of one AOR are aggregated
        (reachable when any is)."""
        async with self._op() as b:
            self.calls.contact_status(endpoint, status, contact)
            owner = await self.tenants.owner(endpoint, b)
            if owner is not None:
                self.calls.reachability(owner[0], owner[1], endpoint, b, self.clock())

    # ---- the chat service's reports (controlplane.acd.live_chats) ----

    async def enqueue_chat(
        self,
        chat_id: int,
        tenant_id: int,
        queue_id: int | str,
        priority: float = 0,
        skills: Iterable[str | tuple[str, int]] | Mapping[str, int] = (),
        customer: str = "",
    ) -> None:
        """Chat ``chat_id`` enters queue ``queue_id`` (UnknownQueue); ``customer``: sticky."""
        async with self._op() as b:
            t = await self.tenants.get(tenant_id, b)
            qid = str(queue_id)
            if qid not in t.cfg.queues:
                raise UnknownQueue(f"tenant {tenant_id} has no queue {qid}")
            last = await self._last_agent(t, qid, customer)
            now = self.clock()
            i = Interaction(out.chat_iid(chat_id), Channel.CHAT, now, float(priority),
                            skills_of(skills), customer or None, *(last or (None, None)))
            self.chats.enqueue(t, b, i, qid, now)

    async def chat_accepted(self, tenant_id: int, chat_id: int, user_id: int) -> ChatResult:
        return await self.on_tenant(tenant_id, lambda t, b, now:
                                    self.chats.accepted(t, b, chat_id, str(user_id), now))

    async def chat_declined(self, tenant_id: int, chat_id: int, user_id: int) -> ChatResult:
        return await self.on_tenant(tenant_id, lambda t, b, now:
                                    self.chats.declined(t, b, chat_id, str(user_id), now))

    async def chat_left(self, tenant_id: int, chat_id: int) -> None:
        await self.on_tenant(tenant_id, lambda t, b, now: self.chats.left(t, b, chat_id, now))

    async def chat_ended(self, tenant_id: int, chat_id: int, by: str = "agent") -> ChatResult:
        return await self.on_tenant(tenant_id, lambda t, b, now:
                                    self.chats.ended(t, b, chat_id, by, now))

    async def chat_transferred(self, tenant_id: int, chat_id: int, target: str) -> ChatResult:
        """``target``: ``agent:<user id>`` or ``queue:<queue id>``."""
        return await self.on_tenant(tenant_id, lambda t, b, now:
                                    self.chats.transferred(t, b, chat_id, target, now))

    async def restore_chats(self, tenant_id: int, chats: list[OpenChat]) -> None:
        """The open chats of a tenant after a restart (read by the chat service)."""
        await self.on_tenant(tenant_id, lambda t, b, now: self.chats.restore(t, b, chats, now))

    async def on_tenant(self, tenant_id: int, step: Callable[[TenantLive, Batch, float], R]) -> R:
        """One operation on one tenant: ``step(tenant, batch, now)``, e.g. a method of
        ``self.tickets`` (:mod:`controlplane.acd.live_tickets`) for the desk's connector."""
        async with self._op() as b:
            return step(await self.tenants.get(tenant_id, b), b, self.clock())

    # ---- agents ----

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
            t = await self.tenants.get(tenant_id, b)
            if command == "logout":  # the tickets they hold stop counting (live_tickets)
                self.tickets.set_aside(t, b, str(user_id), self.clock())
            return self.commands.command(t, b, str(user_id), command, reason, by, workstation,
                                         self.clock())

    async def feature_code(self, phone_endpoint: str, code: str) -> str:
        """Apply a desk-phone feature code; returns the sound to play as confirmation."""
        fc = parse(code)
        if fc is None:
            return SOUNDS["invalid"]
        async with self._op() as b:
            owner = await self.tenants.owner(phone_endpoint, b)
            if owner is None:
                return SOUNDS["unknown_phone"]
            if fc.action == "logout":  # as agent_command: the tickets held stop counting
                self.tickets.set_aside(owner[0], b, owner[1], self.clock())
            return self.commands.feature_code(owner[0], b, owner[1], fc, phone_endpoint,
                                              self.clock())

    async def snapshot(self, tenant_id: int) -> dict[str, Any]:
        """Live statistics of a tenant: per queue and per agent status."""
        async with self._op() as b:
            t = await self.tenants.get(tenant_id, b)
            return self.steps.reports.stats(t, self.clock())

    # ---- operation plumbing ----

    @contextlib.asynccontextmanager
    async def _op(self) -> AsyncIterator[Batch]:
        b = Batch()
        async with self._lock:
            yield b
            await self.publisher.mirror(b)
        await self._flush(b)

    async def _flush(self, b: Batch) -> None:
        me = asyncio.current_task()
        if self._sender is not None and self._sender is me:  # re-entered from the connector
            await self._send(b)
            return
        async with self._send_lock:
            self._sender = me
            try:
                await self._send(b)
            finally:
                self._sender = None

    async def _send(self, b: Batch) -> None:
        for order in await self.publisher.send(b):
            if isinstance(order, out.OfferChat):
                async with self._op() as again:
                    t = await self.tenants.get(order.tenant_id, again)
                    self.chats.offer_failed(t, again, order.chat_id, str(order.user_id),
                                            self.clock())
            elif isinstance(order, out.OfferTicket):
                await self.on_tenant(order.tenant_id, lambda t, b, now, o=order: self.tickets
                                     .offer_failed(t, b, o.ticket_id, str(o.user_id), now))
            else:
                await self.offer_failed(order.call_id, order.agent_endpoint, "error")
