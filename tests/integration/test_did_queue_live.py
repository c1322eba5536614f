"""A DID routed straight to a queue, on a live call: the lab caller dials the DID, the
platform answers and queues them (no IVR), the ready member's desk phone is offered the
call and answers; the call record names that agent and the queue log has enter → answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import until
from labtools import (
    agents_on_phones,
    ended_record,
    latest_status,
    log_agents,
    records_for,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Tenant
from controlplane.models.acd import Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DIDS, DEMO_DOMAIN
from dialplan import labcall

pytestmark = pytest.mark.integration
DID = "48221000003"
PHONES = {"dq1": "demo-1003"}


@pytest.fixture
def queue_did(platform) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    """Agent dq1 on desk phone demo-1003, queue ``didq`` with dq1 as member, DID → didq."""
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant_id, PHONES)
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == "didq"))
        queue = Queue(tenant_id=tenant_id, name="didq", strategy="linear", ring_timeout_s=10,
                      announce_every_s=None)
        s.add(queue)
        s.flush()
        s.add(QueueMember(queue_id=queue.id, user_id=users["dq1"], penalty=0))
        did = s.scalar(select(Did).where(Did.number == DID))
        did.phone_endpoint_id, did.flow_id, did.queue_id = None, None, queue.id
    reload_acd(platform, tenant_id)
    yield users
    log_agents(platform, PHONES.values(), users, "*53", "logged_out")
    with transaction(factory) as s:  # the DID back to its seeded phone
        did = s.scalar(select(Did).where(Did.number == DID))
        did.queue_id = None
        did.phone_endpoint_id = s.scalar(select(PhoneEndpoint.id).where(
            PhoneEndpoint.extension == DEMO_DIDS[DID], PhoneEndpoint.tenant_id == tenant_id))
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == "didq"))
    factory.kw["bind"].dispose()


def test_a_caller_to_a_queue_did_reaches_the_ready_agent(platform, queue_did) -> None:  # type: ignore[no-untyped-def]
    labcall.phone_dials(platform.settings, PHONES["dq1"], "*50", hangup_after=3)
    until(lambda: latest_status(platform, queue_did["dq1"]) not in (None, "logged_out"),
          timeout=30, what="dq1 logged in")
    log_agents(platform, PHONES.values(), queue_did, "*51", "ready")
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller, hangup_after=8))
    row = ended_record(platform, caller)
    assert row.agent_endpoint == "demo-1003" and row.answered_at is not None
    assert row.queue == "didq"
    # the platform answered the caller itself (music while queued) before the agent did
    assert row.platform_answered_at is not None and row.platform_answered_at <= row.answered_at
    with session_factory(platform)() as s:
        kinds = [r.kind for r in s.scalars(select(QueueLog).where(
            QueueLog.interaction_id == row.call_id).order_by(QueueLog.id))]
    assert kinds[0] == "enter" and "answer" in kinds, kinds
    assert len(records_for(platform, caller)) == 1
