"""The chat widget's visitor API: CORS for the widget's websites only, validation naming the
field, rate limits, the chat row and the daemon's command, the transcript in a ticket, the
offline form, and the SSE stream resuming after a dropped connection without loss or
doubles."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from controlplane.bus import COMMANDS_STREAM, EVENTS_STREAM, event_fields
from controlplane.db import transaction
from controlplane.models.chat import Chat, ChatMessage
from controlplane.models.chat_widgets import ChatWidget
from controlplane.models.tickets import Ticket, TicketMessage

SITE = "https://shop.example"


@pytest.fixture
def widget(app, world) -> Iterator[ChatWidget]:
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        row = ChatWidget(tenant_id=world.demo_tenant, key="cw_testkey_demo", identity_secret="s" * 64,
                         name="Shop", origins=[SITE], greetings={"new": "Witaj!"},
                         form_fields={"name": "required", "email": "optional", "phone": "off"},
                         hours=None, title="Shop chat", color="#123456", survey=True, active=True)
        s.add(row)
        s.flush()
        s.expunge(row)
    yield row
    with transaction(factory) as s:
        chats = list(s.scalars(select(Chat.id).where(Chat.tenant_id == world.demo_tenant)))
        s.execute(delete(ChatMessage).where(ChatMessage.chat_id.in_(chats)))
        s.execute(delete(Chat).where(Chat.id.in_(chats)))
        s.execute(delete(TicketMessage).where(TicketMessage.channel == "chat"))
        s.execute(delete(Ticket).where(Ticket.channel == "chat"))
        s.execute(delete(ChatWidget).where(ChatWidget.id == row.id))


def start(client, widget, **body):
    doc = {"name": "Anna", "message": "Dzień dobry, mam pytanie", **body}
    return client.post(f"/chat/api/w/{widget.key}/chats", json=doc, headers={"Origin": SITE})


def test_the_script_is_served_to_any_site(client) -> None:
    resp = client.get("/chat/widget.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert "attachShadow" in resp.get_data(as_text=True)


def test_config_answers_the_widgets_sites_only(client, widget) -> None:
    ok = client.get(f"/chat/api/w/{widget.key}/config", headers={"Origin": SITE})
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == SITE
    assert ok.json == {"title": "Shop chat", "color": "#123456", "greeting": "Witaj!",
                       "kind": "new", "open": True, "survey": True,
                       "fields": {"name": "required", "email": "optional", "phone": "off"}}
    other = client.get(f"/chat/api/w/{widget.key}/config", headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and other.json["error"]["id"] == "origin_refused"
    assert "Access-Control-Allow-Origin" not in other.headers
    pre = client.options(f"/chat/api/w/{widget.key}/chats", headers={
        "Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert pre.headers["Access-Control-Allow-Origin"] == SITE
    assert "Content-Type" in pre.headers["Access-Control-Allow-Headers"]
    assert client.get("/chat/api/w/cw_nosuchkey/config").status_code == 404


def test_bad_input_is_a_4xx_naming_the_field(client, widget) -> None:
    missing = start(client, widget, name="")
    assert missing.status_code == 400 and missing.json["error"]["details"]["field"] == "name"
    long = start(client, widget, message="x" * 4001)
    assert long.status_code == 400 and long.json["error"]["details"]["field"] == "message"
    extra = start(client, widget, admin=True)
    assert extra.status_code == 400 and extra.json["error"]["details"]["field"] == "admin"
    assert client.post("/chat/api/chats/nosuchchat00000000/messages", json={"body": "x"},
                       headers={"Origin": SITE}).status_code == 404


def test_a_chat_is_written_enqueued_and_its_transcript_threads_into_a_ticket(
        app, client, widget, redis_client) -> None:
    resp = start(client, widget, email="anna@example.com")
    assert resp.status_code == 201, resp.json
    public_id = resp.json["chat"]
    assert resp.json["greeting"] == "Witaj!" and resp.json["seq"] == 1
    factory = app.extensions["centrala"].sessions
    with factory() as s:
        chat = s.scalar(select(Chat).where(Chat.public_id == public_id))
        assert chat.status == "waiting" and chat.visitor_name == "Anna"
        chat_id = chat.id
    commands = [json.loads(f["data"]) for _id, f in redis_client.xrange(COMMANDS_STREAM)]
    assert {"cmd": "chat.enqueue", "tenant_id": widget.tenant_id, "actor_id": None,
            "chat_id": chat_id} in commands
    second = client.post(f"/chat/api/chats/{public_id}/messages", json={"body": "Halo?"},
                         headers={"Origin": SITE})
    assert second.status_code == 201 and second.json == {"seq": 2}
    with factory() as s:
        chat = s.get(Chat, chat_id)
        ticket = s.get(Ticket, chat.ticket_id)
        lines = list(s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
                               .order_by(TicketMessage.id)))
    assert ticket.channel == "chat" and ticket.requester == "anna@example.com"
    assert [(m.external_id, m.body) for m in lines] == [
        (f"chat:{chat_id}:1", "Dzień dobry, mam pytanie"), (f"chat:{chat_id}:2", "Halo?")]
    assert client.post(f"/chat/api/chats/{public_id}/leave", headers={"Origin": SITE}).json == {"ok": True}
    assert any(json.loads(f["data"])["cmd"] == "chat.leave"
               for _id, f in redis_client.xrange(COMMANDS_STREAM))


def test_the_rate_limit_answers_429(app, client, widget) -> None:
    app.config["CHAT_POSTS_PER_CHAT_MINUTE"] = 3
    public_id = start(client, widget).json["chat"]
    codes = [client.post(f"/chat/api/chats/{public_id}/messages", json={"body": f"m{n}"},
                         headers={"Origin": SITE}).status_code for n in range(5)]
    assert codes[:3] == [201, 201, 201] and codes[3:] == [429, 429]
    app.config["CHAT_STARTS_PER_IP_MINUTE"] = 1
    refused = start(client, widget)
    assert refused.status_code == 429 and refused.json["error"]["id"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) > 0


def test_outside_opening_hours_the_offline_form_opens_a_ticket(app, client, widget) -> None:
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        s.get(ChatWidget, widget.id).hours = {"days": ["sun"], "from": "00:00", "to": "00:01",
                                              "holidays": False, "calendars": []}
    assert client.get(f"/chat/api/w/{widget.key}/config").json["open"] is False
    closed = start(client, widget)
    assert closed.status_code == 409 and closed.json["error"]["id"] == "chat_closed"
    resp = client.post(f"/chat/api/w/{widget.key}/offline", headers={"Origin": SITE},
                       json={"name": "Jan", "email": "jan@example.com", "message": "Oddzwońcie"})
    assert resp.status_code == 201
    with factory() as s:
        ticket = s.scalar(select(Ticket).where(Ticket.tenant_id == widget.tenant_id,
                                               Ticket.number == resp.json["ticket"]))
        assert ticket.channel == "chat" and ticket.requester == "jan@example.com"


def test_identity_must_be_signed_by_the_website(client, widget) -> None:
    from controlplane.chat.widget_settings import sign
    bad = start(client, widget, identity={"id": "c-42", "name": "Ewa", "hash": "0" * 64})
    assert bad.status_code == 400 and bad.json["error"]["id"] == "bad_identity"
    good = start(client, widget, identity={"id": "c-42", "name": "Ewa",
                                           "hash": sign(widget.identity_secret, "c-42")})
    assert good.status_code == 201 and good.json["kind"] == "identified"


def _events(resp) -> Iterator[tuple[str, dict, str | None]]:
    buf = ""
    for chunk in resp.response:
        buf += chunk.decode()
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines()
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                yield fields["event"], json.loads(fields["data"]), fields.get("id")


def test_the_stream_resumes_after_a_dropped_connection_without_loss_or_doubles(
        app, client, widget, redis_client) -> None:
    public_id = start(client, widget).json["chat"]  # seq 1
    first = client.get(f"/chat/api/chats/{public_id}/stream", buffered=False,
                       headers={"Origin": SITE})
    assert first.headers["Access-Control-Allow-Origin"] == SITE
    events = _events(first)
    got = [next(events)]
    assert got[0][0] == "message" and got[0][2] == "1"
    first.close()  # the connection drops
    # While the visitor is away: their own message, and a system line only in the database
    # (as the daemon writes it) and announced by an event.
    client.post(f"/chat/api/chats/{public_id}/messages", json={"body": "two"},
                headers={"Origin": SITE})
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        chat = s.scalar(select(Chat).where(Chat.public_id == public_id))
        s.add(ChatMessage(tenant_id=chat.tenant_id, chat_id=chat.id, seq=3, author="system",
                          body="agent joined"))
        chat.status, chat_id = "active", chat.id
    again = client.get(f"/chat/api/chats/{public_id}/stream", buffered=False,
                       headers={"Origin": SITE, "Last-Event-ID": "1"})
    events = _events(again)
    try:
        seqs = []
        for name, doc, _id in events:
            if name == "message":
                seqs.append(doc["seq"])
            if name == "state":
                assert doc["status"] == "active"
                break
        assert seqs == [2, 3]
        # Live: a seq published past a gap (4 lost with Redis) is filled from the database.
        with transaction(factory) as s:
            s.add(ChatMessage(tenant_id=widget.tenant_id, chat_id=chat_id, seq=4,
                              author="system", body="lost publish"))
        client.post(f"/chat/api/chats/{public_id}/messages", json={"body": "five"},
                    headers={"Origin": SITE})
        redis_client.xadd(EVENTS_STREAM, event_fields("chat.ended", tenant_id=widget.tenant_id,
                                                      chat_id=chat_id, by="agent", status="ended"))
        live = []
        for name, doc, _id in events:
            live.append((name, doc.get("seq", doc.get("type"))))
            if name == "chat":
                break
        assert live == [("message", 4), ("message", 5), ("chat", "chat.ended")]
    finally:
        again.close()


def test_the_survey_is_answered_once(client, widget) -> None:
    public_id = start(client, widget).json["chat"]
    url = f"/chat/api/chats/{public_id}/survey"
    assert client.post(url, json={"score": 6}).json["error"]["details"]["field"] == "score"
    assert client.post(url, json={"score": 5, "comment": "Super"}).status_code == 201
    assert client.post(url, json={"score": 4}).status_code == 409
