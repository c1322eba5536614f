"""Webhooks end to end below the panel, with a real SQLite database, a real redis-server,
a real RQ worker and a real HTTP receiver: a call's ``call.ended`` written by the record
writer in the records' transaction, fanned out, signed, delivered and verified; a receiver
answering 500 gets retries with growing delays in the delivery log, then the dead letter,
then a replay; a job lost with its worker is queued again when its lease ends; repeated
failure disables the subscription and queues the admins' mail."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue, SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from webhook_receiver import Receiver

from controlplane.calls import machine as m
from controlplane.calls.record_writer import RecordWriter
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.migrate import upgrade
from controlplane.models import Tenant
from controlplane.models.outbox import JobOutbox
from controlplane.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from controlplane.webhooks import dispatch, store

T0 = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'hooks.db'}"
    upgrade(url)
    # the worker's job reads the same settings as production: from the environment
    monkeypatch.setenv("CENTRALA_DATABASE_URL", url)
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("CENTRALA_WEBHOOKS_ALLOW_PRIVATE", "1")
    engine = make_engine(url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def queue(redis_port: int) -> Iterator[Queue]:
    conn = redis.Redis(port=redis_port)
    conn.flushall()
    yield Queue("default", connection=conn)
    conn.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _tenant_and_hook(db: sessionmaker[Session], url: str,
                     events: tuple[str, ...] = ("call.ended",)) -> tuple[int, int, str]:
    with transaction(db) as s:
        t = Tenant(domain="hooks.example", name="Hooks")
        s.add(t)
        s.flush()
        sub = store.create(s, t.id, url, events, "test", True)
        return t.id, sub.id, sub.secret


def _work(queue: Queue) -> None:
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def _ended_call(tenant_id: int, call_id: str = "call-1") -> m.CallState:
    base = m.CallState(call_id, m.Phase.IVR, tenant_id, "inbound", "600100200", "48221000001",
                       "48221000001", "lab-carrier", None, T0, None, None)
    return replace(base, phase=m.Phase.ENDED, caller_alive=False,
                   ended_at=T0 + timedelta(seconds=4), hangup_cause=16,
                   hangup_cause_txt="Normal Clearing", hangup_by="caller")


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The recipe of the panel's page, as a receiver writes it."""
    ts, sig = headers["Centrala-Timestamp"], headers["Centrala-Signature"]
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, "v1=" + mac) and abs(time.time() - int(ts)) < 300


def _delivery(db: sessionmaker[Session]) -> WebhookDelivery:
    with db() as s:
        rows = list(s.scalars(select(WebhookDelivery)))
        assert len(rows) == 1
        return rows[0]


def _attempts(db: sessionmaker[Session]) -> list[WebhookAttempt]:
    with db() as s:
        return list(s.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number)))


async def test_a_receiver_gets_a_signed_call_ended_and_verifies_it(
        db: sessionmaker[Session], queue: Queue, receiver: Receiver, tmp_path: Path) -> None:
    tenant_id, _, secret = _tenant_and_hook(db, receiver.url)
    writer = RecordWriter(db, tmp_path, None)
    # started, queued and ended within one flush: all three events are still written
    writer.submit(replace(_ended_call(tenant_id), phase=m.Phase.IVR, ended_at=None))
    writer.submit(_ended_call(tenant_id))
    await writer.flush()
    writer.submit(_ended_call(tenant_id))  # written again (a restart): still one event
    await writer.close()
    with db() as s:
        types = sorted(e.type for e in s.scalars(select(WebhookEvent)))
    assert types == ["call.ended", "call.started"]

    ticked = dispatch.tick(db, queue, datetime.now(UTC))
    assert (ticked.fanned_out, ticked.queued) == (1, 1)  # only call.ended is subscribed
    _work(queue)

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert verify(secret, got.headers, got.body)
    assert not verify("whsec_wrong", got.headers, got.body)
    doc = json.loads(got.body)
    assert doc["type"] == "call.ended" and doc["tenant"] == "hooks.example"
    assert got.headers["Centrala-Event-Id"] == doc["id"]
    assert doc["data"]["call_id"] == "call-1" and doc["data"]["hangup_cause"] == 16
    assert _delivery(db).state == "delivered"
    [attempt] = _attempts(db)
    assert attempt.status_code == 200 and '"ok": true' in attempt.response_excerpt
    # nothing left to do: a second tick queues nothing
    assert dispatch.tick(db, queue, datetime.now(UTC)).queued == 0


def test_a_failing_receiver_gets_retries_with_growing_delays_then_dead_then_replay(
        db: sessionmaker[Session], queue: Queue, receiver: Receiver) -> None:
    tenant_id, _, secret = _tenant_and_hook(db, receiver.url)
    receiver.status = 500
    with transaction(db) as s:
        from controlplane.webhooks import outbox

        outbox.emit(s, "call.ended", tenant_id, {"call_id": "c-9"}, key=("c-9",))
    now = datetime.now(UTC)
    delays = []
    for _ in range(4):
        assert dispatch.tick(db, queue, now).queued == 1
        _work(queue)
        d = _delivery(db)
        assert d.state == "pending" and d.next_attempt_at is not None
        last = _attempts(db)[-1]  # the job's own clock: the delay counts from its attempt
        delays.append((d.next_attempt_at - last.at).total_seconds())
        # not due before its time
        assert dispatch.tick(db, queue, d.next_attempt_at - timedelta(seconds=1)).queued == 0
        now = d.next_attempt_at
    assert delays == [pytest.approx(v, rel=0.21) for v in (10, 30, 120, 300)]
    assert delays == sorted(delays)
    log = _attempts(db)
    assert [a.status_code for a in log] == [500] * 4 and [a.number for a in log] == [1, 2, 3, 4]
    bodies = {r.headers["Centrala-Event-Id"] for r in receiver.requests}
    assert len(bodies) == 1  # the same event id on every attempt
    assert all(verify(secret, r.headers, r.body) for r in receiver.requests)

    # past the 24-h window, the next failure is the last: dead
    later = now + timedelta(seconds=1)
    with transaction(db) as s:
        row = s.get(WebhookDelivery, d.id)
        assert row is not None
        row.retry_since = datetime.now(UTC) - timedelta(hours=24, seconds=1)
    assert dispatch.tick(db, queue, later).queued == 1
    _work(queue)
    d = _delivery(db)
    assert d.state == "dead" and d.next_attempt_at is None
    assert dispatch.tick(db, queue, later + timedelta(days=1)).queued == 0

    # replay from the dead letter: delivered once the receiver is fixed
    receiver.status = 204
    with transaction(db) as s:
        store.replay(store.delivery(s, tenant_id, d.id), datetime.now(UTC))
    assert dispatch.tick(db, queue, datetime.now(UTC)).queued == 1
    _work(queue)
    assert _delivery(db).state == "delivered"
    assert [a.status_code for a in _attempts(db)] == [500] * 5 + [204]


def test_a_job_lost_with_its_worker_is_queued_again_after_its_lease(
        db: sessionmaker[Session], queue: Queue, receiver: Receiver) -> None:
    tenant_id, _, _ = _tenant_and_hook(db, receiver.url)
    with transaction(db) as s:
        from controlplane.webhooks import outbox

        outbox.emit(s, "call.ended", tenant_id, {"call_id": "c-1"}, key=("c-1",))
    now = datetime.now(UTC)
    assert dispatch.tick(db, queue, now).queued == 1
    queue.connection.flushall()  # the job vanished (worker killed, Redis lost it)
    assert dispatch.tick(db, queue, now + timedelta(seconds=30)).queued == 0  # leased
    assert dispatch.tick(db, queue, now + dispatch.LEASE).queued == 1
    _work(queue)
    assert _delivery(db).state == "delivered" and len(receiver.requests) == 1


def test_repeated_failure_disables_the_subscription_and_queues_the_admins_mail(
        db: sessionmaker[Session], queue: Queue, receiver: Receiver) -> None:
    tenant_id, sub_id, _ = _tenant_and_hook(db, receiver.url)
    receiver.status = 503
    with transaction(db) as s:
        sub = s.get(WebhookSubscription, sub_id)
        assert sub is not None
        sub.consecutive_failures = 49
        sub.failing_since = datetime.now(UTC) - timedelta(hours=2)
        from controlplane.webhooks import outbox

        outbox.emit(s, "call.ended", tenant_id, {"call_id": "c-2"}, key=("c-2",))
    dispatch.tick(db, queue, datetime.now(UTC))
    _work(queue)
    with db() as s:
        sub = s.get(WebhookSubscription, sub_id)
        assert sub is not None and not sub.active and sub.disabled_at is not None
        assert "50 failed attempts" in sub.disabled_reason
        mails = [j.func for j in s.scalars(select(JobOutbox))]
    assert mails == ["controlplane.jobs.webhooks.notify_disabled"]
    # a disabled subscription's deliveries wait: nothing is queued for it
    assert dispatch.tick(db, queue, datetime.now(UTC) + timedelta(hours=1)).queued == 0


def test_private_targets_are_refused_at_delivery_unless_allowed(
        db: sessionmaker[Session], queue: Queue, receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    tenant_id, _, _ = _tenant_and_hook(db, receiver.url)
    monkeypatch.setenv("CENTRALA_WEBHOOKS_ALLOW_PRIVATE", "0")
    with transaction(db) as s:
        from controlplane.webhooks import outbox

        outbox.emit(s, "call.ended", tenant_id, {"call_id": "c-3"}, key=("c-3",))
    dispatch.tick(db, queue, datetime.now(UTC))
    _work(queue)
    assert receiver.requests == []
    [attempt] = _attempts(db)
    assert attempt.status_code is None and "loopback" in attempt.error
    assert _delivery(db).state == "pending"


def test_old_finished_events_are_forgotten_pending_ones_kept(
        db: sessionmaker[Session], queue: Queue, receiver: Receiver) -> None:
    tenant_id, _, _ = _tenant_and_hook(db, receiver.url)
    receiver.status = 500
    with transaction(db) as s:
        from controlplane.webhooks import outbox

        outbox.emit(s, "call.ended", tenant_id, {"call_id": "old-1"}, key=("old-1",))
        outbox.emit(s, "call.ended", tenant_id, {"call_id": "old-2"}, key=("old-2",))
    now = datetime.now(UTC)
    dispatch.tick(db, queue, now)
    _work(queue)
    with transaction(db) as s:  # one delivery is finished (dead), one still pending
        first = s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).first()
        assert first is not None
        first.state = "dead"
    dispatch.tick(db, queue, now + dispatch.KEEP + timedelta(seconds=1))
    with db() as s:
        left = [e.payload["call_id"] for e in s.scalars(select(WebhookEvent))]
        deliveries = list(s.scalars(select(WebhookDelivery)))
        attempts = list(s.scalars(select(WebhookAttempt)))
    assert left == ["old-2"]
    assert len(deliveries) == 1 and {a.delivery_id for a in attempts} == {deliveries[0].id}


def test_a_tick_without_prune_keeps_old_events_and_the_loop_prunes_once_a_minute(
        db: sessionmaker[Session], queue: Queue, receiver: Receiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Pruning is a daily matter: the loop asks for it once per ``PRUNE_EVERY``, and a tick
    told not to prune leaves old finished events alone."""
    from controlplane.webhooks import outbox
    from controlplane.webhooks.service import WebhookDispatcher

    tenant_id, _, _ = _tenant_and_hook(db, receiver.url, events=("call.started",))
    with transaction(db) as s:  # wanted by nobody: fanned out to no delivery, then old
        outbox.emit(s, "call.ended", tenant_id, {"call_id": "old-3"}, key=("old-3",))
    now = datetime.now(UTC)
    dispatch.tick(db, queue, now)
    later = now + dispatch.KEEP + timedelta(seconds=1)
    dispatch.tick(db, queue, later, prune=False)
    with db() as s:
        assert [e.payload["call_id"] for e in s.scalars(select(WebhookEvent))] == ["old-3"]

    calls: list[bool] = []
    third = threading.Event()

    def counting_tick(*args: object, prune: bool = True, **kw: object) -> None:
        calls.append(prune)  # in the loop's worker thread (to_thread)
        if len(calls) >= 3:
            third.set()

    async def three_ticks() -> None:
        d = WebhookDispatcher(db, queue, every_s=0.001)
        task = asyncio.create_task(d.run())
        assert await asyncio.to_thread(third.wait, 10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    import controlplane.webhooks.service as service_module
    monkeypatch.setattr(service_module, "tick", counting_tick)
    asyncio.run(asyncio.wait_for(three_ticks(), 10))
    assert calls[:3] == [True, False, False]
