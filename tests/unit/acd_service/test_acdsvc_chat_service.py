"""The daemon's chat service over a real ACD, Redis and SQLite: chat.* commands in, chat
rows written and chat.* events out, a restart restoring the open chats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from acd_world import Clock, FakeConnector, World, login, seed, status
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane import bus
from controlplane.acd.interactions import Channel
from controlplane.acd.service import QueueService
from controlplane.chat.service import ChatService
from controlplane.db import transaction
from controlplane.models.chat import Chat, ChatMessage


def wire(db: sessionmaker[Session], rds: aioredis.Redis,
         clock: Clock) -> tuple[QueueService, ChatService, FakeConnector]:
    chats = ChatService(db, rds, clock=lambda: datetime.fromtimestamp(clock.now, UTC))
    conn = FakeConnector()
    acd = QueueService(db, rds, conn, clock, stats_interval_s=0, chat_connector=chats)
    chats.acd = acd
    return acd, chats, conn


def new_chat(db: sessionmaker[Session], w: World, queue: str = "web", n: int = 1) -> int:
    with transaction(db) as s:
        c = Chat(tenant_id=w.tenant, public_id=f"pub-{n}", queue_id=w.queues[queue],
                 visitor_name="Ola", visitor_email="ola@example.com")
        s.add(c)
        s.flush()
        return c.id


def command(name: str, w: World, chat: int, actor: int | None = None,
            **extra: Any) -> bus.Received:
    body = {"cmd": name, "tenant_id": w.tenant, "actor_id": actor, "chat_id": chat,
            "reply": "centrala:reply:test", **extra}
    return bus.Received(body, False, "agent@acme")


def row(db: sessionmaker[Session], chat: int) -> Chat:
    with db() as s:
        c = s.get(Chat, chat)
        assert c is not None
        s.expunge(c)
        return c


async def events(rds: aioredis.Redis) -> list[dict[str, Any]]:
    return [json.loads(e[1][b"data"]) for e in await rds.xrange("centrala:events")
            if json.loads(e[1][b"data"])["type"].startswith("chat.")]


async def reply(rds: aioredis.Redis) -> dict[str, Any]:
    raw = await rds.rpop("centrala:reply:test")
    assert raw is not None
    return dict(json.loads(raw))


async def test_enqueue_offer_accept_end_writes_the_row_and_publishes_the_events(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    acd, chats, _ = wire(db, rds, clock)
    await login(acd, w, "a1")
    a1 = w.users["a1"]
    cid = new_chat(db, w)
    await chats.handle(command("chat.enqueue", w, cid))
    assert row(db, cid).status == "offered" and row(db, cid).agent_user_id == a1
    ev = await events(rds)
    assert ev[-1] | {"at": None} == {"type": "chat.offered", "tenant_id": w.tenant,
                                     "chat_id": cid, "user_id": a1, "queue_id": w.queues["web"],
                                     "timeout_s": 20.0, "at": None}
    await chats.handle(command("chat.accept", w, cid, a1))
    assert await reply(rds) == {"ok": True, "code": "", "message": ""}
    c = row(db, cid)
    assert (c.status, c.agent_user_id) == ("active", a1) and c.answered_at is not None
    assert status(acd, w, "a1") == "on_call"
    clock.now += 30
    await chats.handle(command("chat.end", w, cid, a1))
    assert (await reply(rds))["ok"]
    c = row(db, cid)
    assert (c.status, c.ended_by) == ("ended", "agent") and c.ended_at is not None
    assert [e["type"] for e in await events(rds)] == ["chat.offered", "chat.assigned",
                                                      "chat.ended"]
    with db() as s:
        lines = s.scalars(select(ChatMessage).where(ChatMessage.chat_id == cid)
                          .order_by(ChatMessage.seq)).all()
        assert [(m.seq, m.author, m.body) for m in lines] == [
            (1, "system", "a1 dołącza do czatu."), (2, "system", "Czat zakończony.")]


async def test_a_late_accept_is_answered_with_not_offered(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {"strategy": "linear"}}, {"web": ("a1", "a2")})
    acd, chats, _ = wire(db, rds, clock)
    await login(acd, w, "a1", "a2")
    cid = new_chat(db, w)
    await chats.handle(command("chat.enqueue", w, cid))
    clock.now += 21
    await acd.tick()
    assert row(db, cid).agent_user_id == w.users["a2"]
    await chats.handle(command("chat.accept", w, cid, w.users["a1"]))
    assert (await reply(rds))["code"] == "not_offered"
    kinds = [(e["type"], e.get("reason")) for e in await events(rds)]
    assert kinds == [("chat.offered", None), ("chat.offer_withdrawn", "timeout"),
                     ("chat.offered", None)]


async def test_the_visitor_leaving_before_an_answer_misses_the_chat(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    _, chats, _ = wire(db, rds, clock)
    cid = new_chat(db, w)
    await chats.handle(command("chat.enqueue", w, cid))
    assert row(db, cid).status == "waiting"  # nobody logged in
    await chats.handle(command("chat.leave", w, cid))
    c = row(db, cid)
    assert (c.status, c.ended_by) == ("missed", "visitor")
    assert (await events(rds))[-1]["status"] == "missed"


async def test_a_restart_keeps_the_active_chat_and_offers_the_waiting_one_again(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    acd, chats, _ = wire(db, rds, clock)
    await login(acd, w, "a1")
    a1 = w.users["a1"]
    first, second = new_chat(db, w, n=1), new_chat(db, w, n=2)
    await chats.handle(command("chat.enqueue", w, first))
    await chats.handle(command("chat.accept", w, first, a1))
    await chats.handle(command("chat.enqueue", w, second))
    assert row(db, second).status == "offered"
    clock.now += 60
    acd2, chats2, _ = wire(db, rds, clock)  # the control plane restarted
    await acd2.start()
    await chats2.start()
    t = acd2._tenants[w.tenant]
    assert t.agents[str(a1)].load == {Channel.CHAT: 1}
    assert row(db, first).status == "active"
    # the offer outstanding at the restart was withdrawn; the chat is offered again
    assert row(db, second).status == "offered" and row(db, second).agent_user_id == a1
    await chats2.handle(command("chat.accept", w, second, a1))
    assert (await reply(rds))["ok"]
    assert t.agents[str(a1)].load == {Channel.CHAT: 2}


async def test_an_agent_logging_out_hands_the_chat_back_with_a_line_for_the_visitor(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"web": {}}, {"web": ("a1",)})
    acd, chats, _ = wire(db, rds, clock)
    await login(acd, w, "a1")
    a1 = w.users["a1"]
    cid = new_chat(db, w)
    await chats.handle(command("chat.enqueue", w, cid))
    await chats.handle(command("chat.accept", w, cid, a1))
    assert (await acd.agent_command(w.tenant, a1, "logout")).ok
    assert status(acd, w, "a1") == "logged_out"
    c = row(db, cid)
    assert (c.status, c.agent_user_id) == ("waiting", None)
    last = (await events(rds))[-1]
    assert last["type"] == "chat.requeued" and last["reason"] == "agent_left"
    with db() as s:
        lines = s.scalars(select(ChatMessage.body).where(ChatMessage.chat_id == cid)
                          .order_by(ChatMessage.seq)).all()
    assert lines[-1] == "Przekazujemy rozmowę innemu konsultantowi, prosimy chwilę poczekać."
