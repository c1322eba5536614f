"""The write-behind writer of call records (calls/record_writer.py), on SQLite and PostgreSQL:
coalescing, retry while the database fails, durable ENDED before follow-ups, the Redis
mirror in order, flush on stop."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls import machine as m
from controlplane.calls import records
from controlplane.calls.record_writer import RecordWriter
from controlplane.db import make_engine, make_sessionmaker
from controlplane.live import EVENTS_STREAM, LIVE_CALLS_KEY
from controlplane.migrate import upgrade
from controlplane.models import CallRecord

T0 = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)


def state(call_id: str, phase: m.Phase = m.Phase.IVR, **kw) -> m.CallState:  # type: ignore[no-untyped-def]
    base = m.CallState(call_id, phase, None, "inbound", "600100200", "48221000001",
                       "48221000001", "lab-carrier", None, T0, None, None,
                       platform_answered_at=T0 + timedelta(seconds=0.1))
    return replace(base, **kw)


def ended(call_id: str) -> m.CallState:
    return state(call_id, m.Phase.ENDED, caller_alive=False, ended_at=T0 + timedelta(seconds=4),
                 hangup_cause=16, hangup_cause_txt="Normal Clearing", hangup_by="caller")


def stored(factory: sessionmaker[Session]) -> dict[str, CallRecord]:
    with factory() as s:
        return {r.call_id: r for r in s.scalars(select(CallRecord))}


class Spy:
    """records.write, counting batches; raises ``fail`` for the first ``times`` batches."""

    def __init__(self, fail: Exception | None = None, times: int = 0,
                 poison: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail, self.times, self.poison = fail, times, poison

    def __call__(self, s: Session, states: Sequence[m.CallState], rec: Path) -> None:
        self.batches.append([st.call_id for st in states])
        if self.fail is not None and self.times > 0:
            self.times -= 1
            raise self.fail
        if self.poison is not None and any(st.call_id == self.poison for st in states):
            raise IntegrityError("insert", {}, Exception("constraint"))
        records.write(s, states, rec)


@pytest.fixture
async def rds(redis_port: int) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(port=redis_port, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


async def test_snapshots_of_a_call_coalesce_newest_wins_in_one_transaction(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    spy = Spy()
    writer = RecordWriter(factory, tmp_path, rds, interval_s=0.2, write=spy)
    writer.submit(state("a"))
    writer.submit(state("b"))
    writer.submit(state("a", m.Phase.QUEUED, queue="1"))
    writer.submit(ended("b"))
    await writer.flush()
    assert spy.batches == [["a", "b"]]  # one batch, one row per call
    rows = stored(factory)
    assert (rows["a"].phase, rows["a"].status, rows["a"].queue) == ("queued", "active", "1")
    assert (rows["b"].status, rows["b"].hangup_by) == ("ended", "caller")
    assert rows["b"].carrier_billsec_s == pytest.approx(3.9)
    await writer.close()


async def test_a_failing_database_keeps_the_rows_and_retries_newest_wins(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    locked = OperationalError("INSERT", {}, Exception("database is locked"))
    spy = Spy(fail=locked, times=3)
    writer = RecordWriter(factory, tmp_path, rds, interval_s=0.01, first_retry_s=0.05, write=spy)
    writer.submit(state("a"))
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while len(spy.batches) < 2:  # failing now
        assert datetime.now(UTC) < deadline, "the writer never tried"
        await asyncio.sleep(0.01)
    writer.submit(ended("a"))  # arrives while the older snapshot waits for its retry
    writer.submit(state("b"))
    await writer.flush()
    assert len(spy.batches) == 4  # three failures, then one success
    rows = stored(factory)
    assert set(rows) == {"a", "b"}
    assert rows["a"].status == "ended"  # the newer snapshot won over the retried one
    assert writer.pending == 0
    await writer.close()


async def test_a_row_that_can_never_be_written_is_dropped_alone(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    writer = RecordWriter(factory, tmp_path, rds, interval_s=0.01, write=Spy(poison="bad"))
    for call_id in ("a", "bad", "c"):
        writer.submit(state(call_id))
    await writer.flush()
    assert set(stored(factory)) == {"a", "c"}
    await writer.close()


async def test_durable_returns_once_the_ended_record_is_committed(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    writer = RecordWriter(factory, tmp_path, rds, interval_s=5.0)  # no timer would flush it
    writer.submit(state("a"))
    await writer.durable(ended("a"))
    assert stored(factory)["a"].status == "ended"
    await writer.close()


async def test_live_mirror_keeps_every_event_in_order_and_the_newest_entry(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    writer = RecordWriter(factory, tmp_path, rds, interval_s=0.2)
    writer.submit(state("a"))
    writer.submit(state("b"))
    writer.submit(state("a", m.Phase.QUEUED, queue="1"))
    writer.submit(ended("b"))
    await writer.flush()
    live = await rds.hgetall(LIVE_CALLS_KEY)
    assert set(live) == {"a"}  # b ended: gone from the live view
    assert json.loads(live["a"])["state"] == "queued"
    events = [json.loads(f["data"]) for _, f in await rds.xrange(EVENTS_STREAM)]
    assert [(e["call_id"], e["type"]) for e in events] == [
        ("a", "call.ivr"), ("b", "call.ivr"), ("a", "call.queued"), ("b", "call.ended")]
    await writer.close()


async def test_close_flushes_what_is_held(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    writer = RecordWriter(factory, tmp_path, rds, interval_s=60.0)
    writer.submit(state("a"))
    writer.submit(ended("b"))
    assert stored(factory) == {}  # behind the call: nothing written yet
    await writer.close()
    assert set(stored(factory)) == {"a", "b"}


async def test_a_full_batch_is_written_without_waiting_for_the_interval(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    writer = RecordWriter(factory, tmp_path, None, interval_s=60.0, max_rows=3)
    for call_id in ("a", "b", "c"):
        writer.submit(state(call_id))
    deadline = datetime.now(UTC) + timedelta(seconds=20)
    while writer.written < 3:
        assert datetime.now(UTC) < deadline, "a full batch waited for the interval"
        await asyncio.sleep(0.02)
    assert set(stored(factory)) == {"a", "b", "c"}
    await writer.close()


async def test_a_locked_sqlite_database_delays_the_records_but_loses_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    upgrade(url)
    engine = make_engine(url, busy_timeout_ms=50)
    factory = make_sessionmaker(engine)
    blocker = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the lock: "database is locked"
    spy = Spy()
    writer = RecordWriter(factory, tmp_path, None, interval_s=0.01, first_retry_s=0.05,
                          max_retry_s=0.2, write=spy)
    writer.submit(state("a"))
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while len(spy.batches) < 3:  # tried, failed, tried again
        assert datetime.now(UTC) < deadline, "the writer gave up on a locked database"
        await asyncio.sleep(0.02)
    assert writer.pending == 1  # kept, not dropped
    blocker.execute("ROLLBACK")
    blocker.close()
    await writer.flush()
    assert set(stored(factory)) == {"a"}
    await writer.close()
    engine.dispose()


async def test_the_live_view_audit_drops_ended_calls_and_restores_missing_ones(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    """A call's end whose HDEL was lost stays on the panel, and a Redis restarted empty
    shows no calls, until the audit compares the hash with the calls in progress."""
    writer = RecordWriter(factory, tmp_path, rds, interval_s=0.01)
    writer.submit(state("a"))
    writer.submit(state("b"))
    await writer.flush()
    await rds.hset(LIVE_CALLS_KEY, "gone", json.dumps({"call_id": "gone"}))  # its end was lost
    await rds.hdel(LIVE_CALLS_KEY, "b")  # lost with a Redis restart
    calls = {"a": state("a"), "b": state("b", m.Phase.QUEUED), "c": ended("c")}
    assert await writer.audit_live(calls) == 2
    shown = {k: json.loads(v) for k, v in (await rds.hgetall(LIVE_CALLS_KEY)).items()}
    assert set(shown) == {"a", "b"} and shown["b"]["state"] == "queued"
    assert await writer.audit_live(calls) == 0  # nothing left to correct
    await writer.close()


async def test_a_failed_mirror_write_is_tried_again(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    writer = RecordWriter(factory, tmp_path, rds, interval_s=0.01)
    writer.submit(state("a"))
    await writer.flush()
    real = writer.redis
    writer.redis = aioredis.Redis(port=1)  # nothing listens: the mirror write fails
    writer.submit(ended("a"))
    await writer.flush()
    assert await rds.hexists(LIVE_CALLS_KEY, "a")  # the end did not reach the live view
    await writer.redis.aclose()
    writer.redis = real
    writer.submit(state("b"))  # the next mirror carries the retried end along
    await writer.flush()
    assert set(await rds.hkeys(LIVE_CALLS_KEY)) == {"b"}
    await writer.close()
