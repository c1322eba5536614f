"""An agent who leaves while holding chats (real Redis, real SQLite): every chat held goes
back to its queue in front of later arrivals, offers pending to them are withdrawn, and
the agent is logged out at once; a voice call in hand still defers the logout."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis
from acd_world import Clock, FakeConnector, World, login, seed, status
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import outputs as out
from controlplane.acd.interactions import Channel, capacity_of
from controlplane.acd.service import QueueService


@dataclass
class Chats:
    """The chat service's seam: records every chat order."""

    orders: list[out.ChatOrder] = field(default_factory=list)

    async def send_chat(self, order: out.ChatOrder) -> None:
        self.orders.append(order)

    def kinds(self) -> list[tuple[str, int, object]]:
        return [("offer", o.chat_id, o.user_id) if isinstance(o, out.OfferChat)
                else (type(o).__name__, o.chat_id, None) for o in self.orders]


def make(db: sessionmaker[Session], rds: aioredis.Redis,
         clock: Clock) -> tuple[QueueService, FakeConnector, Chats]:
    conn, chats = FakeConnector(), Chats()
    return QueueService(db, rds, conn, clock, stats_interval_s=0, chat_connector=chats), \
        conn, chats


def set_chats(svc: QueueService, w: World, n: int, voice_with_chats: bool = False) -> None:
    t = svc._tenants[w.tenant]
    t.settings = replace(t.settings, capacity=capacity_of(n, voice_with_chats))


async def test_logout_with_chats_requeues_them_in_front_and_logs_out_at_once(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"strategy": "linear"}}, {"web": ("a1", "a2")})
    svc, _, chats = make(db, rds, clock)
    await login(svc, w, "a1")
    set_chats(svc, w, 3)
    a1 = w.users["a1"]
    for chat in (1, 2):
        await svc.enqueue_chat(chat, w.tenant, w.queues["web"])
        assert (await svc.chat_accepted(w.tenant, chat, a1)).ok
        clock.now += 5
    await svc.enqueue_chat(3, w.tenant, w.queues["web"])  # offered to a1, not yet accepted
    clock.now += 5
    await svc.enqueue_chat(4, w.tenant, w.queues["web"])  # came last: waits (capacity 3)
    assert chats.kinds()[-1] == ("offer", 3, a1)
    t = svc._tenants[w.tenant]
    entered = {c: t.queued[out.chat_iid(c)].entered_at for c in (1, 2)}

    r = await svc.agent_command(w.tenant, a1, "logout")
    assert r.ok and status(svc, w, "a1") == "logged_out"
    assert t.agents[str(a1)].load == {} and t.agents[str(a1)].held == ()
    after = chats.orders[-3:]
    assert out.RequeueChat(w.tenant, 1, w.queues["web"], "agent_left") in after
    assert out.RequeueChat(w.tenant, 2, w.queues["web"], "agent_left") in after
    assert out.WithdrawChatOffer(w.tenant, 3, a1, "agent_left") in after
    for c in (1, 2):  # waiting again, with the entry time they had
        st = t.queued[out.chat_iid(c)]
        assert st.phase.name == "WAITING" and st.entered_at == entered[c]

    # the next agent gets the oldest chats first, before chat 4 that came after them
    set_chats(svc, w, 1)
    await login(svc, w, "a2")
    assert chats.kinds()[-1] == ("offer", 1, w.users["a2"])


async def test_logout_with_a_chat_and_a_call_gives_the_chat_back_and_waits_for_the_call(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}, "sales": {}}, {"web": ("a1",), "sales": ("a1",)})
    svc, conn, chats = make(db, rds, clock)
    await login(svc, w, "a1")
    set_chats(svc, w, 2, voice_with_chats=True)
    a1 = w.users["a1"]
    await svc.enqueue_chat(1, w.tenant, w.queues["web"])
    assert (await svc.chat_accepted(w.tenant, 1, a1)).ok
    await svc.enqueue("c1", w.tenant, "sales", caller="+48111")
    assert conn.named("offer") == [("offer", "c1", "ph-a1", 20.0)]
    await svc.offer_answered("c1", "ph-a1")
    assert svc._tenants[w.tenant].agents[str(a1)].load == {Channel.CHAT: 1, Channel.VOICE: 1}

    r = await svc.agent_command(w.tenant, a1, "logout")
    assert r.ok
    assert chats.orders[-1] == out.RequeueChat(w.tenant, 1, w.queues["web"], "agent_left")
    a = svc._tenants[w.tenant].agents[str(a1)]
    assert a.load == {Channel.VOICE: 1} and a.deferred is not None  # out when the call ends
    await svc.call_ended("c1")
    assert status(svc, w, "a1") == "logged_out"
