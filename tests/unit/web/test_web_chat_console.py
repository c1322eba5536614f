"""The chat's admin pages and API (widgets, canned responses) and the agent console: roles
on every route, an agent writes only to a chat they hold, the agent's stream shows offers and
the chats assigned to them, supervisors watch read-only, the agent's commands go to the
daemon with the agent as actor."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from controlplane.bus import COMMANDS_STREAM, EVENTS_STREAM, REPLY_PREFIX, event_fields
from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.chat import Chat, ChatMessage
from controlplane.models.chat_widgets import CannedResponse, ChatWidget
from controlplane.models.tickets import Ticket, TicketMessage
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
AGENT2 = f"agent2@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


@pytest.fixture
def clean(app, world) -> Iterator[None]:
    yield
    with transaction(app.extensions["centrala"].sessions) as s:
        s.execute(delete(ChatMessage))
        s.execute(delete(Chat))
        s.execute(delete(TicketMessage).where(TicketMessage.channel == "chat"))
        s.execute(delete(Ticket).where(Ticket.channel == "chat"))
        s.execute(delete(ChatWidget))
        s.execute(delete(CannedResponse))


def _user(app, login: str) -> int:
    with app.extensions["centrala"].sessions() as s:
        return s.scalar(select(User.id).where(User.login == login))


def _chat(app, world, *, agent: int | None, status: str = "active") -> int:
    with transaction(app.extensions["centrala"].sessions) as s:
        chat = Chat(tenant_id=world.demo_tenant, public_id=f"pub-{agent}-{status}-x" * 2,
                    status=status, agent_user_id=agent, visitor_name="Anna",
                    visitor_email="anna@example.com", visitor_fields={})
        s.add(chat)
        s.flush()
        s.add(ChatMessage(tenant_id=world.demo_tenant, chat_id=chat.id, seq=1, author="visitor",
                          body="Dzień dobry"))
        return chat.id


def test_admin_creates_a_widget_with_hours_through_the_api(client, login, csrf, clean) -> None:
    login(ADMIN)
    token = {"X-CSRF-Token": csrf(client)}
    bad = client.post("/api/v1/chat/widgets", headers=token,
                      json={"name": "Shop", "hours": {"days": ["mon"], "from": "9", "to": "17:00"}})
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "hours.from"
    bad_queue = client.post("/api/v1/chat/widgets", headers=token,
                            json={"name": "Shop", "queue_id": 999999})
    assert bad_queue.status_code == 422 and bad_queue.json["error"]["details"]["field"] == "queue_id"
    resp = client.post("/api/v1/chat/widgets", headers=token, json={
        "name": "Shop", "origins": ["https://Shop.example/"], "color": "#aa0000",
        "hours": {"days": ["mon", "fri"], "from": "08:00", "to": "16:00"},
        "form_fields": {"email": "required"}})
    assert resp.status_code == 201, resp.json
    w = resp.json["widget"]
    assert w["origins"] == ["https://shop.example"] and w["hours"]["from"] == "08:00"
    assert w["form_fields"] == {"name": "optional", "email": "required", "phone": "off"}
    assert len(w["identity_secret"]) == 64 and w["key"].startswith("cw_")
    listed = client.get("/api/v1/chat/widgets").json["widgets"]
    assert [x["name"] for x in listed] == ["Shop"] and "identity_secret" not in listed[0]
    page = client.get(f"/admin/chat/widgets/{w['id']}")
    assert page.status_code == 200 and w["key"] in page.get_data(as_text=True)
    assert client.delete(f"/api/v1/chat/widgets/{w['id']}", headers=token).status_code == 200


def test_the_admin_page_saves_a_widget_from_its_form(client, login, csrf, clean) -> None:
    login(ADMIN)
    resp = client.post("/admin/chat", data={"name": "Sklep", "csrf_token": csrf(client)})
    assert resp.status_code == 302
    url = resp.headers["Location"]
    form = {"csrf_token": csrf(client), "name": "Sklep", "origins": "https://a.example\nhttp://b.example:8080",
            "title": "Czat", "color": "#00aa00", "greeting_new": "Witaj", "field_name": "required",
            "field_email": "optional", "field_phone": "off", "survey": "on", "active": "on",
            "hours_on": "on", "day_mon": "on", "hours_from": "08:00", "hours_to": "07:00"}
    saved = client.post(url, data=form)
    assert saved.status_code == 302
    bad = client.post(url, data={**form, "origins": "not a site"})
    assert bad.status_code == 422 and 'data-error-for="origins[0]"' in bad.get_data(as_text=True)
    w = client.get("/api/v1/chat/widgets").json["widgets"][0]
    assert w["origins"] == ["http://b.example:8080", "https://a.example"]
    assert w["hours"] == {"days": ["mon"], "from": "08:00", "to": "07:00", "holidays": False,
                          "calendars": []}


def test_canned_responses_admin_writes_everyone_reads(client, login, csrf, clean) -> None:
    login(ADMIN)
    token = {"X-CSRF-Token": csrf(client)}
    made = client.post("/api/v1/chat/canned-responses", headers=token,
                       json={"shortcut": "hello", "title": "Hi", "body": "Hi {{ visitor_name }}"})
    assert made.status_code == 201
    dup = client.post("/api/v1/chat/canned-responses", headers=token,
                      json={"shortcut": "hello", "body": "again"})
    assert dup.status_code == 422 and dup.json["error"]["details"]["field"] == "shortcut"
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(AGENT1)
    assert [c["shortcut"] for c in client.get("/api/v1/chat/canned-responses").json[
        "canned_responses"]] == ["hello"]
    assert client.post("/api/v1/chat/canned-responses", headers={"X-CSRF-Token": csrf(client)},
                       json={"shortcut": "x", "body": "y"}).status_code == 403
    assert "/hello" in client.get("/agent/chats").get_data(as_text=True)


@pytest.mark.parametrize(("who", "path", "status"), [
    (AGENT1, "/admin/chat", 403), (SUPERVISOR, "/admin/chat/canned", 403),
    (AGENT1, "/api/v1/chat/widgets", 403), (AGENT1, "/agent/chats", 200),
    (SUPERVISOR, "/agent/chats", 200), (ADMIN, "/admin/chat", 200),
])
def test_roles_on_the_chat_pages(client, login, clean, who, path, status) -> None:
    login(who)
    assert client.get(path).status_code == status


def test_logged_out_the_console_and_api_refuse(client) -> None:
    assert client.get("/agent/chats").status_code == 302
    assert client.get("/agent/chats/stream").status_code == 401
    assert client.get("/api/v1/chat/chats").status_code == 401


def test_an_agent_writes_only_to_a_chat_they_hold(app, client, login, csrf, world, clean,
                                                  redis_client) -> None:
    agent1 = _user(app, "agent1")
    mine = _chat(app, world, agent=agent1)
    theirs = _chat(app, world, agent=_user(app, "agent2"))
    login(AGENT1)
    token = {"X-CSRF-Token": csrf(client)}
    resp = client.post(f"/api/v1/chat/chats/{mine}/messages", headers=token, json={"body": "Witam"})
    assert resp.status_code == 201 and resp.json["message"]["seq"] == 2
    entries = redis_client.xrange(f"centrala:web:chat:{mine}")
    assert json.loads(entries[-1][1]["data"])["body"] == "Witam"
    refused = client.post(f"/api/v1/chat/chats/{theirs}/messages", headers=token, json={"body": "x"})
    assert refused.status_code == 403 and refused.json["error"]["id"] == "not_your_chat"
    assert client.get(f"/api/v1/chat/chats/{theirs}").status_code == 403
    assert [c["id"] for c in client.get("/api/v1/chat/chats").json["chats"]] == [mine]
    assert client.get(f"/agent/chats/{mine}/watch").status_code == 403  # watching: supervisors


def test_agent_commands_go_to_the_daemon_with_the_agent_as_actor(app, client, login, csrf, world,
                                                                 clean, redis_client) -> None:
    agent1 = _user(app, "agent1")
    chat = _chat(app, world, agent=None, status="offered")
    login(AGENT1)

    def daemon() -> None:  # answers the first command as the daemon would
        for _ in range(50):
            entries = redis_client.xrange(COMMANDS_STREAM)
            if entries:
                cmd = json.loads(entries[-1][1]["data"])
                redis_client.rpush(cmd["reply"], json.dumps(
                    {"ok": False, "code": "offer_gone", "message": "the offer timed out"}
                    if cmd["cmd"] == "chat.decline" else {"ok": True, "seen": cmd}))
                redis_client.delete(COMMANDS_STREAM)
                return
            threading.Event().wait(0.05)

    t = threading.Thread(target=daemon)
    t.start()
    resp = client.post(f"/api/v1/chat/chats/{chat}/transfer", headers={"X-CSRF-Token": csrf(client)},
                       json={"target": "queue:3"})
    t.join()
    assert resp.status_code == 200
    seen = resp.json["seen"]
    assert (seen["cmd"], seen["actor_id"], seen["chat_id"], seen["target"]) == \
        ("chat.transfer", agent1, chat, "queue:3")
    assert seen["reply"].startswith(REPLY_PREFIX)
    t = threading.Thread(target=daemon)
    t.start()
    refused = client.post(f"/api/v1/chat/chats/{chat}/decline", headers={"X-CSRF-Token": csrf(client)})
    t.join()
    assert refused.status_code == 409 and refused.json["error"]["id"] == "offer_gone"
    bad = client.post(f"/api/v1/chat/chats/{chat}/transfer", headers={"X-CSRF-Token": csrf(client)},
                      json={"target": "phone:1"})
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "target"


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


def test_the_console_stream_offers_then_holds_a_chat(app, client, login, login_form, csrf, world,
                                                      clean, redis_client) -> None:
    agent1 = _user(app, "agent1")
    chat = _chat(app, world, agent=None, status="offered")
    login(AGENT1)
    other = app.test_client()  # the console's second request, while the stream is open
    assert login_form(other, AGENT1).status_code == 302
    resp = client.get("/agent/chats/stream", buffered=False)
    events = _events(resp)
    try:
        assert next(events) == ("ready", {"held": [], "offers": []})
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "chat.offered", tenant_id=world.acme_tenant, chat_id=chat, user_id=agent1))  # not ours
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "chat.offered", tenant_id=world.demo_tenant, chat_id=chat, user_id=agent1,
            queue_id=None, timeout_s=20))
        name, doc = next(events)
        assert name == "offer" and doc["chat"]["visitor_name"] == "Anna"
        with transaction(app.extensions["centrala"].sessions) as s:  # what the daemon writes
            row = s.get(Chat, chat)
            row.status, row.agent_user_id = "active", agent1
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "chat.assigned", tenant_id=world.demo_tenant, chat_id=chat, user_id=agent1))
        name, doc = next(events)
        assert name == "chat" and [m["body"] for m in doc["messages"]] == ["Dzień dobry"]
        redis_client.xadd(f"centrala:web:chat:{chat}", {"data": json.dumps(
            {"kind": "typing", "author": "visitor", "typing": True})})
        assert next(events) == ("typing", {"kind": "typing", "author": "visitor", "typing": True,
                                           "chat_id": chat})
        other.post(f"/api/v1/chat/chats/{chat}/messages", headers={"X-CSRF-Token": csrf(other)},
                   json={"body": "W czym pomóc?"})
        name, doc = next(events)
        assert name == "message" and (doc["seq"], doc["chat_id"]) == (2, chat)
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "chat.ended", tenant_id=world.demo_tenant, chat_id=chat, by="visitor", status="ended"))
        assert next(events) == ("ended", {"chat_id": chat, "by": "visitor", "status": "ended"})
    finally:
        resp.close()


def test_a_supervisor_watches_a_chat_of_their_tenant_only(app, client, login, world, clean) -> None:
    chat = _chat(app, world, agent=_user(app, "agent1"))
    login(SUPERVISOR)
    assert client.get(f"/agent/chats/{chat}/watch").status_code == 200
    assert [c["id"] for c in client.get("/api/v1/chat/chats").json["chats"]] == [chat]
    resp = client.get(f"/agent/chats/{chat}/stream", buffered=False)
    try:
        name, doc = next(_events(resp))
        assert (name, doc["seq"], doc["body"]) == ("message", 1, "Dzień dobry")
    finally:
        resp.close()
    client.post("/logout")
    login(ACME_ADMIN)
    assert client.get(f"/agent/chats/{chat}/watch").status_code == 404
    assert client.get(f"/api/v1/chat/chats/{chat}").status_code == 404
