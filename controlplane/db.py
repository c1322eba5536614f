"""Engine and session factory; SQLite gets WAL, a busy timeout and foreign keys, PostgreSQL
is used as is. Every process builds its engine here (daemon, panel, worker, CLI, Alembic),
so every connection gets the same pragmas.

SQLite, theory of operation: one writer at a time, readers never blocked (WAL). A writer
that finds the database taken waits up to ``busy_timeout`` and then fails with
``OperationalError: database is locked``. So: writers keep transactions short (a CSV
import commits every batch, :mod:`controlplane.jobs.imports`), writes that must not be
lost retry with backoff (:func:`retry_locked`), and ``/health`` times a write
(:mod:`controlplane.health`). ``synchronous=NORMAL`` is safe with WAL (a power cut can
lose the last commits, never corrupt the file) and makes each commit far cheaper.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a SQLite writer waits for another one before "database is locked". Long enough
# for any batch of ours (an import batch commits in well under a second), short enough that
# a panel request never hangs for half a minute.
BUSY_TIMEOUT_MS = 5000


def make_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """The engine for ``url`` (``sqlite:///…`` or ``postgresql://…``).

    ``busy_timeout_ms``: how long a SQLite writer waits for the write lock (health checks
    and tests pass a shorter one).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with factory() as session, session.begin():
        yield session


_WRITERS: dict[int, threading.Lock] = {}  # by engine (one per database per process)
_WRITERS_LOCK = threading.Lock()


@contextmanager
def one_writer(factory: sessionmaker[Session]) -> Iterator[None]:
    """On SQLite, let this process's threads write one at a time (a no-op elsewhere).

    SQLite takes one writer anyway; without this, a thread that finds the database taken
    waits in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) *holding
    a pooled connection*: under a burst of chat messages the waiters miss the free moments,
    the pool runs dry and every request queues behind them (seconds). Here they queue on
    a lock, before taking a connection, and go in the moment the previous writer commits.
    Writers of other processes (the daemon) are still met by the busy timeout."""
    bind = factory.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        yield
        return
    lock = _WRITERS.get(id(bind))
    if lock is None:
        with _WRITERS_LOCK:
            lock = _WRITERS.setdefault(id(bind), threading.Lock())
    with lock:
        yield


def is_locked(err: BaseException) -> bool:
    """True for SQLite's "database is locked" / "busy" (another writer held it too long)."""
    text = str(getattr(err, "orig", err)).lower()
    return isinstance(err, OperationalError) and ("locked" in text or "busy" in text)


def backoff(attempt: int, first_s: float = 0.1, cap_s: float = 5.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, …): doubling, capped."""
    return float(min(cap_s, first_s * 2 ** (attempt - 1)))


def retry_locked(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "database write",
) -> T:
    """Call ``fn`` (one whole transaction) again while the database is locked, with
    :func:`backoff`; the last "locked" error, and any other error, is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as err:
            if not is_locked(err) or attempt == attempts:
                raise
            delay = backoff(attempt)
            log.warning("%s: database locked, retry %d in %.1f s", what, attempt, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


# ---- health: can a writer get in, and how fast? --------------------------------------------

PROBE_TIMEOUT_MS = 1000  # longer than this for the write lock: "locked"
SLOW_WRITE_MS = 250  # longer than this: "slow"


@dataclass(frozen=True, slots=True)
class WriteProbe:
    """How long taking (and releasing) the write lock took, and the engine's mode."""

    ms: float
    dialect: str
    mode: str  # SQLite's journal mode ("wal"); "" elsewhere


def probe_write(url: str, timeout_ms: int = PROBE_TIMEOUT_MS) -> WriteProbe:
    """Take the database's write lock and give it back at once, timed; an
    :class:`OperationalError` that :func:`is_locked` recognises when another writer held
    it for over ``timeout_ms``. SQLite: ``BEGIN IMMEDIATE`` … ``ROLLBACK`` (the lock every
    writer needs); PostgreSQL: a transaction that gets a transaction id, under a
    ``statement_timeout``. Nothing is written."""
    engine = make_engine(url, busy_timeout_ms=timeout_ms)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            mode = ""
            if engine.dialect.name == "sqlite":
                cur.execute("PRAGMA journal_mode")
                mode = str((cur.fetchone() or ("",))[0]).lower()
                start = time.perf_counter()
                cur.execute("BEGIN IMMEDIATE")
                cur.execute("ROLLBACK")
            else:
                start = time.perf_counter()
                cur.execute(f"SET statement_timeout = {int(timeout_ms)}")
                cur.execute("SELECT txid_current()")
                cur.fetchone()
                raw.rollback()
            elapsed = (time.perf_counter() - start) * 1000
            cur.close()
        except engine.dialect.dbapi.OperationalError as err:  # type: ignore[union-attr]
            raise OperationalError("probe write", {}, err) from err
        finally:
            raw.close()
    finally:
        engine.dispose()
    return WriteProbe(elapsed, engine.dialect.name, mode)
