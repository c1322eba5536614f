"""Live calls from the real Redis hash and the server-sent event stream."""

from __future__ import annotations

import json
from collections.abc import Iterator

import redis

from controlplane.bus import EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, event_fields
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


def put_call(r: redis.Redis, call_id: str, tenant_id: int | None, agent: str | None) -> None:
    call = LiveCall(
        call_id=call_id,
        tenant_id=tenant_id,
        direction="inbound",
        state="up",
        caller=f"+48700{call_id[-3:]}",
        callee="1001",
        did="48221000001",
        agent_endpoint=agent,
        started_at="2025-03-10T12:00:00+00:00",
    )
    r.hset(LIVE_CALLS_KEY, call_id, call.to_json())


def live_ids(client) -> set[str]:
    resp = client.get("/api/v1/calls/live")
    assert resp.status_code == 200
    return {c["call_id"] for c in resp.get_json()["calls"]}


def seed_live(r: redis.Redis, world) -> None:
    put_call(r, "demo-001", world.demo_tenant, world.agent1_endpoint)
    put_call(r, "demo-002", world.demo_tenant, world.agent2_endpoint)
    put_call(r, "acme-003", world.acme_tenant, "acme-2001")
    put_call(r, "none-004", None, None)  # not yet attributed to a tenant: nobody sees it
    r.hset(LIVE_CALLS_KEY, "broken", "{not json")


def test_live_calls_only_own_tenant(client, login, world, redis_client):
    seed_live(redis_client, world)
    login(ADMIN)
    assert live_ids(client) == {"demo-001", "demo-002"}
    page = client.get("/calls/live").get_data(as_text=True)
    assert "+48700001" in page and "+48700002" in page
    assert "+48700003" not in page


def test_live_calls_other_tenant(client, login, world, redis_client):
    seed_live(redis_client, world)
    login(ACME_ADMIN)
    assert live_ids(client) == {"acme-003"}


def test_agent_sees_only_own_live_calls(client, login, world, redis_client):
    seed_live(redis_client, world)
    login(AGENT1)
    assert live_ids(client) == {"demo-001"}


def test_live_page_falls_back_to_meta_refresh_without_js(client, login):
    login(ADMIN)
    page = client.get("/calls/live").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert 'data-stream="/calls/live/stream"' in page


class Events:
    """Reads a streamed SSE response; every read is bounded by the stream's block time."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks

    def next_event(self, max_chunks: int = 20) -> tuple[str, dict[str, str]]:
        for _ in range(max_chunks):
            text = next(self.chunks).decode()
            if text.startswith(":"):
                continue  # keep-alive
            fields = {}
            for line in text.strip().splitlines():
                key, _, value = line.partition(": ")
                fields[key] = value
            return fields["event"], fields
        raise AssertionError(f"no event within {max_chunks} chunks")

    def only_keepalives(self, chunks: int) -> bool:
        return all(next(self.chunks).startswith(b":") for _ in range(chunks))


def open_stream(client, headers=None):
    resp = client.get("/calls/live/stream", buffered=False, headers=headers or {})
    assert resp.status_code == 200
    assert resp.mimetype == "text/event-stream"
    return resp, Events(iter(resp.response))


def test_stream_sends_snapshot_then_changes(client, login, world, redis_client):
    login(ADMIN)
    resp, events = open_stream(client)
    try:
        kind, first = events.next_event()
        assert kind == "calls"
        assert json.loads(first["data"]) == []

        put_call(redis_client, "demo-101", world.demo_tenant, world.agent1_endpoint)
        redis_client.xadd(EVENTS_STREAM, event_fields("call_started", call_id="demo-101"))
        kind, second = events.next_event()
        assert kind == "calls"
        assert [c["call_id"] for c in json.loads(second["data"])] == ["demo-101"]
        assert second["id"] == redis_client.xrevrange(EVENTS_STREAM, count=1)[0][0]

        redis_client.hdel(LIVE_CALLS_KEY, "demo-101")
        redis_client.xadd(EVENTS_STREAM, event_fields("call_ended", call_id="demo-101"))
        kind, third = events.next_event()
        assert json.loads(third["data"]) == []
    finally:
        resp.close()


def test_stream_ignores_other_tenants_events(client, login, world, redis_client):
    login(ADMIN)
    resp, events = open_stream(client)
    try:
        assert events.next_event()[0] == "calls"
        put_call(redis_client, "acme-201", world.acme_tenant, "acme-2001")
        redis_client.xadd(EVENTS_STREAM, event_fields("call_started", call_id="acme-201"))
        assert events.only_keepalives(3)  # nothing about the other tenant, not even a wake-up
    finally:
        resp.close()


def test_stream_resumes_from_last_event_id(client, login, world, redis_client):
    login(ADMIN)
    last = redis_client.xadd(EVENTS_STREAM, event_fields("noop"))
    put_call(redis_client, "demo-301", world.demo_tenant, None)
    redis_client.xadd(EVENTS_STREAM, event_fields("call_started", call_id="demo-301"))
    resp, events = open_stream(client, {"Last-Event-ID": last})
    try:
        kind, first = events.next_event()
        assert [c["call_id"] for c in json.loads(first["data"])] == ["demo-301"]
        assert first["id"] == last  # the snapshot is as of the id the client gave
    finally:
        resp.close()


def test_stream_ends_after_max_age(app, client, login):
    app.config["SSE_MAX_AGE_S"] = 0.3
    login(ADMIN)
    resp, events = open_stream(client)
    try:
        chunks = list(events.chunks)
        assert chunks[0].startswith(b"retry: 2000\n")
        assert len(chunks) <= 4
    finally:
        resp.close()
