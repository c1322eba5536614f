"""Chats in the live ACD (real Redis, real SQLite): offered like calls through the chat
connector, accepted, declined, timed out, transferred, ended, restored after a restart."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis
from acd_world import Clock, FakeConnector, World, login, seed, status
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import outputs as out
from controlplane.acd.interactions import Channel, Interaction, capacity_of
from controlplane.acd.live_chats import OpenChat
from controlplane.acd.service import QueueService
from controlplane.db import transaction
from controlplane.models.acd_channels import AcdChannelSettings, AgentChatCapacity


@dataclass
class FakeChats:
    """The chat service's seam: records every chat order."""

    orders: list[out.ChatOrder] = field(default_factory=list)
    fail: bool = False

    async def send_chat(self, order: out.ChatOrder) -> None:
        self.orders.append(order)
        if self.fail and isinstance(order, out.OfferChat):
            raise ConnectionError("database locked")

    def kinds(self) -> list[tuple[str, int, object]]:
        seen: list[tuple[str, int, object]] = []
        for o in self.orders:
            match o:
                case out.OfferChat(_, chat, user):
                    seen.append(("offer", chat, user))
                case out.WithdrawChatOffer(_, chat, user, reason):
                    seen.append(("withdraw", chat, (user, reason)))
                case out.AssignChat(_, chat, user):
                    seen.append(("assign", chat, user))
                case out.RequeueChat(_, chat, queue):
                    seen.append(("requeue", chat, queue))
                case out.EndChat(_, chat, st, by):
                    seen.append(("end", chat, (st, by)))
        return seen


def make(db: sessionmaker[Session], rds: aioredis.Redis,
         clock: Clock) -> tuple[QueueService, FakeConnector, FakeChats]:
    conn, chats = FakeConnector(), FakeChats()
    svc = QueueService(db, rds, conn, clock, stats_interval_s=0, chat_connector=chats)
    return svc, conn, chats


def set_chats(svc: QueueService, w: World, n: int, voice_with_chats: bool = False) -> None:
    t = svc._tenants[w.tenant]
    t.settings = replace(t.settings, capacity=capacity_of(n, voice_with_chats))


async def test_a_chat_is_offered_to_the_ready_agent_and_accepted(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, conn, chats = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue_chat(7, w.tenant, w.queues["web"], customer="ola@example.com")
    a1 = w.users["a1"]
    assert chats.orders == [out.OfferChat(w.tenant, 7, a1, w.queues["web"], 20.0)]
    assert conn.orders == []  # never the call service
    assert status(svc, w, "a1") == "reserved"
    assert (await svc.chat_accepted(w.tenant, 7, a1)).ok
    assert chats.kinds()[-1] == ("assign", 7, a1)
    assert status(svc, w, "a1") == "on_call"
    assert svc._tenants[w.tenant].agents[str(a1)].load == {Channel.CHAT: 1}
    # a second accept, or one by another agent, is refused
    again = await svc.chat_accepted(w.tenant, 7, a1)
    assert not again.ok and again.code == "not_offered"


async def test_capacity_two_third_chat_waits_and_is_offered_when_one_ends(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1")
    set_chats(svc, w, 2)
    a1 = w.users["a1"]
    for chat in (1, 2, 3):
        await svc.enqueue_chat(chat, w.tenant, w.queues["web"])
        clock.now += 1
        if chat < 3:
            assert (await svc.chat_accepted(w.tenant, chat, a1)).ok
    assert [k for k in chats.kinds() if k[0] == "offer"] == [("offer", 1, a1), ("offer", 2, a1)]
    waiting = await rds.hgetall(f"centrala:acd:{w.tenant}:waiting")
    entry = json.loads(waiting[b"chat:3"])
    assert entry["channel"] == "chat" and entry["position"] == 1
    assert (await svc.chat_ended(w.tenant, 1)).ok
    # offered in the same operation that freed the capacity
    assert chats.kinds()[-2:] == [("end", 1, ("ended", "agent")), ("offer", 3, a1)]


async def test_an_offer_not_accepted_in_time_goes_to_the_next_agent(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"strategy": "linear"}}, {"web": ("a1", "a2")})
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.enqueue_chat(5, w.tenant, w.queues["web"])
    clock.now += 19
    await svc.tick()
    assert [k[0] for k in chats.kinds()] == ["offer"]
    clock.now += 1
    await svc.tick()
    a1, a2 = w.users["a1"], w.users["a2"]
    assert chats.kinds() == [("offer", 5, a1), ("withdraw", 5, (a1, "timeout")),
                             ("offer", 5, a2)]
    assert status(svc, w, "a1") == "ready" and status(svc, w, "a2") == "reserved"
    late = await svc.chat_accepted(w.tenant, 5, a1)
    assert not late.ok and late.code == "not_offered"


async def test_a_decline_offers_the_next_agent_and_is_not_a_miss(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"strategy": "linear"}}, {"web": ("a1", "a2")})
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.enqueue_chat(5, w.tenant, w.queues["web"])
    a1, a2 = w.users["a1"], w.users["a2"]
    assert not (await svc.chat_declined(w.tenant, 5, a2)).ok  # not offered to a2
    assert (await svc.chat_declined(w.tenant, 5, a1)).ok
    assert chats.kinds()[1:] == [("withdraw", 5, (a1, "declined")), ("offer", 5, a2)]
    assert svc._tenants[w.tenant].agents[str(a1)].missed == 0


async def test_a_call_waits_while_the_agent_holds_a_chat_unless_configured(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}, "sales": {}}, {"web": ("a1",), "sales": ("a1",)})
    svc, conn, chats = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue_chat(1, w.tenant, w.queues["web"])
    await svc.chat_accepted(w.tenant, 1, w.users["a1"])
    await svc.enqueue("c1", w.tenant, "sales")
    assert conn.named("offer") == []  # option off: no call while chatting
    await svc.chat_ended(w.tenant, 1)
    assert conn.named("offer") == [("offer", "c1", "ph-a1", 20.0)]


async def test_with_voice_while_in_chats_the_call_reaches_the_chatting_agent(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}, "sales": {}}, {"web": ("a1",), "sales": ("a1",)})
    svc, conn, _ = make(db, rds, clock)
    await login(svc, w, "a1")
    set_chats(svc, w, 6, voice_with_chats=True)
    await svc.enqueue_chat(1, w.tenant, w.queues["web"])
    await svc.chat_accepted(w.tenant, 1, w.users["a1"])
    await svc.enqueue("c1", w.tenant, "sales")
    assert conn.named("offer") == [("offer", "c1", "ph-a1", 20.0)]


async def test_a_waiting_call_goes_before_an_older_waiting_chat(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}, "sales": {}}, {"web": ("a1",), "sales": ("a1",)})
    svc, conn, chats = make(db, rds, clock)
    await svc.enqueue_chat(1, w.tenant, w.queues["web"])
    clock.now += 30
    await svc.enqueue("c1", w.tenant, "sales")
    await login(svc, w, "a1")
    assert conn.named("offer") == [("offer", "c1", "ph-a1", 20.0)] and chats.orders == []


async def test_the_visitor_leaving_withdraws_the_offer_and_misses_the_chat(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue_chat(4, w.tenant, w.queues["web"])
    await svc.chat_left(w.tenant, 4)
    a1 = w.users["a1"]
    assert chats.kinds()[1:] == [("withdraw", 4, (a1, "visitor_left")),
                                 ("end", 4, ("missed", "visitor"))]
    assert status(svc, w, "a1") == "ready"


async def test_transfer_to_a_queue_and_to_an_agent(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"strategy": "linear"}, "vip": {}},
             {"web": ("a1", "a2"), "vip": ("a1", "a3")})
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1", "a2", "a3")
    a1, a2, a3 = w.users["a1"], w.users["a2"], w.users["a3"]
    await svc.enqueue_chat(9, w.tenant, w.queues["web"])
    await svc.chat_accepted(w.tenant, 9, a1)
    r = await svc.chat_transferred(w.tenant, 9, f"queue:{w.queues['vip']}")
    assert r.ok
    # the transferring agent is ranked last: a3 gets it
    assert chats.kinds()[-2:] == [("requeue", 9, w.queues["vip"]), ("offer", 9, a3)]
    assert (await svc.chat_accepted(w.tenant, 9, a3)).ok
    r = await svc.chat_transferred(w.tenant, 9, f"agent:{a2}")  # not a member of vip
    assert r.ok and chats.kinds()[-1] == ("offer", 9, a2)
    bad = await svc.chat_transferred(w.tenant, 9, "queue:999999")
    assert not bad.ok and bad.code == "not_held"  # offered, not held, now


async def test_a_failed_offer_is_fed_back_and_the_chat_waits(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, _, chats = make(db, rds, clock)
    chats.fail = True
    await login(svc, w, "a1")
    await svc.enqueue_chat(3, w.tenant, w.queues["web"])
    # each failure counts as a miss (max 3): then the agent goes to the missed break
    assert [k[0] for k in chats.kinds()] == ["offer"] * 3
    assert status(svc, w, "a1") == "break:missed"
    assert svc._tenants[w.tenant].queued["chat:3"].phase == "waiting"


async def test_a_restart_keeps_an_active_chat_and_requeues_a_waiting_one(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    svc, _, _ = make(db, rds, clock)
    await login(svc, w, "a1")
    set_chats(svc, w, 1)
    a1 = w.users["a1"]
    await svc.enqueue_chat(1, w.tenant, w.queues["web"])
    await svc.chat_accepted(w.tenant, 1, a1)
    clock.now += 5
    await svc.enqueue_chat(2, w.tenant, w.queues["web"])
    arrived = clock.now
    clock.now += 60
    # a new control plane over the same Redis and database
    svc2, _, chats2 = make(db, rds, clock)
    await svc2.start()
    set_chats(svc2, w, 1)
    qid = str(w.queues["web"])

    def chat(n: int, st: str, agent: str | None, at: float) -> OpenChat:
        i = Interaction(f"chat:{n}", Channel.CHAT, at)
        return OpenChat(n, qid, st, agent, i, at)

    await svc2.restore_chats(w.tenant, [chat(1, "active", str(a1), arrived - 5),
                                        chat(2, "offered", None, arrived)])
    t = svc2._tenants[w.tenant]
    assert t.agents[str(a1)].load == {Channel.CHAT: 1}
    assert t.queued["chat:2"].interaction.arrived_at == arrived
    assert chats2.kinds() == [("requeue", 2, w.queues["web"])]  # capacity 1: it waits
    assert (await svc2.chat_ended(w.tenant, 1)).ok
    assert chats2.kinds()[-1] == ("offer", 2, a1)


async def test_capacity_comes_from_the_tenant_and_agent_settings_and_reload(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1", "a2")})
    with transaction(db) as s:
        s.add(AcdChannelSettings(tenant_id=w.tenant, chats_per_agent=2, voice_with_chats=False,
                                 chat_offer_timeout_s=30))
        s.add(AgentChatCapacity(user_id=w.users["a2"], tenant_id=w.tenant, chats=1))
        s.add(AgentChatCapacity(user_id=w.users["a1"], tenant_id=w.tenant, emails=1))
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    t = svc._tenants[w.tenant]
    a1, a2 = str(w.users["a1"]), str(w.users["a2"])
    assert t.settings_for(a1).capacity.limits[Channel.CHAT] == 2
    assert t.settings_for(a2).capacity.limits[Channel.CHAT] == 1
    assert t.settings_for(a1).capacity.limits[Channel.EMAIL] == 1  # own e-mail limit only
    assert t.settings_for(a2).capacity.limits[Channel.EMAIL] == 3  # the tenant's
    await svc.enqueue_chat(1, w.tenant, w.queues["web"])
    assert isinstance(chats.orders[0], out.OfferChat) and chats.orders[0].timeout_s == 30
    with transaction(db) as s:
        row = s.get(AcdChannelSettings, w.tenant)
        assert row is not None
        row.chats_per_agent, row.voice_with_chats = 4, True
    await svc.reload(w.tenant)
    assert t.settings_for(a1).capacity.limits[Channel.CHAT] == 4
    assert t.settings_for(a1).capacity.alongside == {Channel.CHAT, Channel.EMAIL}  # e-mail: always
    assert t.settings_for(a2).capacity.limits[Channel.CHAT] == 1


async def test_exactly_one_agent_per_offer_under_interleaved_operations(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    """Chats enqueued, accepted, declined and ended concurrently, with ticks between: at
    every moment a chat is offered to one agent at most and an agent has one offer at most,
    and no agent ever holds more chats than the limit."""
    w = seed(db, {"web": {"strategy": "random"}}, {"web": ("a1", "a2", "a3")})
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1", "a2", "a3")
    set_chats(svc, w, 2)
    t = svc._tenants[w.tenant]
    rng = random.Random(7)

    def check() -> None:
        offers = [a.offer.interaction_id for a in t.agents.values() if a.offer is not None]
        assert len(offers) == len(set(offers))
        for st in t.queued.values():
            assert len(st.offered) <= 1
        assert all(a.load.get(Channel.CHAT, 0) <= 2 for a in t.agents.values())

    async def act(n: int) -> None:
        await svc.enqueue_chat(n, w.tenant, w.queues["web"])
        for _ in range(6):
            check()
            st = t.queued.get(f"chat:{n}")
            if st is None:
                return
            if st.offered:
                aid = int(st.offered[0])
                if rng.random() < 0.7:
                    await svc.chat_accepted(w.tenant, n, aid)
                    await asyncio.sleep(0)
                    await svc.chat_ended(w.tenant, n)
                    return
                await svc.chat_declined(w.tenant, n, aid)
            else:
                clock.now += 1
                await svc.tick()

    await asyncio.gather(*(act(n) for n in range(1, 31)))
    check()
    offered = [o for o in chats.orders if isinstance(o, out.OfferChat)]
    withdrawn_or_taken = [o for o in chats.orders
                          if isinstance(o, out.WithdrawChatOffer | out.AssignChat)]
    assert offered and len(withdrawn_or_taken) <= len(offered)
