"""Tickets (e-mail, SMS) in the live ACD (real Redis, real SQLite): offered to one agent with
e-mail room, accepted, declined, timed out, taken out of routing by the desk, released,
set aside at logout, restored after a restart; a waiting call goes before a waiting e-mail."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis
from acd_world import Clock, FakeConnector, World, login, seed, status
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import outputs as out
from controlplane.acd.interactions import Channel, Interaction, capacity_of
from controlplane.acd.live_tickets import OpenTicket
from controlplane.acd.router import DECLINE_WAIT_S
from controlplane.acd.service import QueueService


@dataclass
class FakeDesk:
    """The desk's ticket connector seam: records every ticket order."""

    orders: list[out.TicketOrder] = field(default_factory=list)
    fail: bool = False

    async def send_ticket(self, order: out.TicketOrder) -> None:
        self.orders.append(order)
        if self.fail and isinstance(order, out.OfferTicket):
            raise ConnectionError("database locked")

    def kinds(self) -> list[tuple[str, int, object]]:
        seen: list[tuple[str, int, object]] = []
        for o in self.orders:
            match o:
                case out.OfferTicket(_, kid, user, _, timeout):
                    seen.append(("offer", kid, (user, timeout)))
                case out.WithdrawTicketOffer(_, kid, user, reason):
                    seen.append(("withdraw", kid, (user, reason)))
                case out.AssignTicket(_, kid, user):
                    seen.append(("assign", kid, user))
                case out.RequeueTicket(_, kid, queue):
                    seen.append(("requeue", kid, queue))
                case out.DropTicket(_, kid, reason):
                    seen.append(("drop", kid, reason))
        return seen

    def offers(self) -> list[tuple[int, int]]:
        return [(k[1], k[2][0]) for k in self.kinds() if k[0] == "offer"]  # type: ignore[index]


def make(db: sessionmaker[Session], rds: aioredis.Redis,
         clock: Clock) -> tuple[QueueService, FakeConnector, FakeDesk]:
    conn, desk = FakeConnector(), FakeDesk()
    svc = QueueService(db, rds, conn, clock, stats_interval_s=0, ticket_connector=desk)
    return svc, conn, desk


async def enqueue(svc: QueueService, w: World, kid: int, queue: str = "web") -> None:
    qid = str(w.queues[queue])
    i = Interaction(out.ticket_iid(kid), Channel.EMAIL, svc.clock())
    await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.enqueue(t, b, i, qid, now))


async def accept(svc: QueueService, w: World, kid: int, agent: str) -> bool:
    uid = str(w.users[agent])
    r = await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.accepted(t, b, kid, uid, now))
    return r.ok


async def gone(svc: QueueService, w: World, kid: int, reason: str = "solved") -> None:
    await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.gone(t, b, kid, reason, now))


def emails(svc: QueueService, w: World, agent: str) -> int:
    return svc._tenants[w.tenant].agents[str(w.users[agent])].load.get(Channel.EMAIL, 0)


async def test_a_ticket_is_offered_to_the_ready_agent_for_60_s_and_accepted(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"wrap_up_s": 30}}, {"web": ("a1",)})
    svc, conn, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    await enqueue(svc, w, 7)
    a1 = w.users["a1"]
    assert desk.kinds() == [("requeue", 7, w.queues["web"]), ("offer", 7, (a1, 60.0))]
    assert conn.orders == []  # never the call service
    assert status(svc, w, "a1") == "reserved"
    assert await accept(svc, w, 7, "a1")
    assert desk.kinds()[-1] == ("assign", 7, a1)
    assert emails(svc, w, "a1") == 1 and status(svc, w, "a1") == "ready"  # background work
    assert not await accept(svc, w, 7, "a1")  # offered no more
    await gone(svc, w, 7)  # solved: no wrap-up for a ticket (the queue's is for calls)
    assert desk.kinds()[-1] == ("drop", 7, "solved")
    assert emails(svc, w, "a1") == 0 and status(svc, w, "a1") == "ready"


async def test_capacity_two_third_ticket_waits_and_is_offered_when_one_is_solved(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, _, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    t = svc._tenants[w.tenant]
    t.settings = replace(t.settings, capacity=capacity_of(6, emails=2))
    for kid in (1, 2, 3):
        await enqueue(svc, w, kid)
        clock.now += 1
        if kid < 3:
            assert await accept(svc, w, kid, "a1")
    a1 = w.users["a1"]
    assert desk.offers() == [(1, a1), (2, a1)]
    assert emails(svc, w, "a1") == 2
    await gone(svc, w, 1)
    # offered in the same operation that freed the capacity
    assert desk.kinds()[-2:] == [("drop", 1, "solved"), ("offer", 3, (a1, 60.0))]


async def test_a_waiting_call_is_offered_before_a_waiting_email(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, conn, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    assert (await svc.agent_command(w.tenant, w.users["a1"], "break", "coffee")).ok
    await enqueue(svc, w, 1)  # the e-mail came first
    clock.now += 5
    await svc.enqueue("call-1", w.tenant, "web")
    assert (await svc.agent_command(w.tenant, w.users["a1"], "ready")).ok
    assert conn.named("offer") == [("offer", "call-1", "ph-a1", 20.0)]
    assert desk.offers() == []
    await svc.offer_answered("call-1", "ph-a1")
    await svc.call_ended("call-1")
    assert desk.offers() == [(1, w.users["a1"])]  # the e-mail once the call is over


async def test_an_agent_holding_emails_still_gets_calls_wrap_up_and_breaks(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"wrap_up_s": 5}}, {"web": ("a1",)})
    svc, conn, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    await enqueue(svc, w, 1)
    assert await accept(svc, w, 1, "a1")
    await svc.enqueue("call-1", w.tenant, "web")
    assert conn.named("offer") == [("offer", "call-1", "ph-a1", 20.0)]  # not blocked
    await svc.offer_answered("call-1", "ph-a1")
    await enqueue(svc, w, 2)
    assert desk.offers() == [(1, w.users["a1"])]  # during the call: nothing new
    await svc.call_ended("call-1")
    assert status(svc, w, "a1") == "wrap_up"  # the call's wrap-up, e-mail in hand or not
    clock.now += 5
    await svc.tick()
    assert desk.offers()[-1] == (2, w.users["a1"]) and emails(svc, w, "a1") == 1
    assert status(svc, w, "a1") == "reserved"
    assert await accept(svc, w, 2, "a1")
    assert (await svc.agent_command(w.tenant, w.users["a1"], "break", "coffee")).ok
    assert status(svc, w, "a1") == "break:coffee"  # at once: e-mails do not defer it
    await gone(svc, w, 1)  # solved during the break: the load drops, the break goes on
    assert emails(svc, w, "a1") == 1 and status(svc, w, "a1") == "break:coffee"


async def test_declined_and_timed_out_offers_go_to_the_next_agent(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"strategy": "linear"}}, {"web": ("a1", "a2", "a3")})
    svc, _, desk = make(db, rds, clock)
    await login(svc, w, "a1", "a2", "a3")
    await enqueue(svc, w, 5)
    a1, a2, a3 = (w.users[a] for a in ("a1", "a2", "a3"))
    r = await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.declined(t, b, 5, str(a1),
                                                                              now))
    assert r.ok
    assert desk.offers() == [(5, a1), (5, a2)]
    clock.now += 59
    await svc.tick()
    assert len(desk.offers()) == 2
    clock.now += 1
    await svc.tick()
    assert ("withdraw", 5, (a2, "timeout")) in desk.kinds()
    assert desk.offers()[-1] == (5, a3)


async def test_a_declined_ticket_comes_back_to_the_only_agent_after_the_wait(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    """Declined by the one agent of its queue, a ticket is not offered to them again at
    once (they said no): it waits :data:`router.DECLINE_WAIT_S`, then comes back; a
    colleague logging in meanwhile gets it at once."""
    w = seed(db, {"web": {}}, {"web": ("a1", "a2")})
    svc, _, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    await enqueue(svc, w, 7)
    a1, a2 = w.users["a1"], w.users["a2"]
    assert (await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.declined(
        t, b, 7, str(a1), now))).ok
    assert desk.offers() == [(7, a1)] and status(svc, w, "a1") == "ready"
    clock.now += DECLINE_WAIT_S - 1
    await svc.tick()
    assert desk.offers() == [(7, a1)]  # not yet
    clock.now += 1
    await svc.tick()
    assert desk.offers() == [(7, a1), (7, a1)]  # the wait is over
    # declined again; a colleague who logs in meanwhile is offered it at once
    assert (await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.declined(
        t, b, 7, str(a1), now))).ok
    await login(svc, w, "a2")
    assert desk.offers()[-1] == (7, a2)


async def test_a_ticket_taken_by_the_desk_leaves_the_acd_and_frees_the_offered_agent(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, _, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    await enqueue(svc, w, 9)
    assert status(svc, w, "a1") == "reserved"
    await gone(svc, w, 9, "taken")
    assert desk.kinds()[-2:] == [("withdraw", 9, (w.users["a1"], "taken")),
                                 ("drop", 9, "taken")]
    assert status(svc, w, "a1") == "ready"
    assert "ticket:9" not in svc._tenants[w.tenant].queued


async def test_a_ticket_never_times_out_of_its_queue_without_an_overflow_queue(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"max_wait_s": 30, "no_agents": "leave"}, "later": {}},
             {"web": ("a1",)})
    svc, conn, desk = make(db, rds, clock)
    await enqueue(svc, w, 3)  # nobody logged in: a call would leave ("no_agents": leave)
    clock.now += 120
    await svc.tick()
    assert svc._tenants[w.tenant].queued["ticket:3"].phase == "waiting"
    assert conn.orders == [] and [k[0] for k in desk.kinds()] == ["requeue"]
    await login(svc, w, "a1")
    assert desk.offers() == [(3, w.users["a1"])]


async def test_release_requeues_to_the_others_first_and_logout_sets_tickets_aside(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"strategy": "linear"}}, {"web": ("a1", "a2")})
    svc, _, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    await enqueue(svc, w, 4)
    assert await accept(svc, w, 4, "a1")
    await login(svc, w, "a2")
    a1, a2 = w.users["a1"], w.users["a2"]
    r = await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.released(t, b, 4, str(a1),
                                                                              now))
    assert r.ok and emails(svc, w, "a1") == 0
    assert desk.kinds()[-2:] == [("requeue", 4, w.queues["web"]), ("offer", 4, (a2, 60.0))]
    assert await accept(svc, w, 4, "a2")
    assert (await svc.agent_command(w.tenant, a2, "logout")).ok
    assert status(svc, w, "a2") == "logged_out"  # not deferred by the ticket
    assert desk.kinds()[-1] == ("drop", 4, "agent_logged_out")
    await enqueue(svc, w, 5)
    assert await accept(svc, w, 5, "a1")
    await svc.feature_code("ph-a1", "*53")  # the desk phone's logout: set aside too
    assert status(svc, w, "a1") == "logged_out" and emails(svc, w, "a1") == 0
    assert desk.kinds()[-1] == ("drop", 5, "agent_logged_out")


async def test_a_restart_counts_held_tickets_and_offers_waiting_ones_again(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, _, desk = make(db, rds, clock)
    await login(svc, w, "a1")
    t = svc._tenants[w.tenant]
    t.settings = replace(t.settings, capacity=capacity_of(6, emails=2))
    qid, a1 = str(w.queues["web"]), str(w.users["a1"])

    def ticket(kid: int, state: str, agent: str | None = None) -> OpenTicket:
        i = Interaction(out.ticket_iid(kid), Channel.EMAIL, clock.now - 100)
        return OpenTicket(kid, qid, state, agent, i, clock.now - 50)

    tickets = [ticket(1, "held", a1), ticket(2, "offered"), ticket(3, "waiting")]
    await svc.on_tenant(w.tenant, lambda t, b, now: svc.tickets.restore(t, b, tickets, now))
    assert emails(svc, w, "a1") == 1
    assert desk.kinds() == [("requeue", 2, w.queues["web"]), ("offer", 2, (int(a1), 60.0))]
    assert await accept(svc, w, 2, "a1")
    assert emails(svc, w, "a1") == 2  # full: ticket 3 waits
    assert svc._tenants[w.tenant].queued["ticket:3"].phase == "waiting"
