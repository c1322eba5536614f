"""The campaign runner's database side (``controlplane/dialer/store.py`` and ``attempt_store.py``) on SQLite and
PostgreSQL: reserving writes the compliance row before any call; a closed or blacklisted
record is not dialled; results move records on by the retry rules and are idempotent;
a restart closes attempts whose call is gone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.dialer import attempt_store, store
from controlplane.dialer.live import AttemptResult
from controlplane.models import Tenant, Trunk
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    BlacklistEntry,
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()


def seed(factory: sessionmaker[Session], numbers: list[str]) -> int:
    with transaction(factory) as s:
        t = Tenant(domain="dial.example", name="Dial", licences=5)
        s.add(t)
        s.flush()
        s.add_all([Queue(tenant_id=t.id, name="out"),
                   Trunk(tenant_id=t.id, name="carrier", host="127.0.0.1", port=5080,
                         username="u", secret="s" * 20)])
        s.flush()
        queue = s.scalar(select(Queue).where(Queue.tenant_id == t.id))
        c = Campaign(tenant_id=t.id, name="c", mode="progressive", status="running",
                     queue_id=queue.id, caller_id_mode="fixed", fixed_caller_id="+48221000099",
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
        s.add(BlacklistEntry(tenant_id=t.id, campaign_id=c.id, pattern="+4899", is_prefix=True))
        return c.id


def result(call_id: str, outcome: str, **kw: object) -> AttemptResult:
    at = datetime.fromtimestamp(NOW, UTC)
    fields: dict[str, object] = dict(
        attempt_id=call_id.removeprefix("campaign-"), call_id=call_id, tenant_id=1,
        number="+48600000001", outcome=outcome, amd_verdict=None, amd_source="none",
        app_amd_verdict=None, hangup_cause=16, hangup_cause_txt="Normal", hangup_by="caller",
        agent_endpoint=None, dial_at=at, answer_at=None, greeting_end_at=None,
        amd_decision_at=None, agent_connect_at=None, message_start_at=None,
        ended_at=at + timedelta(seconds=20))
    fields.update(kw)
    return AttemptResult(**fields)  # type: ignore[arg-type]


def test_reserve_writes_attempts_first_and_skips_what_is_not_dialable(factory) -> None:  # type: ignore[no-untyped-def]
    cid = seed(factory, ["+48600000001", "+48600000002", "+48600000003", "+48990000001"])
    [plan] = store.running_campaigns(factory)
    assert (plan.queue, plan.trunk, plan.regulator.name) == ("out", "carrier", "uk_ofcom")
    with transaction(factory) as s:  # closed by another process (e.g. an HLR job)
        s.scalars(select(CampaignRecord).order_by(CampaignRecord.id)).first().state = "closed"
    taken = attempt_store.reserve(factory, plan, 10, NOW, guaranteed=True, rng=random.Random(1))
    assert sorted(r.number for r in taken) == ["+48600000002", "+48600000003"]  # +4899…: blacklist
    with factory() as s:
        attempts = s.scalars(select(DialAttempt)).all()
        states = {r.id: r.state for r in s.scalars(select(CampaignRecord))}
    assert {a.call_id for a in attempts} == {f"campaign-{r.attempt_id}" for r in taken}
    assert all(a.caller_id == "+48221000099" and a.outcome is None for a in attempts)
    assert sorted(states.values()) == ["closed", "fresh", "in_progress", "in_progress"]
    assert attempt_store.reserve(factory, plan, 10, NOW, guaranteed=True, rng=random.Random(1)) == []
    assert store.counts(factory, cid)["in_progress"] == 2


def test_results_move_records_on_once_and_restart_closes_the_rest(factory) -> None:  # type: ignore[no-untyped-def]
    seed(factory, ["+48600000001", "+48600000002", "+48600000003"])
    [plan] = store.running_campaigns(factory)
    busy, human, lost = attempt_store.reserve(factory, plan, 3, NOW, guaranteed=True, rng=random.Random(1))
    at = datetime.fromtimestamp(NOW, UTC)
    assert attempt_store.finish(factory, plan, result(f"campaign-{busy.attempt_id}", "busy"),
                       NOW + 20, None) == "scheduled"
    assert attempt_store.finish(factory, plan, result(f"campaign-{busy.attempt_id}", "human"),
                       NOW + 20, None) == "scheduled"  # a second result changes nothing
    assert attempt_store.finish(factory, plan, result(f"campaign-{human.attempt_id}", "human",
                                             answer_at=at, greeting_end_at=at),
                       NOW + 20, None) == "done"
    assert attempt_store.recover(factory, live_call_ids=set()) == 1  # the third one's call is gone
    with factory() as s:
        by_number = {a.number: a for a in s.scalars(select(DialAttempt))}
        records = {r.id: r for r in s.scalars(select(CampaignRecord))}
    assert by_number["+48600000001"].outcome == "busy"
    assert by_number["+48600000003"].outcome == "failed"
    assert records[lost.record_id].state == "fresh"  # dialled again later, attempts untouched
    rec = records[busy.record_id]
    assert rec.attempts == 1 and rec.last_outcome == "busy" and rec.next_due_at is not None

