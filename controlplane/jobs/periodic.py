"""The control plane's periodic jobs: a loop that queues an RQ job every N seconds.

Why not rq's scheduler: its scheduled jobs live only in Redis, and a Redis restarted empty
(which the platform survives) would lose the chain. Instead the daemon runs one loop per
periodic job that queues it through the job outbox (:mod:`controlplane.jobs.outbox`) with
one job id per period, so a restarted daemon, or a second one, never queues the same period
twice, and a Redis outage only delays it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from rq import Queue
from sqlalchemy.orm import Session, sessionmaker

from controlplane.jobs import outbox
from controlplane.live import raise_if_cancelled

log = logging.getLogger(__name__)


def period_id(prefix: str, now: datetime, every_s: float) -> str:
    """The job id of the period ``now`` falls in (periods counted from the epoch)."""
    return f"{prefix}-{int(now.timestamp() // every_s)}"


def enqueue_period(queue: Queue, factory: sessionmaker[Session], job: str, prefix: str,
                   every_s: float, now: datetime) -> None:
    """Queue ``job`` for the period ``now`` falls in (a second call in it queues nothing)."""
    outbox.enqueue(queue, factory, job, job_id=period_id(prefix, now, every_s))


async def run_every(factory: sessionmaker[Session], queue: Queue, job: str, prefix: str,
                    every_s: float) -> None:
    """Queue ``job`` (a dotted path) once per ``every_s``; ends only when cancelled."""
    while True:
        try:
            await asyncio.to_thread(enqueue_period, queue, factory, job, prefix, every_s,
                                    datetime.now(UTC))
        except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
            raise_if_cancelled()
            log.exception("%s not queued", job)
        await asyncio.sleep(every_s)
