"""The reports over a real database (SQLite and PostgreSQL): a closed day's service level,
answered and abandoned equal the wallboard's for that day on the same rows (the wallboard's
own reader, with a real Redis), the reads stay in the tenant, and the date-range queries
use the composite indexes on a big log (query plans)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.http.wallboard_source import WallboardSource
from controlplane.db import transaction
from controlplane.models import Role, Tenant, User
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog
from controlplane.reports import service, store
from controlplane.reports.exceptions import ReportTooLong
from controlplane.reports.filters import Filters
from controlplane.reports.periods import Interval

DAY = date(2026, 12, 1)
ZONE = "Europe/Warsaw"


def local(h: int, m: int = 0, s: float = 0.0, day: date = DAY) -> datetime:
    """A moment of the tenant's day (Warsaw is UTC+1 in December), as UTC."""
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC) - timedelta(hours=1) \
        + timedelta(seconds=s)


@pytest.fixture
def floor(factory: sessionmaker[Session]) -> Iterator[dict[str, Any]]:
    """Two tenants; in ours a queue (SL threshold 20 s) and an agent, and a day of calls:
    answered in 5 s, in 40 s, abandoned, one entered 23:59:50 the day before and answered
    after midnight, one still waiting at the end; the other tenant's calls in a queue too."""
    with transaction(factory) as s:
        ours = Tenant(domain="ours.example", name="Ours", time_zone=ZONE)
        other = Tenant(domain="other.example", name="Other", time_zone=ZONE)
        s.add_all([ours, other])
        s.flush()
        agent = User(tenant_id=ours.id, login="a1", display_name="Anna", role=Role.AGENT,
                     password_hash="")
        s.add(agent)
        q1 = Queue(tenant_id=ours.id, name="Sprzedaż", sl_threshold_s=20.0)
        q2 = Queue(tenant_id=other.id, name="Theirs", sl_threshold_s=20.0)
        s.add_all([q1, q2])
        s.flush()

        def row(tenant: int, queue: int, call: str, kind: str, t: datetime,
                user: int | None = None) -> QueueLog:
            return QueueLog(tenant_id=tenant, queue_id=queue, interaction_id=call, kind=kind,
                            at=t, user_id=user)

        prev = DAY - timedelta(days=1)
        s.add_all([
            row(ours.id, q1.id, "m", "enter", local(23, 59, 50, prev)),
            row(ours.id, q1.id, "m", "answer", local(0, 0, 10), agent.id),
            row(ours.id, q1.id, "a", "enter", local(9)),
            row(ours.id, q1.id, "a", "answer", local(9, 0, 5), agent.id),
            row(ours.id, q1.id, "a", "end", local(9, 3)),
            row(ours.id, q1.id, "b", "enter", local(10)),
            row(ours.id, q1.id, "b", "answer", local(10, 0, 40), agent.id),
            row(ours.id, q1.id, "c", "enter", local(11)),
            row(ours.id, q1.id, "c", "abandon", local(11, 0, 50)),
            row(ours.id, q1.id, "w", "enter", local(23, 50)),
            row(other.id, q2.id, "x", "enter", local(9)),
            row(other.id, q2.id, "x", "abandon", local(9, 1)),
        ])
        s.add_all([
            AgentStatusLog(tenant_id=ours.id, user_id=agent.id, from_status="logged_out",
                           to_status="ready", reason=None, at=local(20, 0, 0, prev)),
            AgentStatusLog(tenant_id=ours.id, user_id=agent.id, from_status="ready",
                           to_status="logged_out", reason=None, at=local(16)),
        ])
        ids = {"tenant": ours.id, "other": other.id, "queue": q1.id, "agent": agent.id}
    yield ids


def test_a_closed_day_equals_the_wallboards_figures(factory, floor, redis_port) -> None:  # type: ignore[no-untyped-def]
    client = redis.Redis(port=redis_port, decode_responses=True)
    end = local(0, day=DAY + timedelta(days=1)).timestamp()
    source = WallboardSource(factory, client, clock=lambda: end - 0.001)  # the day's last moment
    board = source.compute(floor["tenant"])
    live = next(q for q in board["queues"] if q["queue_id"] == floor["queue"])
    with factory() as s:
        report = service.run(s, floor["tenant"], "calls_by_queue",
                             Filters(DAY, DAY, Interval.DAY), now=end + 3600)
    (row,) = report.rows
    keys = ("entered", "answered", "answered_in_threshold", "abandoned", "service_level_pct",
            "abandon_rate_pct", "avg_speed_of_answer_s", "avg_handle_s")
    assert {k: row[k] for k in keys} == {k: live[k] for k in keys}
    assert (row["answered"], row["abandoned"], row["service_level_pct"]) == (3, 1, 50.0)
    assert row["queue_name"] == "Sprzedaż" and row["period"] == "2026-12-01T00:00+01:00"
    client.close()


def test_agent_time_equals_the_wallboards_logged_in_time(factory, floor, redis_port) -> None:  # type: ignore[no-untyped-def]
    from controlplane.acd import wallboard_figures as wf

    client = redis.Redis(port=redis_port, decode_responses=True)
    end = local(0, day=DAY + timedelta(days=1)).timestamp()
    source = WallboardSource(factory, client, clock=lambda: end)
    with factory() as s:
        day = source._day(s, floor["tenant"], local(0).timestamp())  # the wallboard's read
        report = service.run(s, floor["tenant"], "agent_time", Filters(DAY, DAY), now=end)
    (row,) = report.rows
    assert row["logged_in"] == round(wf.logged_in_seconds(day, end)[str(floor["agent"])])
    assert (row["ready"], row["logged_out"], row["agent_name"]) == (16 * 3600, 8 * 3600, "Anna")
    client.close()


def test_the_reads_stay_in_the_tenant(factory, floor) -> None:  # type: ignore[no-untyped-def]
    with factory() as s:
        other = service.run(s, floor["other"], "abandons", Filters(DAY, DAY), now=2e9)
        ours = service.run(s, floor["tenant"], "abandons", Filters(DAY, DAY), now=2e9)
    assert [(r["queue_name"], r["abandoned"]) for r in other.rows] == [("Theirs", 1)]
    assert [(r["queue_name"], r["abandoned"]) for r in ours.rows] == [("Sprzedaż", 1)]


def test_a_long_range_is_refused_inline_and_built_otherwise(factory, floor) -> None:  # type: ignore[no-untyped-def]
    f = Filters(DAY - timedelta(days=40), DAY)
    with factory() as s:
        with pytest.raises(ReportTooLong):
            service.run(s, floor["tenant"], "calls_by_queue", f, now=2e9)
        built = service.run(s, floor["tenant"], "calls_by_queue", f, now=2e9, inline=False)
    assert sum(r["answered"] for r in built.rows) == 3


def _plan(s: Session, sql: str, params: dict[str, Any]) -> str:
    if s.bind.dialect.name == "sqlite":  # type: ignore[union-attr]
        rows = s.execute(text("EXPLAIN QUERY PLAN " + sql), params).all()
        return " ".join(str(r[-1]) for r in rows)
    s.execute(text("ANALYZE"))
    return " ".join(r[0] for r in s.execute(text("EXPLAIN " + sql), params).all())


def test_the_range_reads_use_the_tenant_moment_indexes(factory, floor) -> None:  # type: ignore[no-untyped-def]
    """A big log (our tenant's 100 days before, another tenant's busy day on ours) and the
    store's range query (the same SQL, written out): the plan searches the composite
    (tenant_id, at) index, neither the tenant's whole history nor everyone's day."""
    base = local(0)
    big = [{"tenant_id": floor["tenant"], "queue_id": None, "interaction_id": f"old{i}",
            "kind": "enter", "at": base - timedelta(minutes=5 * (i + 1)), "caller": "",
            "detail": ""} for i in range(30_000)]
    big += [{"tenant_id": floor["other"], "queue_id": None, "interaction_id": f"busy{i}",
             "kind": "enter", "at": base + timedelta(seconds=8 * i), "caller": "",
             "detail": ""} for i in range(10_000)]
    statuses = [{"tenant_id": r["tenant_id"], "user_id": floor["agent"], "from_status": "ready",
                 "to_status": "ready", "reason": None, "at": r["at"]} for r in big]
    with transaction(factory) as s:
        s.execute(QueueLog.__table__.insert(), big)
        s.execute(AgentStatusLog.__table__.insert(), statuses)
    start, stop = base, base + timedelta(days=1)
    with factory() as s:
        plan = _plan(s, "SELECT * FROM acd_queue_log WHERE tenant_id = :t AND at >= :a "
                        "AND at < :b ORDER BY at, id",
                     {"t": floor["tenant"], "a": start, "b": stop})
        assert "ix_acd_queue_log_tenant_at" in plan, plan
        plan = _plan(s, "SELECT * FROM acd_agent_status_log WHERE tenant_id = :t AND at >= :a "
                        "AND at < :b", {"t": floor["tenant"], "a": start, "b": stop})
        assert "ix_acd_agent_status_log_tenant_at" in plan, plan
        with_store = store.queue_records(s, floor["tenant"], start.timestamp(),
                                         stop.timestamp())
    assert len(with_store) == 9  # our day only
