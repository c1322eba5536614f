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
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a SQLite writer waits for another one before "database is locked". Long enough
# for any batch of ours (an import batch commits in well under a second), short enough that
# a panel request never hangs for half a minute.
BUSY_TIMEOUT_MS = 5000
SQLITE_POOL_SIZE = 12  # connections kept open per process (see make_engine)


def make_engine(url: str, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """The engine for ``url`` (``sqlite:///…`` or ``postgresql://…``).

    ``busy_timeout_ms``: how long a SQLite writer waits for the write lock (health checks
    and tests pass a shorter one).
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        # A pool as large as the daemon's I/O threads (8) and then some: past ``pool_size``
        # a connection is closed when returned, and opening one (the file, four PRAGMAs)
        # cost the daemon's ACD log writes a new connection at every burst.
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000},
                               pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)

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


@dataclass
class _Change:
    run: Callable[[Session], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class GroupWriter:
    """Small write transactions of many threads, on SQLite committed together (group
    commit); elsewhere each in its own transaction.

    SQLite takes one writer at a time. Left to themselves, threads that find it taken wait
    in SQLite's busy handler, which sleeps in growing steps (up to 100 ms) *holding a
    pooled connection*: under a burst of chat messages they miss the free moments, the
    pool runs dry and requests queue for seconds. And even queued on a lock, each writer
    pays a transaction, a commit and a hand-over to the next thread (which, among hundreds
    of threads of a busy panel, the machine schedules late). So here a thread puts its
    change in the queue; whoever holds the lock writes every change queued so far (up to
    :attr:`MAX_BATCH`) in one transaction, each in its own savepoint (a change that raises
    is undone alone and its error goes to its thread), commits once, and hands each thread
    its result. A commit that fails (SQLite still locked by another process after the busy
    timeout) fails every change of the batch, to be retried by its caller."""

    MAX_BATCH = 64

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        bind = factory.kw.get("bind")
        self.grouped = bind is not None and bind.dialect.name == "sqlite"
        self.lock = threading.Lock()
        self.queue: deque[_Change] = deque()
        self.batches = 0  # transactions committed (a test and a bench look)

    def run(self, change: Callable[[Session], T]) -> T:
        if not self.grouped:
            with transaction(self.factory) as s:
                return change(s)
        mine = _Change(change)
        self.queue.append(mine)
        while not mine.done.is_set():
            with self.lock:
                if not mine.done.is_set():
                    batch = [self.queue.popleft()
                             for _ in range(min(self.MAX_BATCH, len(self.queue)))]
                    self._write(batch)
        if mine.error is not None:
            raise mine.error
        return mine.result  # type: ignore[no-any-return]

    def _write(self, batch: list[_Change]) -> None:
        try:
            with transaction(self.factory) as s:
                for c in batch:
                    try:
                        with s.begin_nested():
                            c.result = c.run(s)
                    except OperationalError as err:
                        if is_locked(err):
                            raise  # the database itself: the whole batch
                        c.error = err
                    except Exception as err:  # noqa: BLE001 - it is that thread's to raise
                        c.error = err
            self.batches += 1
        except Exception as err:  # noqa: BLE001 - the commit failed: nothing of it stands
            for c in batch:
                c.error = c.error or err
        finally:
            for c in batch:
                c.done.set()


_GROUPS: dict[int, GroupWriter] = {}  # by session factory (one per database per process)
_GROUPS_LOCK = threading.Lock()


def group_writer(factory: sessionmaker[Session]) -> GroupWriter:
    """This process's :class:`GroupWriter` of ``factory``."""
    found = _GROUPS.get(id(factory))
    if found is None:
        with _GROUPS_LOCK:
            found = _GROUPS.setdefault(id(factory), GroupWriter(factory))
    return found


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
