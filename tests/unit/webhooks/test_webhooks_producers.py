"""Every producer writes its webhook event in the transaction of its change (SQLite and
PostgreSQL): a verified recording (``recording.ready``), an agent's status change
(``agent.status_changed``), a campaign attempt's result (``campaign.attempt_finished``)
and a disposition (``disposition.set``); each once, however often the change is written."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import soundfile
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import store as acd_store
from controlplane.acd.agent_events import Status as AgentStatus
from controlplane.acd.agent_events import StatusChanged
from controlplane.acd.tenant import Logs
from controlplane.campaigns import dispositions
from controlplane.db import transaction
from controlplane.dialer import attempt_store
from controlplane.dialer import store as dialer_store
from controlplane.dialer.live import AttemptResult
from controlplane.jobs.recordings import verify_recording
from controlplane.models import CallRecord, Tenant, Trunk, User
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Disposition,
)
from controlplane.models.tenancy import Role
from controlplane.models.webhooks import WebhookEvent

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _events(factory: sessionmaker[Session]) -> list[WebhookEvent]:
    with factory() as s:
        return list(s.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))


def _tenant(factory: sessionmaker[Session]) -> tuple[int, int]:
    with transaction(factory) as s:
        t = Tenant(domain="prod.example", name="Prod")
        s.add(t)
        s.flush()
        u = User(tenant_id=t.id, login="ag", role=Role.AGENT, password_hash="x")
        s.add(u)
        s.flush()
        return t.id, u.id


def test_a_verified_recording_is_one_recording_ready(factory, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tid, _ = _tenant(factory)
    wav = tmp_path / "r-1.wav"
    soundfile.write(str(wav), [0.0] * 8000, 8000)
    with transaction(factory) as s:
        s.add(CallRecord(call_id="r-1", tenant_id=tid, direction="inbound", caller="1",
                         callee="2", status="ended", phase="ended", caller_channel="r-1",
                         started_at=NOW, recording_path=str(wav)))
    assert verify_recording("r-1", db_url) == 1.0
    assert verify_recording("r-1", db_url) == 1.0  # the job retried: still one event
    [event] = _events(factory)
    assert (event.type, event.tenant_id) == ("recording.ready", tid)
    assert event.payload["call_id"] == "r-1" and event.payload["duration_s"] == 1.0


def test_agent_status_changes_are_events_with_the_log_rows(factory) -> None:  # type: ignore[no-untyped-def]
    tid, uid = _tenant(factory)
    at = NOW.timestamp()
    logs = Logs(tid, statuses=[
        StatusChanged(str(uid), AgentStatus.LOGGED_OUT, AgentStatus.READY, None, at),
        StatusChanged(str(uid), AgentStatus.READY, AgentStatus.BREAK, "2", at + 5)])
    acd_store.append(factory, [logs])
    events = _events(factory)
    assert [e.type for e in events] == ["agent.status_changed"] * 2
    assert [(e.payload["from"], e.payload["to"]) for e in events] == [
        ("logged_out", "ready"), ("ready", "break")]
    assert events[1].payload["reason"] == "2" and events[1].payload["user_id"] == uid


def _campaign(factory: sessionmaker[Session], tid: int) -> int:
    with transaction(factory) as s:
        q = Queue(tenant_id=tid, name="out")
        s.add_all([q, Trunk(tenant_id=tid, name="carrier", host="127.0.0.1", port=5080,
                            username="u", secret="s" * 20)])
        s.flush()
        c = Campaign(tenant_id=tid, name="c", mode="progressive", status="running",
                     queue_id=q.id, caller_id_mode="fixed", fixed_caller_id="+48221000099",
                     window_start=dtime(0, 0), window_end=dtime(23, 59, 59),
                     window_days=[1, 2, 3, 4, 5, 6, 7], regulator="uk")
        s.add(c)
        s.flush()
        contact = Contact(tenant_id=tid)
        s.add(contact)
        s.flush()
        phone = ContactPhone(tenant_id=tid, contact_id=contact.id, number="+48600000001")
        s.add(phone)
        s.flush()
        s.add(CampaignRecord(tenant_id=tid, campaign_id=c.id, contact_id=contact.id,
                             phone_id=phone.id))
        s.add(Disposition(tenant_id=tid, campaign_id=c.id, code="sale", label="Sale",
                          success=True, action="none"))
        return c.id


def test_attempt_results_and_dispositions_are_events(factory) -> None:  # type: ignore[no-untyped-def]
    tid, uid = _tenant(factory)
    cid = _campaign(factory, tid)
    [plan] = dialer_store.running_campaigns(factory)
    [taken] = attempt_store.reserve(factory, plan, 1, NOW.timestamp(), guaranteed=True,
                                    rng=random.Random(1))
    call_id = f"campaign-{taken.attempt_id}"
    result = AttemptResult(
        attempt_id=taken.attempt_id, call_id=call_id, tenant_id=tid, number="+48600000001",
        outcome="human", amd_verdict="human", amd_source="live", app_amd_verdict=None,
        hangup_cause=16, hangup_cause_txt="Normal", hangup_by="caller", agent_endpoint=None,
        dial_at=NOW, answer_at=NOW, greeting_end_at=NOW, amd_decision_at=NOW,
        agent_connect_at=NOW, message_start_at=None, ended_at=NOW + timedelta(seconds=30))
    attempt_store.finish(factory, plan, result, NOW.timestamp() + 30, uid)
    attempt_store.finish(factory, plan, result, NOW.timestamp() + 30, uid)  # again: no-op
    [finished] = _events(factory)
    assert finished.type == "campaign.attempt_finished"
    assert finished.payload["outcome"] == "human" and finished.payload["campaign_id"] == cid
    with factory() as s:
        attempt = s.scalars(select(DialAttempt)).one()
    with transaction(factory) as s:
        dispositions.dispose(s, tid, attempt.id, uid, supervisor=False, code="sale",
                             recontact_at=None, note="", now=NOW + timedelta(minutes=1))
    events = _events(factory)
    assert [e.type for e in events] == ["campaign.attempt_finished", "disposition.set"]
    assert events[1].payload["code"] == "sale" and events[1].payload["success"] is True
    assert events[1].payload["attempt_id"] == attempt.id
