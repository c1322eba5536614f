"""RQ job: the desk's time-triggered business rules ("pending for 48 h → solved"), and the
control plane's loop that queues it every minute.

:func:`run_time_rules` goes through every tenant with an active ``time`` rule and runs
them over its open tickets (:func:`controlplane.desk.automation.time_rules`: a rule acts
on a ticket once, and again only after the ticket changed), one transaction per tenant.
Idempotent: a second run in the same minute finds nothing due.

Scheduling: :func:`run_desk_rules` is started by the daemon beside the recordings
retention loop and queues the job through the job outbox with one job id per minute, so
a restarted or second daemon never queues a minute twice and a Redis outage only delays
it (as :mod:`controlplane.jobs.recordings_retention` does hourly).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk import automation
from controlplane.jobs import outbox
from controlplane.live import raise_if_cancelled
from controlplane.models.desk import TicketRule

log = logging.getLogger(__name__)

EVERY_S = 60.0
JOB = "controlplane.jobs.desk_rules.run_time_rules"


def run_time_rules(database_url: str | None = None, now: str | None = None) -> int:
    """Run every tenant's time rules; how many fired (``now`` as ISO: for tests)."""
    engine = make_engine(database_url or load_settings().database_url)
    moment = datetime.fromisoformat(now) if now else datetime.now(UTC)
    fired = 0
    try:
        factory = make_sessionmaker(engine)
        with factory() as s:
            tenants = list(s.scalars(select(TicketRule.tenant_id).where(
                TicketRule.trigger == "time", TicketRule.active.is_(True)).distinct()))
        for tenant_id in tenants:
            try:
                with transaction(factory) as s:
                    fired += automation.time_rules(s, tenant_id, moment)
            except Exception:  # noqa: BLE001 - one tenant's trouble must not stop the others
                log.exception("time rules of tenant %s failed", tenant_id)
    finally:
        engine.dispose()
    if fired:
        log.info("desk time rules: %d fired", fired)
    return fired


def enqueue_minutely(queue: Queue, factory: sessionmaker[Session], now: datetime) -> None:
    outbox.enqueue(queue, factory, JOB, job_id=f"desk-rules-{now:%Y%m%d%H%M}")


async def run_desk_rules(factory: sessionmaker[Session], queue: Queue,
                         every_s: float = EVERY_S) -> None:
    """The control plane's loop: the time rules' job once a minute; ends only when cancelled."""
    while True:
        try:
            await asyncio.to_thread(enqueue_minutely, queue, factory, datetime.now(UTC))
        except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
            raise_if_cancelled()
            log.exception("desk time rules not queued")
        await asyncio.sleep(every_s)
