"""An agent's panel session ending with chats in hand: their logout, an administrator
ending their sessions or deactivating them asks the daemon to log them out of the ACD
(which hands the chats back); an agent without chats is left alone. And the console,
(re)connecting, is sent the chats held and the offers pending as the server has them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from controlplane.bus import COMMANDS_STREAM
from controlplane.chat import leaving
from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.chat import Chat, ChatMessage
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"


@pytest.fixture
def clean(app, world, redis_client, monkeypatch) -> Iterator[None]:
    monkeypatch.setattr(leaving, "WAIT_S", 0.3)  # nobody answers in place of the daemon
    redis_client.delete(COMMANDS_STREAM)
    yield
    redis_client.delete(COMMANDS_STREAM)
    with transaction(app.extensions["centrala"].sessions) as s:
        s.execute(delete(ChatMessage))
        s.execute(delete(Chat))


def _user(app, login: str) -> int:
    with app.extensions["centrala"].sessions() as s:
        return s.scalar(select(User.id).where(User.login == login))


def _chat(app, world, agent: int | None, status: str, n: int = 1) -> int:
    with transaction(app.extensions["centrala"].sessions) as s:
        chat = Chat(tenant_id=world.demo_tenant, public_id=f"leaving-{n}-{status}" * 2,
                    status=status, agent_user_id=agent, visitor_name=f"Anna {n}",
                    visitor_fields={})
        s.add(chat)
        s.flush()
        s.add(ChatMessage(tenant_id=world.demo_tenant, chat_id=chat.id, seq=1,
                          author="visitor", body="Dzień dobry"))
        return chat.id


def _agent_commands(redis_client) -> list[dict]:
    docs = [json.loads(f["data"]) for _id, f in redis_client.xrange(COMMANDS_STREAM)]
    return [d for d in docs if d["cmd"] == "acd.agent"]


def test_logout_with_a_chat_in_hand_logs_the_agent_out_of_the_acd(
        app, client, login, csrf, world, clean, redis_client) -> None:
    agent1 = _user(app, "agent1")
    _chat(app, world, agent1, "active")
    login(AGENT1)
    resp = client.post("/logout", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302  # the daemon not answering does not stop the logout
    [cmd] = _agent_commands(redis_client)
    assert (cmd["command"], cmd["user_id"], cmd["actor_id"]) == ("logout", agent1, agent1)
    assert cmd["tenant_id"] == world.demo_tenant


def test_logout_without_chats_leaves_the_acd_alone(app, client, login, csrf, world, clean,
                                                   redis_client) -> None:
    _chat(app, world, _user(app, "agent2"), "active")  # someone else's
    _chat(app, world, _user(app, "agent1"), "ended", n=2)
    login(AGENT1)
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert _agent_commands(redis_client) == []


def test_an_admin_ending_the_sessions_hands_the_offer_back_as_the_admin(
        app, client, login, csrf, world, clean, redis_client) -> None:
    agent1 = _user(app, "agent1")
    _chat(app, world, agent1, "offered")
    login(ADMIN)
    resp = client.post(f"/users/{agent1}/sessions/revoke", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    [cmd] = _agent_commands(redis_client)
    assert (cmd["command"], cmd["user_id"], cmd["actor_id"]) == ("logout", agent1,
                                                                 _user(app, "admin"))
    assert cmd["by"] == ADMIN


def _events(resp):
    buf = ""
    for chunk in resp.response:
        buf += chunk.decode()
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines()
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                yield fields["event"], json.loads(fields["data"])


def test_the_console_is_sent_its_chats_and_offers_on_every_connect(
        app, client, login, world, clean) -> None:
    agent1 = _user(app, "agent1")
    held = _chat(app, world, agent1, "active")
    offered = _chat(app, world, agent1, "offered", n=2)
    _chat(app, world, _user(app, "agent2"), "offered", n=3)  # not theirs
    login(AGENT1)
    for _connect in range(2):  # a reconnect gets the same
        resp = client.get("/agent/chats/stream", buffered=False)
        try:
            events = _events(resp)
            name, doc = next(events)
            assert name == "chat" and doc["chat"]["id"] == held
            name, doc = next(events)
            assert name == "offer" and doc["chat"]["id"] == offered
            assert next(events) == ("ready", {"held": [held], "offers": [offered]})
        finally:
            resp.close()


def test_deactivating_an_agent_with_a_chat_hands_it_back_first(
        app, client, login, csrf, world, clean, redis_client) -> None:
    agent1 = _user(app, "agent1")
    _chat(app, world, agent1, "active")
    login(ADMIN)
    try:
        resp = client.delete(f"/api/v1/users/{agent1}", headers={"X-CSRF-Token": csrf(client)})
        assert resp.status_code == 200 and resp.json["user"]["active"] is False
        [cmd] = _agent_commands(redis_client)
        assert (cmd["command"], cmd["user_id"]) == ("logout", agent1)
    finally:
        with transaction(app.extensions["centrala"].sessions) as s:
            s.get(User, agent1).active = True


def test_a_logout_elsewhere_ends_the_console_stream_at_once(
        app, client, login, login_form, csrf, world, clean) -> None:
    app.config.update(CHAT_SSE_BLOCK_MS=30_000)  # quiet: only the poke can wake it soon
    login(AGENT1)
    resp = client.get("/agent/chats/stream", buffered=False)
    try:
        events = _events(resp)
        assert next(events) == ("ready", {"held": [], "offers": []})
        other = app.test_client()  # an admin ends the agent's sessions meanwhile
        assert login_form(other, ADMIN).status_code == 302
        revoked = other.post(f"/users/{_user(app, 'agent1')}/sessions/revoke",
                             data={"csrf_token": csrf(other)})
        assert revoked.status_code == 302
        started = time.monotonic()
        assert list(events) == []  # the stream ends ...
        assert time.monotonic() - started < 5  # ... at once, not at its 30 s wake
    finally:
        resp.close()
