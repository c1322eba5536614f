"""The due-time sweep: new events → deliveries, due deliveries → RQ jobs (synchronous).

Theory of operation: retries are rows, not RQ's scheduled jobs. Each :func:`tick` (the
daemon calls it every second, :mod:`.service`):

1. fans new ``webhook_event`` rows out into ``webhook_delivery`` rows (one per active
   subscription wanting the type), in one transaction;
2. forgets events older than :data:`KEEP` with nothing pending (the log is bounded), at
   most once per :data:`PRUNE_EVERY` (a day's worth of rows is no hurry; every second it
   was a third of the dispatcher's cost);
3. leases the deliveries whose ``next_attempt_at`` has come (``leased_until = now +
   LEASE``) and queues one ``deliver(delivery_id, attempts)`` job for each through the job
   outbox (:func:`controlplane.jobs.outbox.enqueue`: kept in SQL while Redis is down).

The job records its attempt and sets the next due time (or delivered / dead). A job lost
with its worker (killed, restarted) leaves its lease to expire, and the next tick queues the
delivery again: no retry is lost. The job's compare-and-set on ``attempts`` makes a
duplicate job harmless (at most one more POST: delivery is at least once).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq import Queue
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.jobs import outbox
from controlplane.webhooks import store

log = logging.getLogger(__name__)

# Longer than a job's worst case (10 s POST + queue wait), short enough that a lost job
# is retried soon.
LEASE = timedelta(minutes=2)
KEEP = timedelta(days=30)  # events, deliveries and attempts kept in the log
PRUNE_EVERY = timedelta(minutes=1)
DELIVER = "controlplane.jobs.webhooks.deliver"


@dataclass(frozen=True)
class Ticked:
    fanned_out: int
    queued: int


def tick(factory: sessionmaker[Session], queue: Queue, now: datetime,
         lease: timedelta = LEASE, prune: bool = True) -> Ticked:
    """One sweep; ``prune``: also forget old events (the loop does it once a minute)."""
    with transaction(factory) as s:
        made = store.fan_out(s, now)
        if prune:
            store.prune(s, now - KEEP)
        due = store.lease_due(s, now, lease)
    for delivery_id, attempts in due:
        job_id = f"webhook-{delivery_id}-{attempts}-{uuid.uuid4().hex[:8]}"
        outbox.enqueue(queue, factory, DELIVER, delivery_id, attempts, job_id=job_id,
                       options={"job_timeout": 60, "result_ttl": 600})
    if made or due:
        log.debug("webhooks: %d deliveries made, %d queued", made, len(due))
    return Ticked(made, len(due))
