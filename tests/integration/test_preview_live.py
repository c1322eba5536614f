"""A preview campaign worked by an agent on a lab desk phone (issue 6, preview and
dispositions), on the live platform and lab.

The agent's batch is asked for, and each record dialled, through the daemon's command
path (``dialer.preview_batch`` / ``dialer.preview_dial`` on ``centrala:commands``, as the
panel does): the control plane rings the agent's desk phone demo-1002 (lab desk phones
answer by themselves and hang up after ``PHONE_HANGUP_AFTER`` s), and when it answers the
outbound path dials the customer over the trunk: ``+1000001`` answers as a person,
``+4000001`` is busy. Everything is then checked in the database: the compliance rows,
the records' next states, the call record, and a disposition (recontact in two days,
private) giving a ``Recontact`` row and the record scheduled for that agent.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

import pytest
import redis
from helpers import until
from labtools import agents_on_phones, lab_cli, session_factory
from sqlalchemy import select

from controlplane.bus import send_preview_command
from controlplane.campaigns import dispositions as disp
from controlplane.db import transaction
from controlplane.models import CallRecord, PhoneEndpoint, Tenant
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Disposition,
    Recontact,
)
from controlplane.seed import DEMO_DOMAIN

pytestmark = pytest.mark.integration
PHONE = "demo-1002"
CALLER_ID = "+48221000099"
NUMBERS = ("+1000001", "+4000001")  # lab: a person; busy


@dataclass(frozen=True)
class Preview:
    tenant: int
    user: int
    campaign: int
    records: dict[str, int]


@pytest.fixture
def preview(platform) -> Iterator[Preview]:  # type: ignore[no-untyped-def]
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        phone = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == PHONE))
        owner_before = phone.user_id
        user = agents_on_phones(s, tenant.id, {"pv-agent": PHONE})["pv-agent"]
        c = Campaign(tenant_id=tenant.id, name=f"preview-{random.randrange(10**6)}",
                     mode="preview", status="running", caller_id_mode="fixed",
                     fixed_caller_id=CALLER_ID, window_start=dtime(0, 0),
                     window_end=dtime(23, 59, 59), window_days=[1, 2, 3, 4, 5, 6, 7],
                     preview_batch_size=5, regulator="uk", default_timezone="Europe/Warsaw")
        s.add(c)
        s.flush()
        records = {}
        for number in NUMBERS:
            phone_row = s.scalar(select(ContactPhone).where(ContactPhone.tenant_id == tenant.id,
                                                            ContactPhone.number == number))
            if phone_row is None:  # kept from an earlier run: numbers are unique per tenant
                contact = Contact(tenant_id=tenant.id, first_name=f"Preview {number}")
                s.add(contact)
                s.flush()
                phone_row = ContactPhone(tenant_id=tenant.id, contact_id=contact.id,
                                         number=number)
                s.add(phone_row)
                s.flush()
            rec = CampaignRecord(tenant_id=tenant.id, campaign_id=c.id,
                                 contact_id=phone_row.contact_id, phone_id=phone_row.id,
                                 outcome_counts={})
            s.add(rec)
            s.flush()
            records[number] = rec.id
        s.add(Disposition(tenant_id=tenant.id, campaign_id=c.id, code="callback",
                          label="Call back", action="recontact", recontact_private=True))
        ids = Preview(tenant.id, user, c.id, records)
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 6")  # the agent ends the talk
    yield ids
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 0")
    with transaction(factory) as s:
        s.get(Campaign, ids.campaign).status = "finished"
        s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == PHONE)).user_id = owner_before


def test_an_agent_works_a_preview_batch_and_disposes_the_call(platform, preview) -> None:  # type: ignore[no-untyped-def]
    factory = session_factory(platform)
    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"), decode_responses=True)

    def command(name: str, record: int | None = None) -> dict:  # type: ignore[type-arg]
        reply = send_preview_command(client, name, tenant_id=preview.tenant,
                                     user_id=preview.user, campaign_id=preview.campaign,
                                     record_id=record, timeout_s=15)
        assert reply["ok"], reply
        return reply

    batch = command("batch")["records"]
    assert [r["number"] for r in batch] == list(NUMBERS)
    assert command("batch")["records"] == batch  # the same batch until it was worked

    attempts = {}
    for number in NUMBERS:
        reply = command("dial", preview.records[number])
        assert reply["caller_id"] == CALLER_ID

        def ended(attempt_id: int = reply["attempt_id"]) -> DialAttempt | None:
            with factory() as s:
                a = s.get(DialAttempt, attempt_id)
                return a if a is not None and a.outcome is not None else None

        attempts[number] = until(ended, timeout=90, interval=0.5, what=f"{number} to end")

    person, busy = attempts["+1000001"], attempts["+4000001"]
    assert person.outcome == "human", (person.outcome, person.hangup_cause_txt)
    assert person.dial_at <= person.answer_at <= person.ended_at
    assert person.agent_connect_at == person.answer_at  # the agent was on the line first
    assert (person.mode, person.caller_id, person.agent_user_id) == (
        "preview", CALLER_ID, preview.user)
    assert person.trunk and person.call_id == f"preview-{preview.campaign}-{person.id}"
    assert (busy.outcome, busy.hangup_cause, busy.answer_at) == ("busy", 17, None)
    with factory() as s:
        done = s.get(CampaignRecord, preview.records["+1000001"])
        retry = s.get(CampaignRecord, preview.records["+4000001"])
        call = s.scalar(select(CallRecord).where(CallRecord.call_id == person.call_id))
    assert (done.state, done.attempts, done.last_outcome) == ("done", 1, "human")
    assert (retry.state, retry.attempts, retry.last_outcome) == ("scheduled", 1, "busy")
    assert retry.next_due_at > busy.ended_at  # the busy rule: again in 15 min
    assert call is not None and call.agent_endpoint == PHONE and call.answered_at is not None
    assert call.caller == CALLER_ID.lstrip("+") or call.caller == CALLER_ID  # what was shown
    assert command("batch")["records"] == []  # both tried; nothing else is due

    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    with transaction(factory) as s:
        out = disp.dispose(s, preview.tenant, person.id, preview.user, supervisor=False,
                           code="callback", recontact_at=due, note="after lunch",
                           now=datetime.now(UTC))
    assert out["record_state"] == "scheduled"
    with factory() as s:
        rc = s.get(Recontact, out["recontact_id"])
        rec = s.get(CampaignRecord, preview.records["+1000001"])
        a = s.get(DialAttempt, person.id)
    assert (rc.user_id, rc.due_at, rc.status, rc.note) == (preview.user, due, "scheduled",
                                                           "after lunch")
    assert (rec.state, rec.assigned_user_id, rec.next_due_at) == ("scheduled", preview.user, due)
    assert a.disposition_code == "callback"
    client.close()
