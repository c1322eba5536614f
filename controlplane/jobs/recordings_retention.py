"""RQ job: delete the recordings older than each tenant's retention (``recording_policy``).

:func:`purge_expired` goes through every tenant that set ``retention_days``, deletes at most
``batch`` recordings per tenant and run (oldest first: a tenant that just set 30 days on
years of calls is emptied over a few runs, never by one job holding the database), each with
:func:`controlplane.recordings.store.delete_recording` -- the call record kept, the audit
event written by ``system`` with ``source="retention"`` -- and unlinks the files after each
tenant's commit. Idempotent: a second run finds nothing more to delete.

Scheduling: :func:`run_retention` is the control plane's loop (started by the daemon beside
the outbox drain and the webhook dispatcher: the platform's periodic work all lives there)
that enqueues the job every hour through the job outbox, with one job id per hour, so a
restarted daemon or a second one never queues the same hour twice and a Redis outage only
delays it. rq's own scheduler was not chosen: its scheduled jobs live only in Redis, and a
Redis restarted empty (which the platform survives) would lose the chain.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs import outbox
from controlplane.live import raise_if_cancelled
from controlplane.models.recording_tags import RecordingPolicy
from controlplane.recordings import store

log = logging.getLogger(__name__)

BATCH = 500
EVERY_S = 3600.0
JOB = "controlplane.jobs.recordings_retention.purge_expired"


def purge_expired(database_url: str | None = None, now: str | None = None,
                  batch: int = BATCH, recordings_dir: str | None = None) -> int:
    """Delete expired recordings of every tenant; returns how many (``now`` as ISO, the
    database and the directory: for tests; by default the platform's)."""
    settings = load_settings()
    root = Path(recordings_dir) if recordings_dir else settings.recordings_dir
    engine = make_engine(database_url or settings.database_url)
    moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    deleted = 0
    try:
        factory = make_sessionmaker(engine)
        with factory() as s:
            policies = s.execute(select(RecordingPolicy.tenant_id, RecordingPolicy.retention_days)
                                 .where(RecordingPolicy.retention_days.is_not(None))).all()
        for tenant_id, days in policies:
            files = []
            with transaction(factory) as s:
                for record in store.expired(s, tenant_id, days, moment, batch):
                    files += store.delete_recording(
                        s, root, record, actor="system", source="retention",
                        reason=f"retention {days} days")
                    deleted += 1
            store.unlink(files)
    finally:
        engine.dispose()
    if deleted:
        log.info("retention: %d recordings deleted", deleted)
    return deleted


def enqueue_hourly(queue: Queue, factory: sessionmaker[Session], now: datetime) -> None:
    outbox.enqueue(queue, factory, JOB, job_id=f"recordings-retention-{now:%Y%m%d%H}")


async def run_retention(factory: sessionmaker[Session], queue: Queue,
                        every_s: float = EVERY_S) -> None:
    """The control plane's loop: the retention job once an hour; ends only when cancelled."""
    while True:
        try:
            await asyncio.to_thread(enqueue_hourly, queue, factory, datetime.now(UTC))
        except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
            raise_if_cancelled()
            log.exception("recordings retention not queued")
        await asyncio.sleep(every_s)
