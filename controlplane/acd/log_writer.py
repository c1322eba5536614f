"""The ACD's log rows (status log, queue log, agent-session audit) reach the database even
when it is busy: a write that fails with ``OperationalError`` (SQLite "database is
locked" after its busy timeout, a PostgreSQL server restarting) is kept and retried in the
background with backoff instead of being dropped.

Theory of operation: :meth:`LogWriter.write` writes inline (in a thread, so the event loop
never waits on the database) when nothing is waiting, which keeps "the row is there once
the operation returns" for everyone reading the tables. When a write fails, its rows go to
a queue, and every later write queues behind them, so rows keep their order (the latest
status row per agent is what a Redis restart rebuilds agents from). One background task
retries the whole queue in one transaction, with a doubling delay capped at
``max_retry_s``, until it succeeds. Errors a retry cannot fix (a constraint violated) are
logged and the rows dropped, as before. Only a daemon stopping with rows still queued
loses them, and says so in its log.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import store
from controlplane.db import backoff

log = logging.getLogger(__name__)

Append = Callable[[sessionmaker[Session], Iterable[store.Logs]], None]


class LogWriter:
    """Writes :class:`~controlplane.acd.store.Logs` in order, retrying while the database
    is unavailable (see the module docstring)."""

    def __init__(
        self,
        db: sessionmaker[Session],
        append: Append = store.append,
        *,
        first_retry_s: float = 0.2,
        max_retry_s: float = 5.0,
        max_pending: int = 100_000,
    ) -> None:
        self.db = db
        self.append = append
        self.first_retry_s = first_retry_s
        self.max_retry_s = max_retry_s
        self.max_pending = max_pending
        self._pending: deque[list[store.Logs]] = deque()
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Operations whose rows wait for a retry."""
        return len(self._pending)

    async def write(self, logs: list[store.Logs]) -> None:
        """Append ``logs`` now, or queue them behind those already waiting."""
        if self._pending:
            self._queue(logs)
            return
        try:
            await asyncio.to_thread(self.append, self.db, logs)
        except OperationalError as err:
            log.warning("ACD log rows not written yet, retrying in the background: %s", err)
            self._queue(logs)
        except Exception as err:  # noqa: BLE001 - live state goes on; a retry would fail too
            log.error("ACD log rows not written: %s", err)

    def _queue(self, logs: list[store.Logs]) -> None:
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()
            log.error("ACD log retry queue full (%d operations): oldest rows dropped",
                      self.max_pending)
        self._pending.append(logs)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._retry(), name="acd-log-retry")

    async def _retry(self) -> None:
        attempt = 0
        while self._pending:
            attempt += 1
            await asyncio.sleep(backoff(attempt, self.first_retry_s, self.max_retry_s))
            taken = list(self._pending)
            try:
                await asyncio.to_thread(self.append, self.db, [lg for op in taken for lg in op])
            except OperationalError as err:
                log.warning("ACD log rows (%d operations) still not written (retry %d): %s",
                            len(taken), attempt, err)
                continue
            except Exception as err:  # noqa: BLE001 - cannot succeed: drop them, as before
                log.error("ACD log rows (%d operations) not written: %s", len(taken), err)
            else:
                log.info("ACD log rows of %d operations written after %d retries",
                         len(taken), attempt)
            for _ in taken:
                self._pending.popleft()
            attempt = 0

    def close(self) -> None:
        """Stop retrying (the daemon is stopping); rows still queued are lost, loudly."""
        if self._task is not None:
            self._task.cancel()
        if self._pending:
            log.error("ACD log rows of %d operations not written (stopping while the "
                      "database was unavailable)", len(self._pending))
