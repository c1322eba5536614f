"""The desk's ticket connector over a real ACD, Redis, and SQLite and PostgreSQL: a ticket
committed through the desk (with the after-commit hook) reaches the daemon as ticket.sync,
is offered, accepted (the ticket's assignee, its history line), solved (capacity freed, the
next one offered); "next ticket" takes an offered one out of routing; a restart restores."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import redis
import redis.asyncio as aioredis
from acd_world import Clock, FakeConnector, World, login, seed, status
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane import bus
from controlplane.acd.interactions import Channel, capacity_of
from controlplane.acd.service import QueueService
from controlplane.db import transaction
from controlplane.desk import acd_sync, service, threads
from controlplane.desk.acd import TicketConnector
from controlplane.desk.store import Viewer
from controlplane.models.desk import TicketEvent
from controlplane.models.ticket_routes import TicketRoute
from controlplane.models.tickets import Ticket


def wire(db: sessionmaker[Session], rds: aioredis.Redis,
         clock: Clock) -> tuple[QueueService, TicketConnector]:
    desk = TicketConnector(db, rds, clock=lambda: datetime.fromtimestamp(clock.now, UTC))
    acd = QueueService(db, rds, FakeConnector(), clock, stats_interval_s=0,
                       ticket_connector=desk)
    desk.acd = acd
    return acd, desk


def mail(db: sessionmaker[Session], w: World, n: int, queue: str = "web") -> int:
    """An e-mail received as the mail poller does it: a ticket in ``queue``."""
    with transaction(db) as s:
        got = threads.receive(s, threads.Inbound(w.tenant, "email", f"c{n}@example.com",
                                                 "hello", subject=f"mail {n}",
                                                 external_id=f"<m{n}@example.com>"))
        s.get_one(Ticket, got.ticket_id).queue_id = w.queues[queue]
        return got.ticket_id


async def commands(rds: aioredis.Redis) -> list[dict[str, Any]]:
    return [json.loads(e[1][b"data"]) for e in await rds.xrange(bus.COMMANDS_STREAM)]


async def run_commands(desk: TicketConnector, rds: aioredis.Redis) -> None:
    """What the daemon's reader does with the panel stream (the guard is tested apart)."""
    for c in await commands(rds):
        await desk.handle(bus.Received(c, False, "agent@acme"))
    await rds.delete(bus.COMMANDS_STREAM)


def route(db: sessionmaker[Session], kid: int) -> tuple[str, int | None] | None:
    with db() as s:
        r = s.get(TicketRoute, kid)
        return (r.state, r.user_id) if r is not None else None


def assignee(db: sessionmaker[Session], kid: int) -> int | None:
    with db() as s:
        return s.get_one(Ticket, kid).assignee_user_id


async def test_mail_to_offer_accept_solve_and_the_next_one(
    factory: sessionmaker[Session], redis_port: int, clock: Clock
) -> None:
    rds = aioredis.Redis(port=redis_port)
    await rds.flushall()
    sync_client = redis.Redis(port=redis_port)
    acd_sync.install(factory, sync_client)  # as the poller and the panel do
    try:
        w = seed(factory, {"web": {}}, {"web": ("a1",)})
        acd, desk = wire(factory, rds, clock)
        await login(acd, w, "a1")
        t = acd._tenants[w.tenant]
        t.settings = replace(t.settings, capacity=capacity_of(6, emails=2))
        a1 = w.users["a1"]
        ids = [mail(factory, w, n) for n in (1, 2, 3)]
        assert [c["cmd"] for c in await commands(rds)] == ["ticket.sync"] * 3
        await run_commands(desk, rds)
        assert route(factory, ids[0]) == ("offered", a1)
        events = [json.loads(e[1][b"data"]) for e in await rds.xrange(bus.EVENTS_STREAM)]
        offered = [e for e in events if e["type"] == "ticket.offered"]
        assert offered[0]["ticket_id"] == ids[0] and offered[0]["user_id"] == a1
        assert offered[0]["subject"] == "mail 1" and offered[0]["timeout_s"] == 60.0
        for kid in ids[:2]:
            await desk.handle(bus.Received({"cmd": "ticket.accept", "tenant_id": w.tenant,
                                            "actor_id": a1, "ticket_id": kid,
                                            "reply": "centrala:reply:t"}, False, "a1@acme"))
            assert json.loads((await rds.rpop("centrala:reply:t")) or "{}")["ok"]
        assert [assignee(factory, k) for k in ids] == [a1, a1, None]
        assert [route(factory, k) for k in ids] == [("held", a1), ("held", a1), ("waiting", None)]
        with factory() as s:
            line = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ids[0],
                                                       TicketEvent.kind == "assignee_user_id")).one()
            assert line.detail == {"old_name": "", "new_name": "a1", "acd": True}
            assert s.get_one(Ticket, ids[0]).status == "open"
        assert t.agents[str(a1)].load == {Channel.EMAIL: 2}
        await rds.delete(bus.COMMANDS_STREAM)
        # the agent solves the first in the panel: the hook tells the daemon, which frees
        # the capacity and offers the third one in the same operation
        viewer = Viewer(w.tenant, a1, "agent", "a1@acme.example", "a1")
        with transaction(factory) as s:
            service.change(s, viewer, s.get_one(Ticket, ids[0]), {"status": "solved"})
        await run_commands(desk, rds)
        assert route(factory, ids[0]) is None
        assert route(factory, ids[2]) == ("offered", a1)
        assert t.agents[str(a1)].load == {Channel.EMAIL: 1}
    finally:
        sync_client.close()
        await rds.aclose()


async def test_next_ticket_takes_an_offered_ticket_out_and_a_restart_restores(
    factory: sessionmaker[Session], redis_port: int, clock: Clock
) -> None:
    rds = aioredis.Redis(port=redis_port)
    await rds.flushall()
    try:
        w = seed(factory, {"web": {}}, {"web": ("a1", "a2")})
        acd, desk = wire(factory, rds, clock)
        await login(acd, w, "a1")
        a1, a2 = w.users["a1"], w.users["a2"]
        k1, k2 = mail(factory, w, 1), mail(factory, w, 2)
        assert await desk.sweep() == 2  # no hook installed: the sweep finds both
        assert route(factory, k1) == ("offered", a1) and route(factory, k2) == ("waiting", None)
        with transaction(factory) as s:  # a2 pulls "next ticket": the oldest, offered to a1
            got = service.next_ticket(s, Viewer(w.tenant, a2, "agent", "a2@acme.example"))
        assert got.id == k1
        assert await desk.sweep() == 1
        assert route(factory, k1) is None and route(factory, k2) == ("offered", a1)
        assert await desk.sweep() == 0  # in step now
        r = await acd.on_tenant(w.tenant, lambda t, b, now: acd.tickets.accepted(t, b, k2,
                                                                                  str(a1), now))
        assert r.ok and assignee(factory, k2) == a1
        k3 = mail(factory, w, 3)
        await desk.sync(w.tenant, k3)
        assert route(factory, k3) == ("offered", a1)
        # a restart: a new ACD and connector over the same database and Redis
        acd2, desk2 = wire(factory, rds, clock)
        await acd2.start()
        await desk2.start()
        assert acd2._tenants[w.tenant].agents[str(a1)].load == {Channel.EMAIL: 1}
        assert route(factory, k3) == ("offered", a1)
        assert status(acd2, w, "a1") in ("reserved", "on_call")
        offer = acd2._tenants[w.tenant].agents[str(a1)].offer
        assert offer is not None and offer.interaction_id == f"ticket:{k3}"
    finally:
        await rds.aclose()
