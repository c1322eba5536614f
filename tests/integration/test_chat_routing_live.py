"""Chats routed by the real daemon's ACD, next to calls from the lab.

A chat row is committed and ``chat.enqueue`` sent (as the web side does): the ready agent
is offered it on the events stream within 2 s; ``chat.accept`` makes it theirs (the row
active). The agent is also in a voice queue: a lab call to that queue waits while they hold
the chat ("voice while in chats" is off by default) and reaches their desk phone once the
chat ends. A control-plane restart keeps an active chat active and counted.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from helpers import until
from labtools import (
    agents_on_phones,
    ended_record,
    latest_status,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane import bus
from controlplane.chat import leaving
from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Tenant
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.acd_channels import AcdChannelSettings
from controlplane.models.chat import Chat, ChatMessage
from controlplane.seed import DEMO_DIDS, DEMO_DOMAIN
from dialplan import labcall

pytestmark = pytest.mark.integration
DID = "48221000009"
PHONES = {"chatter1": "demo-1002"}


class World:
    def __init__(self, platform: Any, tenant_id: int, user: int, chat_q: int,
                 voice_q: int) -> None:
        self.platform, self.tenant_id, self.user = platform, tenant_id, user
        self.chat_q, self.voice_q = chat_q, voice_q
        # a socket timeout above the commands' wait (BLPOP blocks that long)
        self.redis = redis.Redis.from_url(platform.settings.redis_url_for("admin"),
                                          socket_timeout=20)

    def agent(self, command: str) -> dict[str, Any]:
        # 10 s: a daemon just restarted by an earlier file, on a loaded machine, took more
        # than 3 s to read a login (the reply was "expired")
        return bus.send_agent_command(self.redis, self.tenant_id, self.user, command,
                                      timeout_s=10, actor_id=self.user)

    def try_agent(self, command: str) -> dict[str, Any] | None:
        try:
            return self.agent(command)
        except (bus.CommandError, redis.RedisError):
            return None  # the daemon is not (yet) up

    def new_chat(self) -> int:
        with transaction(session_factory(self.platform)) as s:
            c = Chat(tenant_id=self.tenant_id, public_id=uuid.uuid4().hex,
                     queue_id=self.chat_q, visitor_name="Ola")
            s.add(c)
            s.flush()
            return c.id

    def chat(self, chat_id: int) -> Chat:
        with session_factory(self.platform)() as s:
            c = s.get(Chat, chat_id)
            assert c is not None
            s.expunge(c)
            return c

    def send(self, action: str, chat_id: int, **kw: Any) -> dict[str, Any] | None:
        return bus.send_chat_command(self.redis, action, tenant_id=self.tenant_id,
                                     chat_id=chat_id, timeout_s=10, **kw)

    def events_after(self, start: str, chat_id: int) -> list[dict[str, Any]]:
        out = []
        for _, fields in self.redis.xrange(bus.EVENTS_STREAM, min=f"({start}"):
            e = json.loads(fields[b"data"])
            if e.get("chat_id") == chat_id:
                out.append(e)
        return out

    def last_event_id(self) -> str:
        last = self.redis.xrevrange(bus.EVENTS_STREAM, count=1)
        return last[0][0].decode() if last else "0-0"

    def waiting(self) -> dict[str, Any]:
        raw = self.redis.hgetall(bus.acd_key(self.tenant_id, "waiting"))
        return {k.decode(): json.loads(v) for k, v in raw.items()}


@pytest.fixture
def world(platform) -> Iterator[World]:  # type: ignore[no-untyped-def]
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant_id, PHONES)
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id,
                                      Queue.name.in_(("chatq", "chatvoice"))))
        s.execute(delete(AcdChannelSettings).where(AcdChannelSettings.tenant_id == tenant_id))
        chat_q = Queue(tenant_id=tenant_id, name="chatq", announce_every_s=None)
        voice_q = Queue(tenant_id=tenant_id, name="chatvoice", ring_timeout_s=15,
                        announce_every_s=None)
        s.add_all([chat_q, voice_q])
        s.flush()
        for q in (chat_q, voice_q):
            s.add(QueueMember(queue_id=q.id, user_id=users["chatter1"], penalty=0))
        did = s.scalar(select(Did).where(Did.number == DID))
        did.phone_endpoint_id, did.flow_id, did.queue_id = None, None, voice_q.id
        ids = (chat_q.id, voice_q.id)
    reload_acd(platform, tenant_id)
    w = World(platform, tenant_id, users["chatter1"], *ids)
    yield w
    # Every chat of the test ends in the ACD first (the visitor leaves): an agent holding a
    # chat only logs out once it ends, and would keep the desk phone for later files' agents.
    with session_factory(platform)() as s:
        open_chats = list(s.scalars(select(Chat.id).where(
            Chat.queue_id.in_(ids), Chat.status.in_(("waiting", "offered", "active")))))
    for chat_id in open_chats:
        w.send("leave", chat_id)
    until(lambda: (w.try_agent("logout") or {}).get("status") == "logged_out"
          or latest_status(platform, w.user) == "logged_out", timeout=60, interval=1,
          what="the agent logged out")
    with transaction(factory) as s:
        did = s.scalar(select(Did).where(Did.number == DID))
        did.queue_id = None
        did.phone_endpoint_id = s.scalar(select(PhoneEndpoint.id).where(
            PhoneEndpoint.extension == DEMO_DIDS[DID], PhoneEndpoint.tenant_id == tenant_id))
        s.execute(delete(Chat).where(Chat.queue_id.in_(ids)))
        s.execute(delete(Queue).where(Queue.id.in_(ids)))
        s.execute(delete(AcdChannelSettings).where(AcdChannelSettings.tenant_id == tenant_id))
    reload_acd(platform, tenant_id)
    w.redis.close()
    factory.kw["bind"].dispose()


def test_a_chat_is_offered_accepted_and_holds_off_a_call_until_it_ends(world: World) -> None:
    assert (got := world.agent("login"))["ok"], got
    until(lambda: world.agent("ready")["status"] == "ready", timeout=15, what="agent ready")
    chat_id = world.new_chat()
    start = world.last_event_id()
    sent = time.monotonic()
    world.send("enqueue", chat_id)
    offered = until(lambda: [e for e in world.events_after(start, chat_id)
                             if e["type"] == "chat.offered"], timeout=5, interval=0.05,
                    what="chat.offered")
    latency = time.monotonic() - sent
    print(f"chat.enqueue → chat.offered: {latency * 1000:.0f} ms")
    assert latency < 2.0, f"offered after {latency:.2f} s"
    assert offered[0]["user_id"] == world.user and offered[0]["tenant_id"] == world.tenant_id
    assert world.chat(chat_id).status == "offered"

    reply = world.send("accept", chat_id, actor_id=world.user)
    assert reply is not None and reply["ok"], reply
    until(lambda: any(e["type"] == "chat.assigned" for e in world.events_after(start, chat_id)),
          timeout=5, what="chat.assigned")
    c = world.chat(chat_id)
    assert (c.status, c.agent_user_id) == ("active", world.user)

    # a call to the agent's voice queue waits while they chat ...
    caller = unique_caller()
    labcall.call(world.platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                           hangup_after=25))
    until(lambda: any(v["channel"] == "voice" for v in world.waiting().values()), timeout=20,
          what="the call waiting in the ACD")
    time.sleep(3)  # a bounded look: no offer comes while the chat is held
    assert [v["phase"] for v in world.waiting().values() if v["channel"] == "voice"] == [
        "waiting"]
    # ... and is offered when the chat ends
    reply = world.send("end", chat_id, actor_id=world.user)
    assert reply is not None and reply["ok"], reply
    assert world.chat(chat_id).status == "ended"
    row = ended_record(world.platform, caller, timeout=60)
    assert row.agent_endpoint == PHONES["chatter1"] and row.answered_at is not None


def test_a_restart_keeps_an_active_chat_active(world: World) -> None:
    assert (got := world.agent("login"))["ok"], got
    until(lambda: world.agent("ready")["status"] == "ready", timeout=15, what="agent ready")
    chat_id = world.new_chat()
    world.send("enqueue", chat_id)
    until(lambda: world.chat(chat_id).status == "offered", timeout=10, what="offered")
    reply = world.send("accept", chat_id, actor_id=world.user)
    assert reply is not None and reply["ok"], reply

    world.platform.kill_controlplane()
    world.platform.start_controlplane()

    def answered() -> dict[str, Any] | None:
        try:
            return world.send("end", chat_id, actor_id=world.user)
        except (bus.CommandError, redis.RedisError):
            return None  # not up yet

    # the restarted ACD still knows the agent holds the chat: the agent can end it
    reply = until(answered, timeout=60, interval=1, what="the restarted daemon answering")
    assert reply is not None and reply["ok"], reply
    c = world.chat(chat_id)
    assert (c.status, c.ended_by) == ("ended", "agent")


def test_with_capacity_two_the_third_chat_waits_until_one_ends(world: World) -> None:
    with transaction(session_factory(world.platform)) as s:
        s.add(AcdChannelSettings(tenant_id=world.tenant_id, chats_per_agent=2,
                                 voice_with_chats=False, chat_offer_timeout_s=20))
    reload_acd(world.platform, world.tenant_id)
    assert (got := world.agent("login"))["ok"], got
    until(lambda: world.agent("ready")["status"] == "ready", timeout=15, what="agent ready")
    chats = [world.new_chat() for _ in range(3)]
    for n, chat_id in enumerate(chats):
        world.send("enqueue", chat_id)
        if n < 2:
            until(lambda c=chat_id: world.chat(c).status == "offered", timeout=10, what="offered")
            reply = world.send("accept", chat_id, actor_id=world.user)
            assert reply is not None and reply["ok"], reply
    third = chats[2]
    until(lambda: f"chat:{third}" in world.waiting(), timeout=10, what="the third chat waiting")
    time.sleep(2)  # a bounded look: capacity 2 reached, no offer
    assert world.chat(third).status == "waiting"
    assert world.waiting()[f"chat:{third}"]["channel"] == "chat"
    start = world.last_event_id()
    ended = time.monotonic()
    reply = world.send("end", chats[0], actor_id=world.user)
    assert reply is not None and reply["ok"], reply
    until(lambda: any(e["type"] == "chat.offered" for e in world.events_after(start, third)),
          timeout=5, interval=0.05, what="the third chat offered")
    freed = time.monotonic() - ended
    print(f"capacity freed → next chat offered: {freed * 1000:.0f} ms")
    assert freed < 2.0


def test_logging_out_with_chats_hands_them_back_and_logs_out_at_once(world: World) -> None:
    with transaction(session_factory(world.platform)) as s:
        s.add(AcdChannelSettings(tenant_id=world.tenant_id, chats_per_agent=2,
                                 voice_with_chats=False, chat_offer_timeout_s=20))
    reload_acd(world.platform, world.tenant_id)
    assert world.agent("login")["ok"]
    until(lambda: world.agent("ready")["status"] == "ready", timeout=15, what="agent ready")
    held, offered = world.new_chat(), world.new_chat()
    world.send("enqueue", held)
    until(lambda: world.chat(held).status == "offered", timeout=10, what="offered")
    reply = world.send("accept", held, actor_id=world.user)
    assert reply is not None and reply["ok"], reply
    world.send("enqueue", offered)
    until(lambda: world.chat(offered).status == "offered", timeout=10, what="second offered")
    start = world.last_event_id()

    # the panel's side of a logout with chats in hand (web/auth.py calls it), the real daemon
    factory = session_factory(world.platform)
    assert leaving.session_ended(world.redis, factory, world.tenant_id, world.user,
                                 actor_id=world.user)
    factory.kw["bind"].dispose()
    # out now, not deferred until the chat ends (it would never: nobody ends it)
    until(lambda: latest_status(world.platform, world.user) == "logged_out", timeout=5,
          what="the agent logged out")
    for chat_id in (held, offered):
        until(lambda c=chat_id: (world.chat(c).status, world.chat(c).agent_user_id)
              == ("waiting", None), timeout=5, what=f"chat {chat_id} waiting again")
    kinds = {(e["type"], e["chat_id"], e.get("reason"))
             for e in world.events_after(start, held) + world.events_after(start, offered)}
    assert ("chat.requeued", held, "agent_left") in kinds
    assert ("chat.offer_withdrawn", offered, "agent_left") in kinds
    with session_factory(world.platform)() as s:
        last = s.scalars(select(ChatMessage).where(ChatMessage.chat_id == held)
                         .order_by(ChatMessage.seq.desc())).first()
    assert last is not None and last.author == "system"
    assert last.body.startswith("Przekazujemy rozmowę innemu konsultantowi")
    # both wait in the queue, the chat that came first in front
    until(lambda: {f"chat:{held}", f"chat:{offered}"} <= set(world.waiting()), timeout=5,
          what="both chats waiting")
    positions = {k: v["position"] for k, v in world.waiting().items()}
    assert positions[f"chat:{held}"] < positions[f"chat:{offered}"]
