"""A whole outbound campaign against the lab (issue 6, "Live").

200 records over the lab's number plan (100XXXX human, 200XXXX answering machine,
300XXXX no answer, 400XXXX busy, 500XXXX unallocated), a progressive campaign worked by
five agents on lab desk phones, run by the daemon's campaign runner. Half-way through,
the agents' phones become slow to answer (3 s), so people who answer then get no agent
within 2 s: they must hear the abandon message. Everything is asserted from the database:
the compliance rows, the records' next states, the queue log and the call records.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from helpers import until
from labtools import agents_on_phones, lab_cli, log_agents, reload_acd, session_factory
from sqlalchemy import delete, func, select

from controlplane.db import transaction
from controlplane.models import CallRecord, Tenant
from controlplane.models.acd import Queue, QueueLog, QueueMember
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
)
from controlplane.seed import DEMO_DOMAIN

pytestmark = pytest.mark.integration
PHONES = {"ca4": "demo-1004", "ca5": "demo-1005", "ca6": "demo-1006", "ca7": "demo-1007",
          "ca8": "demo-1008"}
# prefix → how many records: people, machines, no answer, busy, unallocated
MIX = {"100": 50, "200": 50, "300": 10, "400": 40, "500": 50}
EXPECTED = {"100": {"human", "abandoned"}, "200": {"machine"}, "300": {"no_answer"},
            "400": {"busy"}, "500": {"unallocated"}}
NEXT_STATE = {"human": "done", "abandoned": "scheduled", "machine": "scheduled",
              "no_answer": "scheduled", "busy": "scheduled", "unallocated": "failed"}


@pytest.fixture
def campaign(platform) -> Iterator[int]:  # type: ignore[no-untyped-def]
    factory = session_factory(platform)
    rng = random.Random(6)
    numbers = [f"+{prefix}{n:04d}" for prefix, k in MIX.items() for n in rng.sample(range(10000), k)]
    rng.shuffle(numbers)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant.id, PHONES)
        for old in s.scalars(select(Campaign).where(Campaign.tenant_id == tenant.id)):
            old.status = "finished"
        queue = s.scalar(select(Queue).where(Queue.tenant_id == tenant.id, Queue.name == "outbound"))
        if queue is None:
            queue = Queue(tenant_id=tenant.id, name="outbound", strategy="longest_idle",
                          ring_timeout_s=10, wrap_up_s=0, recording="always", announce_every_s=None)
            s.add(queue)
            s.flush()
        for penalty, login in enumerate(PHONES):
            s.add(QueueMember(queue_id=queue.id, user_id=users[login], penalty=penalty))
        c = Campaign(tenant_id=tenant.id, name=f"lab-{rng.randrange(10**6)}", mode="progressive",
                     status="draft", queue_id=queue.id, caller_id_mode="fixed",
                     fixed_caller_id="+48221000099", window_start=time(0, 0),
                     window_end=time(23, 59, 59), window_days=[1, 2, 3, 4, 5, 6, 7],
                     ring_timeout_s=15, regulator="uk", default_timezone="Europe/Warsaw")
        s.add(c)
        s.flush()
        for i, number in enumerate(numbers):
            contact = Contact(tenant_id=tenant.id, first_name=f"Lab {i}")
            s.add(contact)
            s.flush()
            phone = ContactPhone(tenant_id=tenant.id, contact_id=contact.id, number=number)
            s.add(phone)
            s.flush()
            s.add(CampaignRecord(tenant_id=tenant.id, campaign_id=c.id, contact_id=contact.id,
                                 phone_id=phone.id))
        campaign_id, tenant_id = c.id, tenant.id
    reload_acd(platform, tenant_id)
    log_agents(platform, PHONES.values(), users, "*50", "ready")
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 3")
    with transaction(factory) as s:
        s.get(Campaign, campaign_id).status = "running"
    yield campaign_id
    with transaction(factory) as s:
        s.get(Campaign, campaign_id).status = "finished"
        s.execute(delete(QueueMember).where(QueueMember.queue_id == queue.id))
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 0")
    lab_cli(platform, "dialplan set global PHONE_ANSWER_DELAY 0.5")
    log_agents(platform, PHONES.values(), users, "*53", "logged_out")


def states(factory, campaign_id: int) -> Counter[str]:  # type: ignore[no-untyped-def]
    with factory() as s:
        return Counter(dict(s.execute(select(CampaignRecord.state, func.count())
                                      .where(CampaignRecord.campaign_id == campaign_id)
                                      .group_by(CampaignRecord.state)).all()))


def test_a_200_record_progressive_campaign(platform, campaign) -> None:  # type: ignore[no-untyped-def]
    factory = session_factory(platform)

    def dialled(n: int):  # type: ignore[no-untyped-def]
        return lambda: sum(v for k, v in states(factory, campaign).items() if k != "fresh") >= n

    until(dialled(100), timeout=300, interval=2, what="100 records dialled")
    lab_cli(platform, "dialplan set global PHONE_ANSWER_DELAY 3")  # agents too slow: abandons
    until(dialled(140), timeout=200, interval=2, what="140 records dialled")
    lab_cli(platform, "dialplan set global PHONE_ANSWER_DELAY 0.5")

    def finished() -> bool:
        st = states(factory, campaign)
        return st["fresh"] == 0 and st["in_progress"] == 0

    until(finished, timeout=400, interval=2, what="every record dialled once")

    with factory() as s:
        attempts = s.scalars(select(DialAttempt).where(DialAttempt.campaign_id == campaign)).all()
        records = {r.id: r for r in s.scalars(select(CampaignRecord)
                                              .where(CampaignRecord.campaign_id == campaign))}
        calls = Counter(s.scalars(select(CallRecord.call_id).where(
            CallRecord.call_id.in_([a.call_id for a in attempts]))).all())
        queued = {q.interaction_id for q in s.scalars(select(QueueLog).where(
            QueueLog.interaction_id.in_([a.call_id for a in attempts])))}

    assert len(attempts) == 200 and len({a.record_id for a in attempts}) == 200  # once each
    outcomes = Counter(a.outcome for a in attempts)
    for a in attempts:  # every outcome is the one the lab's number plan gives
        assert a.outcome in EXPECTED[a.number[1:4]], (a.number, a.outcome, a.hangup_cause)
        assert a.ended_at is not None and a.dial_at <= a.ended_at
        assert a.caller_id == "+48221000099" and a.trunk and a.mode == "progressive"
        assert calls[a.call_id] == 1, a.call_id  # exactly one call record per attempt
        record = records[a.record_id]
        assert record.state == NEXT_STATE[a.outcome], (a.outcome, record.state)
        assert record.attempts == 1 and record.last_outcome == a.outcome
        if record.state == "scheduled":  # a retry is scheduled, later than now
            assert record.next_due_at is not None and record.next_due_at > a.dial_at
    for a in (a for a in attempts if a.outcome == "machine"):  # never given to an agent
        assert a.agent_user_id is None and a.agent_connect_at is None
        assert a.amd_verdict == "MACHINE" and a.call_id not in queued
        assert records[a.record_id].locked_until - a.ended_at >= timedelta(hours=23)  # UK
    people = [a for a in attempts if a.outcome in ("human", "abandoned")]
    for a in people:  # compliance timestamps complete
        assert a.answer_at and a.greeting_end_at and a.amd_decision_at, a.call_id
    for a in (a for a in attempts if a.outcome == "human"):
        assert a.agent_user_id is not None
        assert (a.agent_connect_at - a.greeting_end_at).total_seconds() <= 2.0
    abandoned = [a for a in attempts if a.outcome == "abandoned"]
    assert abandoned, outcomes  # the slow phones made some
    for a in abandoned:  # the message within 2 s of the greeting's end, and the 72 h lockout
        assert a.abandoned and a.agent_connect_at is None
        assert (a.message_start_at - a.greeting_end_at).total_seconds() <= 2.0
        assert records[a.record_id].lock_reason == "abandoned"
        assert records[a.record_id].locked_until - a.ended_at >= timedelta(hours=71)
    assert outcomes["human"] >= 20, outcomes
