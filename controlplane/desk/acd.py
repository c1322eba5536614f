"""The daemon's ticket connector: the desk's tickets routed by the live ACD (issue 14).

Theory of operation
-------------------
A ticket that waits unassigned in a queue (an e-mail, an SMS: :mod:`.acd_store` says which)
is routed like a chat, as the interaction ``ticket:<id>`` of channel e-mail
(:mod:`controlplane.acd.live_tickets`). This class is the desk's side of that seam, in both
directions:

* in: ``ticket.sync`` (a process committed a change of the ticket: :mod:`.acd_sync`) makes
  it re-read the ticket and tell the ACD: it waits (``enqueue``, also when its queue
  changed), or it left routing (``gone``: taken with "next ticket", assigned by hand,
  merged, solved, closed). The agent's ``ticket.accept`` / ``decline`` / ``release``
  (answered on the reply key with ``{"ok", "code", "message"}``; the guard checked the
  routing row, the ACD checks its live offer again).
* out: the ACD's ticket orders become a write (the routing row ``ticket_route``; for
  ``AssignTicket`` the ticket's assignee with its history line and ``ticket.updated``, through
  :func:`controlplane.desk.service.assign_if_free`) and then one event on
  ``centrala:events`` (``ticket.offered``, ``ticket.offer_withdrawn``, ``ticket.assigned``,
  ``ticket.requeued``, ``ticket.unrouted``; each with ``tenant_id`` and ``ticket_id``). An
  assignment that finds the ticket taken meanwhile tells the ACD it is gone.
* durable: :meth:`start` hands the routing rows back to the ACD (held tickets count again,
  waiting and offered ones wait again) and :meth:`run` sweeps the database every
  :data:`SWEEP_S` for tickets the ACD should know and does not (a lost command, a daemon
  that was down) or knows and should not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane import bus
from controlplane.acd import outputs as out
from controlplane.acd.commands import push_reply
from controlplane.acd.interactions import Interaction
from controlplane.acd.live_state import Batch, TenantLive
from controlplane.acd.live_tickets import TicketResult
from controlplane.acd.service import QueueService
from controlplane.desk import acd_store as store
from controlplane.live import raise_if_cancelled

log = logging.getLogger(__name__)
SWEEP_S = 15.0


def _now() -> datetime:
    return datetime.now(UTC)


class TicketConnector:
    """The ticket connector of the ACD and the daemon's ``ticket.*`` handlers (module doc)."""

    def __init__(self, db: sessionmaker[Session], redis: aioredis.Redis,
                 acd: QueueService | None = None, clock: Callable[[], datetime] = _now) -> None:
        self.db, self.redis, self.acd, self.clock = db, redis, acd, clock

    # ---- the ACD's connector ----

    async def send_ticket(self, order: out.TicketOrder) -> None:
        """Write the order, then publish its event. A database error propagates: the ACD
        feeds a failed offer back."""
        written = await asyncio.to_thread(store.apply, self.db, order, self.clock())
        if written.lost and self.acd is not None:  # taken meanwhile ("next ticket", by hand)
            await self._gone(order.tenant_id, order.ticket_id, "taken")
        if written.kind is None:
            return
        fields = bus.event_fields(written.kind, tenant_id=order.tenant_id,
                                  ticket_id=order.ticket_id, at=self.clock().isoformat(),
                                  **written.payload)
        try:
            await self.redis.xadd(bus.EVENTS_STREAM, fields,  # type: ignore[arg-type]
                                  maxlen=bus.EVENTS_MAXLEN, approximate=True)
        except aioredis.RedisError as err:
            log.warning("ticket event %s not published: %s", written.kind, err)

    # ---- restart and sweep ----

    async def start(self) -> None:
        """Give the ACD back every routed ticket, then sync what is out of step."""
        acd = self.acd
        if acd is None:
            return
        routes = await asyncio.to_thread(store.open_routes, self.db, _epoch)
        for tenant_id, tickets in routes.items():
            try:
                await acd.on_tenant(tenant_id, lambda t, b, now, k=tickets:
                                    acd.tickets.restore(t, b, k, now))
            except Exception:  # noqa: BLE001 - one tenant's tickets must not stop the others
                log.exception("tickets of tenant %s not restored", tenant_id)
        if routes:
            log.info("tickets restored: %d", sum(len(k) for k in routes.values()))
        await self.sweep()

    async def sweep(self) -> int:
        """Sync every ticket the database says is out of step with routing; how many."""
        found = await asyncio.to_thread(store.out_of_step, self.db)
        n = 0
        for tenant_id, ids in found.items():
            for ticket_id in ids:
                try:
                    await self.sync(tenant_id, ticket_id)
                    n += 1
                except Exception:  # noqa: BLE001 - one ticket must not stop the sweep
                    log.exception("ticket %s not synced", ticket_id)
        return n

    async def run(self, every_s: float = SWEEP_S) -> None:
        """Restore, then sweep every ``every_s`` until cancelled."""
        await self.start()
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                raise_if_cancelled()
                log.exception("ticket sweep failed")

    async def sync(self, tenant_id: int, ticket_id: int) -> None:
        """Tell the ACD what the database says of the ticket now."""
        acd = self.acd
        if acd is None:
            return
        f = await asyncio.to_thread(store.facts, self.db, tenant_id, ticket_id)
        state, _ = await acd.on_tenant(tenant_id, lambda t, b, now:
                                       acd.tickets.where(t, ticket_id))
        if f is not None and f.held:
            return  # still the work of the agent who accepted it
        if f is not None and f.routable and f.queue_id is not None:
            if state == "held":  # unassigned from the agent who held it: waits again
                await self._gone(tenant_id, ticket_id, "reassigned")
            qid, i = str(f.queue_id), f.interaction(acd.clock())
            if not await acd.on_tenant(tenant_id, lambda t, b, now:
                                       _enqueue(acd, t, b, i, qid, now)):
                log.warning("ticket %s: queue %s unknown to the ACD", ticket_id, qid)
            return
        if state or (f is not None and f.route_state is not None):
            await self._gone(tenant_id, ticket_id, f.why_not if f is not None else "deleted")

    async def _gone(self, tenant_id: int, ticket_id: int, reason: str) -> None:
        acd = self.acd
        assert acd is not None
        await acd.on_tenant(tenant_id, lambda t, b, now:
                            acd.tickets.gone(t, b, ticket_id, reason, now))

    # ---- commands ----

    async def handle(self, got: bus.Received) -> None:
        """Carry out one ``ticket.*`` command the guard let through."""
        c = got.command
        tenant_id, ticket_id = int(c["tenant_id"]), int(c["ticket_id"])
        if got.name == "ticket.sync":
            await self.sync(tenant_id, ticket_id)
            return
        actor = c.get("actor_id")
        result = await self._agent(got.name, tenant_id, ticket_id, actor)
        await push_reply(self.redis, c, {"ok": result.ok, "code": result.code,
                                         "message": result.message})

    async def _agent(self, name: str, tenant_id: int, ticket_id: int,
                     actor: Any) -> TicketResult:
        acd = self.acd
        if acd is None:
            return TicketResult(False, "no_acd", "no ACD in this process")
        if not isinstance(actor, int):
            return TicketResult(False, "bad_command", "actor_id: the agent is needed")
        aid = str(actor)
        if name == "ticket.accept":
            return await acd.on_tenant(tenant_id, lambda t, b, now:
                                       acd.tickets.accepted(t, b, ticket_id, aid, now))
        if name == "ticket.decline":
            return await acd.on_tenant(tenant_id, lambda t, b, now:
                                       acd.tickets.declined(t, b, ticket_id, aid, now))
        if not await asyncio.to_thread(store.release, self.db, tenant_id, ticket_id, actor):
            return TicketResult(False, "not_held", "you do not hold this ticket")
        return await acd.on_tenant(tenant_id, lambda t, b, now:
                                   acd.tickets.released(t, b, ticket_id, aid, now))


def _enqueue(acd: QueueService, t: TenantLive, b: Batch, i: Interaction, qid: str,
             now: float) -> bool:
    """Enqueue into ``qid``; False when the live ACD does not know that queue."""
    if qid not in t.cfg.queues:
        return False
    acd.tickets.enqueue(t, b, i, qid, now)
    return True


def _epoch(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
