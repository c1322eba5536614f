"""The live ACD's outputs leave here: the Redis mirror of the live state, the orders to calls
(through the connector), the database rows, the platform events.

I/O (Redis client, the connector, :class:`~controlplane.acd.log_writer.LogWriter`); what it
carries out was decided by the pure steps into a :class:`~controlplane.acd.live_state.Batch`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from controlplane.acd import outputs as out
from controlplane.acd.live_report import Reports
from controlplane.acd.live_state import KEY, Batch, Registry
from controlplane.acd.log_writer import LogWriter
from controlplane.acd.tenant import agent_to_json
from controlplane.bus import ACD_MIRRORED_KEY
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, event_fields

# Written once the live state is in Redis; missing later means Redis lost its data.
MIRROR_SENTINEL = ACD_MIRRORED_KEY

log = logging.getLogger(__name__)


class Connector(Protocol):
    """What the ACD asks of the call service (the ARI side): carry out one order
    (:mod:`controlplane.acd.outputs`). Outcomes come back through the service's
    ``offer_answered`` / ``offer_failed`` / ``caller_left`` / ``call_ended``."""

    async def send(self, order: out.CallOrder) -> None: ...


class ChatConnector(Protocol):
    """What the ACD asks of the chat service (:mod:`controlplane.chat.service`): carry out
    one chat order. Outcomes come back through the service's ``chat_accepted`` /
    ``chat_declined`` / ``chat_left`` / ``chat_ended`` / ``chat_transferred``."""

    async def send_chat(self, order: out.ChatOrder) -> None: ...


class TicketConnector(Protocol):
    """What the ACD asks of the desk (:mod:`controlplane.desk.acd`): carry out one ticket
    order. Outcomes come back through the service's ``tickets_op``."""

    async def send_ticket(self, order: out.TicketOrder) -> None: ...


TICKET_ORDERS = (out.OfferTicket, out.WithdrawTicketOffer, out.AssignTicket,
                 out.RequeueTicket, out.DropTicket)
CHAT_ORDERS = (out.OfferChat, out.WithdrawChatOffer, out.AssignChat, out.RequeueChat,
               out.EndChat)


class Publisher:
    """Carries out a batch: mirror (under the service's lock), then orders, rows, events."""

    def __init__(
        self,
        redis: aioredis.Redis,
        connector: Connector,
        log_writer: LogWriter,
        registry: Registry,
        reports: Reports,
        clock: Callable[[], float],
        chat_connector: ChatConnector | None = None,
        ticket_connector: TicketConnector | None = None,
    ) -> None:
        self.redis = redis
        self.connector = connector
        self.chat_connector = chat_connector
        self.ticket_connector = ticket_connector
        self.log_writer = log_writer
        self.registry = registry
        self.reports = reports
        self.clock = clock
        self._sentinel_written = False
        # tenant → the waiting hash as last written (call id → JSON)
        self._waiting: dict[int, dict[str, str]] = {}
        # A failed write (typically the first command on a pooled connection after Redis
        # restarted) leaves the mirror unknown: the next one rewrites every agent.
        self._rewrite_all = False

    async def send(self, b: Batch) -> list[out.RingAgent | out.OfferChat | out.OfferTicket]:
        """Orders, then rows, then events; returns the offers the connectors failed to make
        (the service feeds them back as a failed offer, cause ``error``). Chat orders go to
        the chat connector, ticket orders to the desk's, every other to the call connector."""
        failed: list[out.RingAgent | out.OfferChat | out.OfferTicket] = []
        for order in b.orders:
            try:
                if isinstance(order, CHAT_ORDERS):
                    if self.chat_connector is None:
                        raise RuntimeError("no chat service in this process")
                    await self.chat_connector.send_chat(order)
                elif isinstance(order, TICKET_ORDERS):
                    if self.ticket_connector is None:
                        raise RuntimeError("no ticket connector in this process")
                    await self.ticket_connector.send_ticket(order)
                else:
                    await self.connector.send(order)
            except Exception as err:  # noqa: BLE001 - one failed order must not stop the rest
                log.warning("connector %s failed: %s", order, err)
                if isinstance(order, out.RingAgent | out.OfferChat | out.OfferTicket):
                    failed.append(order)
        logs = [lg for lg in b.logs if lg]
        if logs:
            await self.log_writer.write(logs)
        if b.events:
            try:
                pipe = self.redis.pipeline(transaction=False)
                for e in b.events:
                    fields = event_fields(e.kind, **e.payload)
                    pipe.xadd(EVENTS_STREAM, fields, maxlen=EVENTS_MAXLEN, approximate=True)  # type: ignore[arg-type]
                await pipe.execute()
            except aioredis.RedisError as err:
                log.warning("ACD events not published: %s", err)
        return failed

    async def mirror(self, b: Batch) -> None:
        """Write the changed agents and the changed waiting entries of touched tenants.

        A tenant's waiting hash is rewritten whole (DEL + HSET) only the first time, or after
        Redis lost its data or a write failed; otherwise only the entries whose JSON changed
        are set and those no longer waiting deleted (what the hash holds is the same).
        After a failed write every agent and tenant is written again, on the next call."""
        tenants = self.registry.tenants
        if self._rewrite_all:
            b.dirty.update((tid, aid) for tid, t in tenants.items() for aid in t.agents)
            b.touched.update(tenants)
        if not (b.dirty or b.touched or b.stats):
            return
        pipe = self.redis.pipeline(transaction=True)
        for tid, aid in b.dirty:
            t = tenants[tid]
            key = KEY.format(tenant=tid, part="agents")
            pipe.hset(key, aid, agent_to_json(t.agents[aid], t.endpoint.get(aid)))
        now = self.clock()
        written: dict[int, dict[str, str]] = {}
        gone: list[str] = []
        for tid in b.touched:
            key = KEY.format(tenant=tid, part="waiting")
            waiting = self.reports.waiting_json(tenants[tid], now)
            before = self._waiting.get(tid)
            if before is None:
                pipe.delete(key)
                changed = waiting
            else:
                changed = {k: v for k, v in waiting.items() if before.get(k) != v}
                left = [k for k in before if k not in waiting]
                if left:
                    pipe.hdel(key, *left)
                    gone.extend(left)
            if changed:
                pipe.hset(key, mapping=changed)  # type: ignore[arg-type]
            written[tid] = waiting
        for tid, payload in b.stats.items():
            data = event_fields("queue.stats", **payload)["data"]  # as the stream's entry
            pipe.set(KEY.format(tenant=tid, part="stats"), data)
        try:
            await pipe.execute()
        except aioredis.RedisError as err:
            log.warning("ACD live state not mirrored: %s", err)
            self._waiting.clear()  # unknown what landed: rewrite everything next time
            self._rewrite_all = True
            return
        self._rewrite_all = False
        self._waiting.update(written)
        self.reports.forget(gone)

    async def redis_lost(self) -> bool:
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
        if lost:
            self._waiting.clear()  # what we wrote is gone: the next mirror writes all
        return lost
