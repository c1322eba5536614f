"""RQ job: the desk's time-triggered business rules ("pending for 48 h → solved"), and the
control plane's loop that queues it every minute.

:func:`run_time_rules` goes through every tenant with an active ``time`` rule and runs
them over its open tickets (:func:`controlplane.desk.automation.time_rules`: a rule acts
on a ticket once, and again only after the ticket changed), one transaction per tenant.
Idempotent: a second run in the same minute finds nothing due.

Scheduling: the daemon queues it once a minute (:mod:`controlplane.jobs.periodic`: one job
id per minute, through the job outbox).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk import automation
from controlplane.jobs.periodic import enqueue_period
from controlplane.models.desk import TicketRule

log = logging.getLogger(__name__)

EVERY_S = 60.0
JOB = "controlplane.jobs.desk_rules.run_time_rules"
PREFIX = "desk-rules"


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
    """What the daemon's loop does once a minute (:func:`controlplane.jobs.periodic.run_every`)."""
    enqueue_period(queue, factory, JOB, PREFIX, EVERY_S, now)
