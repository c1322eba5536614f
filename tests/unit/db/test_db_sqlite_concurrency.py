"""SQLite under concurrent writers, on real files: every engine gets WAL, NORMAL sync and a
busy timeout; a writer waits for another instead of failing; writes that must not be lost
retry while the database is locked; ``/health`` (``check_db``) says "locked" or "slow"
instead of OK."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from controlplane import health
from controlplane.config import load_settings
from controlplane.db import BUSY_TIMEOUT_MS, is_locked, make_engine, probe_write, retry_locked


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    return url


def _holder(url: str) -> sqlite3.Connection:
    """Another writer (as another process would be) holding the write lock."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None,
                           check_same_thread=False)  # released from a timer thread
    conn.execute("BEGIN IMMEDIATE")
    return conn


def test_every_connection_gets_wal_normal_sync_and_the_busy_timeout(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pragmas = [conn.exec_driver_sql(f"PRAGMA {p}").scalar()
                       for p in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")]
    finally:
        engine.dispose()
    assert pragmas == ["wal", 1, BUSY_TIMEOUT_MS, 1]  # synchronous 1 = NORMAL
    assert BUSY_TIMEOUT_MS == 5000


def test_a_writer_waits_for_another_instead_of_failing(url: str) -> None:
    holder = _holder(url)
    released = threading.Timer(0.5, holder.execute, ("ROLLBACK",))
    released.start()
    engine = make_engine(url)
    try:
        start = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        waited = time.monotonic() - start
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        released.join()
        holder.close()
        engine.dispose()
    assert waited >= 0.4  # it waited for the lock (up to the busy timeout), then wrote


def test_readers_are_not_blocked_by_a_writer(url: str) -> None:
    holder = _holder(url)
    holder.execute("INSERT INTO t VALUES (7)")
    engine = make_engine(url, busy_timeout_ms=100)
    try:
        with engine.connect() as conn:  # WAL: the committed state, at once
            assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        holder.close()
        engine.dispose()


def test_retry_locked_retries_while_locked_and_gives_up_after_its_attempts(url: str) -> None:
    holder = _holder(url)
    engine = make_engine(url, busy_timeout_ms=20)
    waits: list[float] = []

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            holder.execute("ROLLBACK")

    try:
        retry_locked(write, sleep=sleep)
        assert waits == [0.1, 0.2]
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError) as caught:
            retry_locked(write, attempts=3, sleep=lambda s: None)
        assert is_locked(caught.value)
        with pytest.raises(OperationalError) as other:  # not a lock: raised at once
            retry_locked(lambda: engine.connect().execute(text("SELECT * FROM nowhere")),
                         sleep=lambda s: pytest.fail("retried"))
        assert not is_locked(other.value)
    finally:
        holder.close()
        engine.dispose()


def _settings(url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings({"CENTRALA_DATABASE_URL": url, "CENTRALA_RUNTIME_DIR": str(tmp_path)})


def test_health_says_ok_with_the_mode_and_the_time(url: str, tmp_path: Path) -> None:
    check = health.check_db(_settings(url, tmp_path))
    assert (check.ok, check.warn) == (True, False)
    assert check.detail.startswith("sqlite (WAL), write lock in ")


def test_health_says_locked_while_a_writer_holds_the_database(url: str, tmp_path: Path) -> None:
    holder = _holder(url)
    try:
        start = time.monotonic()
        check = health.check_db(_settings(url, tmp_path))
        took = time.monotonic() - start
    finally:
        holder.close()
    assert (check.name, check.ok) == ("database", False)
    assert check.detail.startswith("locked: another writer has held the database for over")
    assert took < 5  # bounded by the probe's own timeout, not the busy timeout
    assert health.check_db(_settings(url, tmp_path)).ok  # released: fine again


def test_health_says_slow_when_the_write_lock_comes_late(url: str, tmp_path: Path) -> None:
    holder = _holder(url)
    released = threading.Timer(0.5, holder.execute, ("ROLLBACK",))
    released.start()
    try:
        check = health.check_db(_settings(url, tmp_path))
    finally:
        released.join()
        holder.close()
    assert (check.ok, check.warn) == (True, True)
    assert check.detail.startswith("slow (") and "ms to get the write lock" in check.detail


def test_probe_write_on_postgresql(postgres_url: str) -> None:
    probe = probe_write(postgres_url)
    assert (probe.dialect, probe.mode) == ("postgresql", "")
    assert 0 <= probe.ms < 5000
