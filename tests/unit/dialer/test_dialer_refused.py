"""Campaign attempts refused by the toll-fraud guard (SQLite and PostgreSQL): a forbidden
number closes its record with outcome ``refused`` (never retried, no attempt counted); a cap
releases it; the compliance row says why."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from datetime import time as dtime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.dialer import attempt_store, store
from controlplane.dialer.compliance import UK_OFCOM
from controlplane.dialer.records import DialRecord, Outcome, RecordKind, RecordState
from controlplane.dialer.retry import DEFAULT_RETRY_RULES, after_attempt
from controlplane.models import Tenant, Trunk
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()


def test_a_refused_number_is_failed_for_good_without_counting_an_attempt() -> None:
    rec = DialRecord(record_id=1, contact_id=1, number="+881234567890", timezone="UTC",
                     kind=RecordKind.FRESH, priority=0, attempts=2)
    up = after_attempt(rec, Outcome.REFUSED, DEFAULT_RETRY_RULES, NOW, UK_OFCOM)
    assert up.state is RecordState.FAILED and up.attempts == 2 and up.next_due_at is None
    assert up.last_outcome is Outcome.REFUSED


def seed(factory: sessionmaker[Session], numbers: list[str]) -> None:
    with transaction(factory) as s:
        t = Tenant(domain="refused.example", name="Refused")
        s.add(t)
        s.flush()
        q = Queue(tenant_id=t.id, name="out")
        s.add_all([q, Trunk(tenant_id=t.id, name="carrier", host="127.0.0.2", username="u",
                            secret="s" * 20)])
        s.flush()
        c = Campaign(tenant_id=t.id, name="c", mode="progressive", status="running",
                     queue_id=q.id, caller_id_mode="fixed", fixed_caller_id="+48221000099",
                     window_start=dtime(0, 0), window_end=dtime(23, 59, 59),
                     window_days=[1, 2, 3, 4, 5, 6, 7], regulator="uk")
        s.add(c)
        s.flush()
        for n in numbers:
            contact = Contact(tenant_id=t.id)
            s.add(contact)
            s.flush()
            phone = ContactPhone(tenant_id=t.id, contact_id=contact.id, number=n)
            s.add(phone)
            s.flush()
            s.add(CampaignRecord(tenant_id=t.id, campaign_id=c.id, contact_id=contact.id,
                                 phone_id=phone.id))


def test_refuse_closes_a_forbidden_number_and_releases_a_capped_one(factory) -> None:  # type: ignore[no-untyped-def]
    seed(factory, ["+881234567890", "+48600000002"])
    [plan] = store.running_campaigns(factory)
    taken = attempt_store.reserve(factory, plan, 2, NOW, guaranteed=True, rng=random.Random(1))
    by_number = {r.number: r for r in taken}
    sat, cap = by_number["+881234567890"], by_number["+48600000002"]
    assert attempt_store.refuse(factory, plan, sat.attempt_id, "satellite numbers not allowed",
                       final=True, now=NOW) == "failed"
    assert attempt_store.refuse(factory, plan, cap.attempt_id, "hourly cap: 600 of 600",
                       final=False, now=NOW) == "fresh"
    with factory() as s:
        attempts = {a.number: a for a in s.scalars(select(DialAttempt))}
        records = {r.id: r for r in s.scalars(select(CampaignRecord))}
    assert attempts["+881234567890"].outcome == "refused"  # the CHECK allows it (both engines)
    assert attempts["+881234567890"].hangup_cause_txt == "satellite numbers not allowed"
    assert attempts["+48600000002"].outcome == "refused"
    assert records[sat.record_id].state == "failed"
    assert records[sat.record_id].attempts == 0 and records[sat.record_id].last_outcome == "refused"
    assert records[cap.record_id].state == "fresh" and records[cap.record_id].attempts == 0
    # the forbidden number is never taken again; the capped one is
    again = attempt_store.reserve(factory, plan, 2, NOW + 1, guaranteed=True, rng=random.Random(1))
    assert [r.number for r in again] == ["+48600000002"]


def test_a_refused_preview_call_is_refused_or_failed_by_why() -> None:
    from controlplane.calls.machine import CallState, Phase
    from controlplane.dialer.preview import outcome_of

    at = datetime.fromtimestamp(NOW, UTC)
    state = CallState(call_id="preview-1-1", phase=Phase.ENDED, tenant_id=1,
                      direction="outbound", caller="1001", callee="881234567890", did=None,
                      trunk="lab", agent_endpoint="demo-1001", started_at=at, prompt=None,
                      dial=None, ended_at=at, hangup_cause=21, hangup_by="system",
                      refused_reason="satellite numbers not allowed (+881)")
    assert outcome_of(state) == "refused"
    capped = CallState(**{**state.__dict__, "refused_reason": "trunk full: 30 of 30 channels"})
    assert outcome_of(capped) == "failed"  # a cap: tried again by the failed rule
