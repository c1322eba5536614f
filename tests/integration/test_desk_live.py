"""The desk's time rules run for real (issue 14 item 2): the running control plane queues
the time-rules job every minute through the job outbox, a real ``centrala worker`` runs
it, and a pending ticket a time rule covers is solved, with the rule's line on its
history. A reply's delivery job takes the same road (outbox → daemon → RQ → worker)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from helpers import until
from sqlalchemy import delete, select, update

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk import rulebook, service
from controlplane.desk.store import Viewer
from controlplane.desk.threads import Inbound, receive
from controlplane.models import JobOutbox, Tenant
from controlplane.models.desk import TicketEvent, TicketRule
from controlplane.models.tickets import Ticket, TicketMessage
from controlplane.seed import DEMO_DOMAIN

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(platform) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """A real ``centrala worker`` (RQ) on the platform's Redis and database."""
    log = (platform.settings.runtime_dir / "desk-worker.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "controlplane.cli", "worker"],
                            env={**os.environ, **platform.env}, stdout=log, stderr=log)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def test_a_time_rule_solves_a_pending_ticket_through_the_daemon_and_the_worker(  # type: ignore[no-untyped-def]
        platform, worker) -> None:
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    tag = uuid.uuid4().hex[:8]
    try:
        with transaction(factory) as s:
            tenant = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
            assert tenant is not None
            rulebook.save(s, tenant, None, {
                "name": f"live {tag}", "trigger": "time",
                "conditions": [{"field": "status", "op": "is", "value": "pending"},
                               {"field": "subject", "op": "contains", "value": tag},
                               {"field": "minutes_since_update", "op": "gte", "value": 0}],
                "actions": [{"set": "status", "value": "solved"}]})
            got = receive(s, Inbound(tenant, "email", f"{tag}@klient.pl", "Pomocy",
                                     subject=f"Awaria {tag}", external_id=f"<{tag}@klient.pl>"))
            s.execute(update(Ticket).where(Ticket.id == got.ticket_id).values(status="pending"))
            ticket = s.get_one(Ticket, got.ticket_id)
            reply = service.post(s, Viewer(tenant, None, "admin", "live test"), ticket,
                                 "Sprawdzamy").id

        def solved() -> bool:
            assert worker.poll() is None, "the worker exited; see desk-worker.log"
            with factory() as s:
                return s.get_one(Ticket, got.ticket_id).status == "solved"

        # the loop queues once a minute: up to a minute, then the drain and the worker
        until(solved, timeout=150, what="the time rule run by the worker")
        with factory() as s:
            kinds = s.scalars(select(TicketEvent.actor).where(
                TicketEvent.ticket_id == got.ticket_id, TicketEvent.kind == "status")).all()
            assert kinds == [f"rule:live {tag}"]
        # the reply's delivery job went the same road: its outbox row is drained every few
        # seconds, while the time rule's job went to RQ at once (Redis up), so a daemon just
        # restarted by an earlier file may run the rule before its first drain
        def delivery_sent() -> bool:
            with factory() as s:
                job = s.scalar(select(JobOutbox).where(
                    JobOutbox.job_id == f"desk-deliver-{reply}"))
                assert job is not None, "the reply queued no delivery job"
                return job.sent_at is not None
        until(delivery_sent, timeout=30, what="the reply's delivery job drained to RQ")
        with factory() as s:  # no e-mail sender for this ticket: pending, and says so
            assert s.get_one(TicketMessage, reply).meta["delivery"] in ("pending", "sent")
    finally:
        with transaction(factory) as s:
            s.execute(delete(TicketRule).where(TicketRule.name == f"live {tag}"))
            s.execute(delete(Ticket).where(Ticket.subject == f"Awaria {tag}"))
        engine.dispose()

