"""The ACD's log rows survive a locked database: an agent's login while another writer
holds SQLite is not refused nor dropped; its audit and status rows are written, in order,
once the writer lets go (real SQLite file, real Redis, the real service)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from acd_world import Clock, FakeConnector, seed, status_log
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.service import QueueService
from controlplane.db import make_engine, make_sessionmaker
from controlplane.models.acd import AgentSessionAudit


async def _until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"condition not met within {timeout}s"
        await asyncio.sleep(0.05)


def _audits(db: sessionmaker[Session], uid: int) -> list[str]:
    with db() as s:
        return list(s.scalars(select(AgentSessionAudit.action)
                              .where(AgentSessionAudit.user_id == uid)
                              .order_by(AgentSessionAudit.id)))


async def test_audit_rows_written_after_the_database_is_released(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    uid = w.users["a1"]
    url = db.kw["bind"].url
    # the daemon's engine, with a short busy timeout so the test need not wait 5 s
    engine = make_engine(url.render_as_string(hide_password=False), busy_timeout_ms=100)
    svc = QueueService(make_sessionmaker(engine), rds, FakeConnector(), clock, stats_interval_s=0)
    holder = sqlite3.connect(url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a long import, say, holds the write lock
    try:
        r = await svc.agent_command(w.tenant, uid, "login")
        assert r.ok  # the agent is logged in all the same
        r = await svc.agent_command(w.tenant, uid, "break", "lunch")
        assert r.ok
        assert _audits(db, uid) == []  # nothing written yet: the database is held
        assert svc._log_writer.pending == 2  # kept, in order, not dropped
        await asyncio.sleep(0.5)  # retries meet the lock too
        assert _audits(db, uid) == [] and svc._log_writer.pending == 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await _until(lambda: svc._log_writer.pending == 0)
    assert _audits(db, uid) == ["login", "break_taken"]
    assert [to for _, to, _ in status_log(db, uid)] == ["ready", "break"]  # in order
    r = await svc.agent_command(w.tenant, uid, "ready")  # the database is free: inline again
    assert [to for _, to, _ in status_log(db, uid)] == ["ready", "break", "ready"]
    assert svc._log_writer.pending == 0
    engine.dispose()
