"""Chats on the supervisors' boards: an agent ``on_call`` because of chats shows how many
("2 czaty"), and a queue's waiting figure says how many of its waiting are chats."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import delete, select

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd.interactions import Channel
from controlplane.acd.tenant import agent_to_json
from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.acd import Queue
from controlplane.seed import DEMO_DOMAIN

SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"


@pytest.fixture
def chatting(app, world, redis_client: redis.Redis) -> Iterator[tuple[int, int]]:
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        agent = s.scalar(select(User.id).where(User.tenant_id == world.demo_tenant,
                                               User.login == "agent1"))
        q = Queue(tenant_id=world.demo_tenant, name="czat-www", announce_every_s=None)
        s.add(q)
        s.flush()
        qid = q.id
    held = tuple(am.Work(f"chat:{n}", Channel.CHAT, str(qid), 0.0) for n in (1, 2))
    state = am.AgentState(str(agent), ev.Status.ON_CALL, since=1_800_000_000.0, held=held)
    agents = f"centrala:acd:{world.demo_tenant}:agents"
    redis_client.hset(agents, str(agent), agent_to_json(state, "demo-1001"))
    stats = {"tenant_id": world.demo_tenant, "at": "2027-01-15T08:00:00+00:00",
             "window_s": 3600, "agents": {},
             "queues": [{"queue_id": str(qid), "name": "czat-www", "waiting": 3,
                         "waiting_chats": 1, "longest_wait_s": 12.0}]}
    redis_client.set(f"centrala:acd:{world.demo_tenant}:stats", json.dumps(stats))
    yield agent, qid
    redis_client.hdel(agents, str(agent))
    redis_client.delete(f"centrala:acd:{world.demo_tenant}:stats")
    with transaction(factory) as s:
        s.execute(delete(Queue).where(Queue.id == qid))


def test_the_agents_board_counts_the_chats_held(client, login, chatting, demo_in_polish) -> None:
    agent, _ = chatting
    login(SUPERVISOR)
    row = next(a for a in client.get("/api/v1/agents").get_json()["agents"]
               if a["user_id"] == agent)
    assert (row["status"], row["chats"], row["chats_label"]) == ("on_call", 2, "2 czaty")
    page = client.get("/agents").get_data(as_text=True)
    tr = page.split(f'data-user-id="{agent}"', 1)[1].split("</tr>", 1)[0]
    assert '"chats_label">2 czaty<' in tr


def test_the_wallboard_says_how_many_waiting_are_chats(
    client, login, chatting, demo_in_polish
) -> None:
    _, qid = chatting
    login(SUPERVISOR)
    row = next(q for q in client.get("/api/v1/queues/stats").get_json()["queues"]
               if q["queue_id"] == qid)
    assert (row["waiting"], row["waiting_chats"], row["waiting_chats_label"]) == (
        3, 1, "w tym 1 czat")
    page = client.get("/queues/wallboard").get_data(as_text=True)
    assert "w tym 1 czat" in page


def test_the_live_wallboard_counts_waiting_chats_among_the_waiting(
    client, login, world, chatting, redis_client
) -> None:
    _, qid = chatting
    key = f"centrala:acd:{world.demo_tenant}:waiting"
    entered = "2020-01-01T00:00:00+00:00"
    redis_client.hset(key, mapping={
        "call-1": json.dumps({"queue_id": str(qid), "entered_at": entered, "channel": "voice"}),
        "chat:7": json.dumps({"queue_id": str(qid), "entered_at": entered, "channel": "chat"}),
    })
    try:
        login(SUPERVISOR)
        board = client.get("/api/v1/wallboard").get_json()
        row = next(q for q in board["queues"] if q["queue_id"] == qid)
        assert (row["waiting"], row["waiting_chats"]) == (2, 1)
    finally:
        redis_client.delete(key)


def test_the_board_links_each_chat_held_to_its_watch(client, login, chatting,
                                                     demo_in_polish) -> None:
    agent, _ = chatting
    login(SUPERVISOR)
    row = next(a for a in client.get("/api/v1/agents").get_json()["agents"]
               if a["user_id"] == agent)
    assert row["chat_ids"] == [1, 2]
    page = client.get("/agents").get_data(as_text=True)
    tr = page.split(f'data-user-id="{agent}"', 1)[1].split("</tr>", 1)[0]
    assert '<a href="/agent/chats/1/watch">Podgląd czatu nr 1</a>' in tr
    assert '<a href="/agent/chats/2/watch">Podgląd czatu nr 2</a>' in tr
    assert 'data-chat-links="/agent/chats/"' in tr  # acd.js redraws them from chat_ids


def test_the_live_calls_page_lists_the_open_chats_for_staff_only(client, login, csrf,
                                                                 demo_in_polish) -> None:
    login(SUPERVISOR)
    page = client.get("/calls/live").get_data(as_text=True)
    assert 'id="chat-watch-list"' in page and "Otwarte czaty firmy" in page
    assert 'data-watch="/agent/chats/"' in page and "chat_console.js" in page
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(f"agent1@{DEMO_DOMAIN}")
    assert 'id="chat-watch-list"' not in client.get("/calls/live").get_data(as_text=True)
