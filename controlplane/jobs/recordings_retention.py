"""RQ job: delete the recordings older than each tenant's retention (``recording_policy``).

:func:`purge_expired` goes through every tenant that set ``retention_days``, deletes at most
``batch`` recordings per tenant and run (oldest first: a tenant that just set 30 days on
years of calls is emptied over a few runs, never by one job holding the database), each with
:func:`controlplane.recordings.store.delete_recording` -- the call record kept, the audit
event written by ``system`` with ``source="retention"`` -- and unlinks the files after each
tenant's commit. Idempotent: a second run finds nothing more to delete.

Scheduling: the daemon queues it once an hour (:mod:`controlplane.jobs.periodic`).
A tenant copying its recordings to SFTP (:mod:`controlplane.jobs.recordings_sftp`) keeps
every recording not copied yet (:func:`controlplane.recordings.store.expired`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs.periodic import enqueue_period
from controlplane.models.recording_tags import RecordingPolicy
from controlplane.recordings import store

log = logging.getLogger(__name__)

BATCH = 500
EVERY_S = 3600.0
JOB = "controlplane.jobs.recordings_retention.purge_expired"
PREFIX = "recordings-retention"


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
    """What the daemon's loop does once an hour (:func:`controlplane.jobs.periodic.run_every`)."""
    enqueue_period(queue, factory, JOB, PREFIX, EVERY_S, now)
