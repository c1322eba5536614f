"""The live wallboard: the day's figures from the durable logs (real SQLite), surviving a
control-plane restart, read incrementally, pushed over SSE, and computed once per tenant
however many screens watch (queries counted on the real engine)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from controlplane.acd.http.wallboard import EXTENSION
from controlplane.acd.http.wallboard_cache import EventWaker, WallboardCache, board_stream
from controlplane.acd.http.wallboard_source import WallboardSource, day_start
from controlplane.bus import EVENTS_STREAM, event_fields
from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"TESTING": True, "SSE_BLOCK_MS": 200, "SSE_MAX_AGE_S": 3.0,
            "WALLBOARD_REFRESH_S": 0.0}


@pytest.fixture
def floor(app: Any, world: Any, clock: Any) -> Iterator[dict[str, Any]]:
    """A queue of the demo tenant with agent1 as member, and today's log so far: three
    calls entered; one answered in 10 s and talked 120 s, one answered in 30 s still
    talking, one abandoned; agent1 ready since 08:00 (the clock is 12:00 UTC)."""
    clock.now = clock.now.replace(hour=12, minute=0, second=0, microsecond=0)
    factory = app.extensions["centrala"].sessions
    now = clock.now
    with transaction(factory) as s:
        agent = s.scalar(select(User).where(User.tenant_id == world.demo_tenant,
                                            User.login == "agent1"))
        assert agent is not None
        q = Queue(tenant_id=world.demo_tenant, name=f"wb-{uuid.uuid4().hex[:6]}",
                  sl_threshold_s=20.0)
        s.add(q)
        s.flush()
        s.add(QueueMember(queue_id=q.id, user_id=agent.id))

        def row(call: str, kind: str, minutes_ago: float, user: int | None = None) -> QueueLog:
            return QueueLog(tenant_id=world.demo_tenant, queue_id=q.id, interaction_id=call,
                            kind=kind, at=now - timedelta(minutes=minutes_ago), user_id=user)

        s.add_all([
            # yesterday: not today's
            row("y1", "enter", 13 * 60), row("y1", "answer", 13 * 60 - 0.1, agent.id),
            row("c1", "enter", 60), row("c1", "answer", 60 - 10 / 60, agent.id),
            row("c1", "end", 60 - 130 / 60),
            row("c2", "enter", 30), row("c2", "answer", 29.5, agent.id),
            row("c3", "enter", 20), row("c3", "abandon", 19),
        ])
        s.add(AgentStatusLog(tenant_id=world.demo_tenant, user_id=agent.id,
                             from_status="logged_out", to_status="ready", reason=None,
                             at=now - timedelta(hours=4)))
        ids = {"queue": q.id, "agent": agent.id}
    yield ids
    with transaction(factory) as s:
        s.query(QueueLog).filter(QueueLog.queue_id == ids["queue"]).delete()
        s.query(AgentStatusLog).filter(AgentStatusLog.at >= now - timedelta(days=1)).delete()
        s.query(QueueMember).filter(QueueMember.queue_id == ids["queue"]).delete()
        s.query(Queue).filter(Queue.id == ids["queue"]).delete()


def queue_of(board: dict[str, Any], queue_id: int) -> dict[str, Any]:
    return next(q for q in board["queues"] if q["queue_id"] == queue_id)


def test_day_starts_at_local_midnight() -> None:
    noon = datetime(2026, 7, 1, 12, tzinfo=UTC).timestamp()
    assert day_start(noon, "UTC") == datetime(2026, 7, 1, tzinfo=UTC).timestamp()
    # Warsaw is UTC+2 in July: its midnight is 22:00 UTC the day before
    assert day_start(noon, "Europe/Warsaw") == datetime(2026, 6, 30, 22, tzinfo=UTC).timestamp()
    assert day_start(noon, "Not/AZone") == day_start(noon, "UTC")


def test_figures_of_the_day_come_from_the_queue_log(client, login, floor, redis_client):  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    board = client.get("/api/v1/wallboard").get_json()
    q = queue_of(board, floor["queue"])
    assert (q["entered"], q["answered"], q["abandoned"]) == (3, 2, 1)
    assert q["avg_handle_s"] == 120.0  # only c1 ended
    assert q["answered_in_threshold"] == 1 and q["service_level_pct"] == pytest.approx(33.3)
    assert q["levels"]["service_level_pct"] == "alarm"
    assert q["agents"]["logged_out"] == 1  # nothing in the live mirror
    agent = next(a for a in board["agents"] if a["user_id"] == floor["agent"])
    assert agent["calls_today"] == 2  # yesterday's answer not counted
    assert board["totals"]["answered"] >= 2


def test_a_control_plane_restart_changes_no_figure(app, client, login, floor, redis_client):  # type: ignore[no-untyped-def]
    """The daemon's rolling statistics (the Redis ``stats`` key) are gone after a restart,
    and a new panel process starts with an empty cache: the day's figures are the same."""
    login(SUPERVISOR)
    before = queue_of(client.get("/api/v1/wallboard").get_json(), floor["queue"])
    redis_client.flushall()  # the mirror and the published stats lost
    app.extensions.pop(EXTENSION)  # a fresh process: nothing cached
    after = queue_of(client.get("/api/v1/wallboard").get_json(), floor["queue"])
    keys = ("entered", "answered", "abandoned", "avg_handle_s", "service_level_pct")
    assert {k: after[k] for k in keys} == {k: before[k] for k in keys}


def test_new_rows_are_read_incrementally(app, client, login, world, floor, clock):  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    assert queue_of(client.get("/api/v1/wallboard").get_json(), floor["queue"])["answered"] == 2
    statements: list[str] = []
    engine = app.extensions["centrala"].engine
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with transaction(app.extensions["centrala"].sessions) as s:
            s.add(QueueLog(tenant_id=world.demo_tenant, queue_id=floor["queue"], interaction_id="c4",
                           kind="enter", at=clock.now))
        assert queue_of(client.get("/api/v1/wallboard").get_json(),
                        floor["queue"])["entered"] == 4
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    reads = [q for q in statements if "FROM acd_queue_log" in q and "SELECT" in q]
    assert reads and all("acd_queue_log.id >" in q for q in reads)


def count_queries(engine: Any) -> tuple[list[str], Any]:
    seen: list[str] = []

    def listener(*a: Any) -> None:
        seen.append(a[2])

    event.listen(engine, "before_cursor_execute", listener)
    return seen, listener


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_db_load_does_not_grow_with_viewers(app, world, floor, clock):  # type: ignore[no-untyped-def]
    """N screens of a tenant cost the queries of one: 1 viewer vs 50, three refreshes each."""
    svc = app.extensions["centrala"]
    counts = {}
    for viewers in (1, 50):
        source = WallboardSource(svc.sessions, svc.redis, lambda: clock.now.timestamp())
        fake = FakeClock()
        cache = WallboardCache(source.compute, refresh_s=1.0, clock=fake)
        seen, listener = count_queries(svc.engine)
        try:
            streams = [board_stream(cache, world.demo_tenant, max_age_s=60)
                       for _ in range(viewers)]
            firsts = [next(st) for st in streams]  # each screen's snapshot
            assert len({f.split("data: ", 1)[1] for f in firsts}) == 1
            for _ in range(2):
                fake.t += 1.0
                for _ in range(viewers):
                    cache.get(world.demo_tenant)
            for st in streams:
                st.close()
        finally:
            event.remove(svc.engine, "before_cursor_execute", listener)
        counts[viewers] = (len(seen), cache.computations)
    assert counts[50] == counts[1], counts
    assert counts[1][1] == 3


def test_concurrent_viewers_of_a_stale_board_compute_it_once(app, world, floor, clock):  # type: ignore[no-untyped-def]
    svc = app.extensions["centrala"]
    source = WallboardSource(svc.sessions, svc.redis, lambda: clock.now.timestamp())
    cache = WallboardCache(source.compute, refresh_s=60.0)
    start = threading.Barrier(20)

    def viewer() -> None:
        start.wait()
        cache.get(world.demo_tenant)

    threads = [threading.Thread(target=viewer) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert cache.computations == 1


def test_an_event_of_the_tenant_brings_the_recomputation_forward(app, world, floor, clock):  # type: ignore[no-untyped-def]
    """A poke makes the board due after ``min_interval_s`` instead of ``refresh_s``; many
    pokes in that interval cost one computation; another tenant's poke changes nothing."""
    svc = app.extensions["centrala"]
    source = WallboardSource(svc.sessions, svc.redis, lambda: clock.now.timestamp())
    fake = FakeClock()
    cache = WallboardCache(source.compute, refresh_s=5.0, min_interval_s=0.2, clock=fake)
    cache.get(world.demo_tenant)
    fake.t += 0.1
    for _ in range(10):
        cache.poke(world.demo_tenant)
        cache.poke(world.acme_tenant)  # not watched: ignored
    cache.get(world.demo_tenant)
    assert cache.computations == 1  # not before min_interval_s
    fake.t += 0.15
    cache.get(world.demo_tenant)
    cache.get(world.demo_tenant)
    assert cache.computations == 2  # due at 0.2 s, once for the ten pokes
    fake.t += 1.0
    cache.get(world.demo_tenant)
    assert cache.computations == 2  # unpoked: the timed refresh again (5 s)
    assert not cache.watched(world.acme_tenant)


def test_the_waker_reads_the_events_stream(app, world, floor, clock, redis_client):  # type: ignore[no-untyped-def]
    """A real Redis: an event naming the tenant, XADDed as the daemon does, wakes a viewer
    waiting for the next board well before the timed refresh (60 s here)."""
    svc = app.extensions["centrala"]
    source = WallboardSource(svc.sessions, svc.redis, lambda: clock.now.timestamp())
    cache = WallboardCache(source.compute, refresh_s=60.0, min_interval_s=0.05)
    first = cache.get(world.demo_tenant)
    EventWaker(svc.redis, cache, EVENTS_STREAM, block_ms=200).start()
    poked = threading.Event()
    real_poke = cache.poke
    cache.poke = lambda tid: (real_poke(tid), poked.set())  # type: ignore[method-assign]
    deadline = time.monotonic() + 10
    while not poked.is_set() and time.monotonic() < deadline:  # the waker reads from "$"
        redis_client.xadd(EVENTS_STREAM, event_fields("agent.status", tenant_id=world.demo_tenant))
        poked.wait(0.3)
    assert poked.is_set(), "the waker never saw the event"
    # the viewer's wait ends in a recomputation after min_interval_s, not after 60 s
    cache.next_after(world.demo_tenant, first.version, timeout_s=0.5)
    assert cache.computations >= 2


def read_events(resp: Any, n: int) -> list[dict[str, str]]:
    out = []
    for chunk in resp.response:
        text = chunk.decode()
        if text.startswith(":"):
            continue
        fields = {}
        for line in text.strip().splitlines():
            key, _, value = line.partition(": ")
            fields[key] = value
        out.append(fields)
        if len(out) == n:
            break
    return out


def test_stream_sends_the_board_then_changes(app, client, login, floor, clock):  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = client.get("/api/v1/wallboard/stream", buffered=False)
    try:
        assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
        chunks = iter(resp.response)
        first = next(chunks).decode()
        assert "event: board" in first
        board = json.loads(first.split("data: ", 1)[1])
        assert queue_of(board, floor["queue"])["answered"] == 2
        with transaction(app.extensions["centrala"].sessions) as s:
            s.add(QueueLog(tenant_id=board["tenant_id"], queue_id=floor["queue"],
                           interaction_id="c5", kind="enter", at=clock.now))
            s.add(QueueLog(tenant_id=board["tenant_id"], queue_id=floor["queue"],
                           interaction_id="c5", kind="answer", at=clock.now,
                           user_id=floor["agent"]))
        for chunk in chunks:
            text = chunk.decode()
            if text.startswith("id:") and "event: board" in text:
                nxt = json.loads(text.split("data: ", 1)[1])
                if queue_of(nxt, floor["queue"])["answered"] == 3:
                    break
        else:
            raise AssertionError("no board with the new answer")
    finally:
        resp.close()


def test_roles_and_tenants(app, client, login, login_form, floor):  # type: ignore[no-untyped-def]
    login(ADMIN)
    assert client.get("/wallboard").status_code == 200
    assert client.get("/wallboard/screen").status_code == 200
    with app.test_client() as agent:
        assert login_form(agent, AGENT1).status_code == 302
        for url in ("/wallboard", "/wallboard/screen", "/api/v1/wallboard",
                    "/api/v1/wallboard/stream"):
            assert agent.get(url).status_code == 403, url
    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        theirs = acme.get("/api/v1/wallboard").get_json()
        assert floor["queue"] not in {q["queue_id"] for q in theirs["queues"]}
        assert floor["agent"] not in {a["user_id"] for a in theirs["agents"]}


def test_pages_in_polish(client, login, floor, demo_in_polish):  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    page = client.get("/wallboard").get_data(as_text=True)
    assert "Tablica" in page and "Odebrane dziś" in page and "Duży ekran" in page
    screen = client.get("/wallboard/screen").get_data(as_text=True)
    assert 'class="wb-screen"' in screen and "<nav" not in screen
    assert "Czas w stanie" in screen and "lvl-alarm" in screen  # SL 33 % is red


def test_an_open_stream_ends_when_its_session_is_ended(app, client, login, person):  # type: ignore[no-untyped-def]
    """The session is re-read every WALLBOARD_RECHECK_S (0.3 s here), not on every push."""
    import time

    from .conftest import PASSWORD, do_login

    uid, address = person
    app.config.update(SSE_MAX_AGE_S=30.0, WALLBOARD_RECHECK_S=0.3)
    login(address)
    resp = client.get("/api/v1/wallboard/stream", buffered=False)
    try:
        chunks = iter(resp.response)
        assert b"event: board" in next(chunks)
        with app.test_client() as admin:
            assert do_login(admin, ADMIN, PASSWORD).status_code == 302
            with admin.session_transaction() as sess:
                token = sess["csrf"]
            assert admin.post(f"/api/v1/users/{uid}/sessions/revoke",
                              headers={"X-CSRF-Token": token}).get_json() == {"revoked": 1}
        started = time.monotonic()
        list(chunks)  # ends
        assert time.monotonic() - started < 10
    finally:
        resp.close()
