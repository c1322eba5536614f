"""The agents' interaction streams under load: one events reader per panel waking only the
cards an event may change (:mod:`controlplane.desktop.http.waker`), and the open streams'
sessions re-read together (:mod:`web.stream_sessions`). Real SQLite and Redis."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from controlplane.bus import EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, acd_key, event_fields
from controlplane.db import transaction
from controlplane.desktop.http import stream as desktop_stream
from controlplane.desktop.http.waker import EVERYONE, CardWaker, audience, audiences_of, parsed
from controlplane.models import User
from controlplane.security import panel_sessions
from controlplane.seed import DEMO_DOMAIN
from web.session_cookie import lifetimes
from web.stream_sessions import SessionWatch

AGENT1 = f"agent1@{DEMO_DOMAIN}"


def user_id(app, tenant: int, login: str) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["centrala"].sessions() as s:
        uid = s.scalar(select(User.id).where(User.tenant_id == tenant, User.login == login))
    assert uid is not None
    return int(uid)


def panel_session_id(app, uid: int) -> int:  # type: ignore[no-untyped-def]
    with app.extensions["centrala"].sessions() as s:
        return max(i.id for i in panel_sessions.of_user(s, uid) if i.revoked_at is None)


def data(**fields: object) -> dict[str, str]:
    return {"data": json.dumps(fields)}


ON_PHONE = {"c1": "demo-1001"}  # the live-calls hash, as the waker reads it


@pytest.mark.parametrize(("fields", "who"), [
    (data(type="agent.status", tenant_id=3, agent="17", to="break"), {("agent", 3, 17)}),
    (data(type="agent.break", tenant_id=3, agent=17), {("agent", 3, 17)}),
    (data(type="agent.status", tenant_id=3), {("tenant", 3)}),  # no agent named: all of it
    (data(type="call.ringing", tenant_id=3, call_id="c1"),
     {("call", "c1"), ("endpoint", "demo-1001")}),  # its card, and the phone it rings on
    (data(type="call.ended", tenant_id=3, call_id="c2"), {("call", "c2")}),  # gone: its card
    (data(type="call.talking", call_id="c1"), {("call", "c1"), ("endpoint", "demo-1001")}),
    (data(type="supervision.changed", tenant_id=3, call_id="c2"), {("call", "c2")}),
    (data(type="something.new", tenant_id=3), {("tenant", 3)}),
    (data(type="queue.stats", tenant_id=3), set()),
    (data(type="queue.answered", tenant_id=3, call_id="c1"), set()),
    (data(type="chat.offered", tenant_id=3), set()),
    (data(type="something.new"), {EVERYONE}),  # no tenant: anyone's
    ({"data": "{not json"}, {EVERYONE}),
    ({"data": "[1, 2]"}, {EVERYONE}),
    ({b"data": b'{"type": "agent.status", "tenant_id": 1, "agent": "2"}'}, {("agent", 1, 2)}),
])
def test_audience_of_each_event(fields, who) -> None:  # type: ignore[no-untyped-def]
    assert audience(parsed(fields), ON_PHONE.get) == who


def test_the_waker_wakes_the_named_agent_and_the_phone_of_a_call_only(  # type: ignore[no-untyped-def]
        app, world, redis_client):
    a1 = user_id(app, world.demo_tenant, "agent1")
    a2 = user_id(app, world.demo_tenant, "agent2")
    me = audiences_of(world.demo_tenant, a1, [world.agent1_endpoint], None)
    other = audiences_of(world.demo_tenant, a2, [world.agent2_endpoint], None)
    acme = audiences_of(world.acme_tenant, 999, ["acme-2001"], None)
    waker = CardWaker(app.extensions["centrala"].redis, EVENTS_STREAM, block_ms=200).start()
    v1, v2 = waker.version(me), waker.version(other)
    # started: what is added now is read (the waker starts after the newest entry, not "$")
    redis_client.xadd(EVENTS_STREAM, event_fields("agent.status", tenant_id=world.demo_tenant,
                                                  agent=str(a2)))
    assert waker.wait(other, v2, 5.0) is not None
    assert waker.version(me) == v1  # agent2's status: not agent1's card
    v2 = waker.version(other)
    put(redis_client, "waker-x", world.acme_tenant, "acme-2001")
    put(redis_client, "waker-y", world.demo_tenant, world.agent2_endpoint)
    try:
        before = waker.version(acme)
        redis_client.xadd(EVENTS_STREAM, event_fields("queue.stats", tenant_id=world.demo_tenant))
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "call.talking", tenant_id=world.acme_tenant, call_id="waker-x"))
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "call.ringing", tenant_id=world.demo_tenant, call_id="waker-y"))
        assert waker.wait(acme, before, 5.0) is not None
        assert waker.wait(other, v2, 5.0) is not None  # rings on agent2's phone
        assert waker.version(me) == v1  # another tenant's call, queue figures, agent2's call
        shown = audiences_of(world.demo_tenant, a1, [world.agent1_endpoint], "waker-y")
        redis_client.hdel(LIVE_CALLS_KEY, "waker-y")
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "call.ended", tenant_id=world.demo_tenant, call_id="waker-y"))
        assert waker.wait(shown, v1, 5.0) is not None  # a card showing the call wakes
    finally:
        redis_client.hdel(LIVE_CALLS_KEY, "waker-x", "waker-y")


def put(r, call_id: str, tenant: int, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC).isoformat()
    r.hset(LIVE_CALLS_KEY, call_id, LiveCall(call_id, tenant, "inbound", "ringing", "+4822",
                                             "+4822", None, endpoint, now).to_json())


def test_session_watch_reads_all_open_sessions_in_one_query(app, world) -> None:  # type: ignore[no-untyped-def]
    svc = app.extensions["centrala"]
    now = datetime.now(UTC)
    ids = []
    with transaction(svc.sessions) as s:
        for login in ("agent1", "agent2"):
            user = s.scalar(select(User).where(User.tenant_id == world.demo_tenant,
                                               User.login == login))
            _token, info = panel_sessions.start(
                s, user_id=user.id, password_hash=user.password_hash, source="test",
                user_agent="test", now=now, lifetimes=lifetimes(app))
            ids.append(info.id)
    watch = SessionWatch(svc.sessions, lambda: datetime.now(UTC), recheck_s=3600)
    statements: list[str] = []

    def count(*a: object) -> None:
        statements.append(str(a[2]))

    event.listen(svc.engine, "before_cursor_execute", count)
    try:
        for sid in ids * 3:
            watch.open(sid)
        assert all(watch.live(sid) for sid in ids * 50)
        assert watch.reads == 1 and len(statements) == 1  # 6 streams, 100 questions: one read
        with transaction(svc.sessions) as s:
            panel_sessions.revoke(s, ids[0], "logout", now)
        assert watch.live(ids[0])  # until the next re-read
        watch.recheck_s = 0
        statements.clear()
        assert not watch.live(ids[0]) and watch.live(ids[1])
        assert watch.reads == 3 and len(statements) == 2
        for sid in ids * 3:
            watch.close(sid)
        statements.clear()
        assert not watch.live(ids[1]) and statements == []  # nothing held: nothing read
    finally:
        event.remove(svc.engine, "before_cursor_execute", count)


def test_a_stream_reads_no_sql_for_other_agents_or_their_calls_and_shows_its_own(app, client, login, world,  # type: ignore[no-untyped-def]
                                                                  redis_client):
    a1 = user_id(app, world.demo_tenant, "agent1")
    a2 = user_id(app, world.demo_tenant, "agent2")
    login(AGENT1)
    resp = client.get("/agent/interaction/stream", buffered=False)
    chunks = iter(resp.response)
    svc = app.extensions["centrala"]
    statements: list[str] = []

    def count(*a: object) -> None:
        statements.append(str(a[2]))

    try:
        assert "event: card" in next(chunks).decode()
        waker, watch = app.extensions[desktop_stream.EXTENSION]
        watch.recheck_s = 3600  # no session re-read inside this test's window
        assert watch.live(panel_session_id(app, a1))  # (the first re-read, made now)
        event.listen(svc.engine, "before_cursor_execute", count)
        other = audiences_of(world.demo_tenant, a2, [world.agent2_endpoint], None)
        before = waker.version(other)
        put(redis_client, "waker-z", world.demo_tenant, world.agent2_endpoint)
        for _ in range(5):
            redis_client.xadd(EVENTS_STREAM, event_fields(
                "agent.status", tenant_id=world.demo_tenant, agent=str(a2), to="ready"))
            redis_client.xadd(EVENTS_STREAM, event_fields(
                "call.ringing", tenant_id=world.demo_tenant, call_id="waker-z"))
        assert waker.wait(other, before, 5.0) is not None
        assert all(next(chunks).startswith(b":") for _ in range(3))  # keep-alives only
        assert statements == []
        redis_client.hset(acd_key(world.demo_tenant, "agents"), str(a1), json.dumps(
            {"agent": str(a1), "status": "break", "reason": "unknown-code",
             "since": time.time()}))
        redis_client.xadd(EVENTS_STREAM, event_fields(
            "agent.status", tenant_id=world.demo_tenant, agent=str(a1), to="break"))
        for _ in range(20):
            text = next(chunks).decode()
            if "event: card" in text:
                card = json.loads(text.split("data: ", 1)[1])
                break
        else:
            raise AssertionError("no card for agent1's own status")
        assert card["agent"]["status"] == "break"
        # the break labels, re-read once for a reason the card did not know, and the one
        # query every build of the agent's own card makes: their routed tickets (offers, held)
        assert len(statements) == 2, statements
        assert "break_reason" in statements[0] and "ticket_route" in statements[1]
    finally:
        event.remove(svc.engine, "before_cursor_execute", count)
        redis_client.hdel(acd_key(world.demo_tenant, "agents"), str(a1))
        redis_client.hdel(LIVE_CALLS_KEY, "waker-z")
        resp.close()


def test_a_stream_ends_once_its_session_is_ended_elsewhere(app, client, login, world,  # type: ignore[no-untyped-def]
                                                          redis_client):
    a1 = user_id(app, world.demo_tenant, "agent1")
    login(AGENT1)
    resp = client.get("/agent/interaction/stream", buffered=False)
    chunks = iter(resp.response)
    try:
        assert "event: card" in next(chunks).decode()
        _waker, watch = app.extensions[desktop_stream.EXTENSION]
        watch.recheck_s = 0.1
        with transaction(app.extensions["centrala"].sessions) as s:
            assert panel_sessions.revoke_user(s, a1, "force", datetime.now(UTC))
        ended = False
        for _ in range(50):  # keep-alives every 0.2 s; the stream must end within a few
            try:
                next(chunks)
            except StopIteration:
                ended = True
                break
        assert ended
    finally:
        resp.close()
