"""Preview dialing and dispositions against a real database (SQLite file and PostgreSQL):
batches, skips, ownership of private recontacts, the attempt rows; dispositions and their
follow-ups and refusals; and the daemon side through a real Redis, the daemon's real command
reader, a real ``PreviewDialer`` and a real ``CallService`` whose ARI is a recorder (the
ARI events of a call are fed to it as Asterisk would send them)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane import daemon
from controlplane.bus import send_preview_command
from controlplane.calls.service import CallService
from controlplane.campaigns import dispositions as disp
from controlplane.campaigns import recontacts
from controlplane.campaigns.exceptions import Conflict, NotFound
from controlplane.config import load_settings
from controlplane.db import transaction
from controlplane.dialer import preview_store as pr
from controlplane.dialer.live import AttemptResult
from controlplane.dialer.preview import PreviewDialer
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.models import PhoneEndpoint, Role, Tenant, Trunk, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Disposition,
    Recontact,
)
from controlplane.security.command_guard import CommandGuard

NUMBERS = ("+1000001", "+4000001", "+1000002", "+1000003", "+1000004", "+1000005", "+1000006")
CALLER_ID = "+48221000099"


@dataclass(frozen=True)
class W:
    tenant: int
    other_tenant: int
    a1: int
    a2: int
    boss: int
    nophone: int
    campaign: int
    target: int
    records: dict[str, int]


def build(db: sessionmaker[Session], batch_size: int = 3) -> W:
    with transaction(db) as s:
        t, o = Tenant(domain="pv.example", name="PV"), Tenant(domain="o.example", name="O")
        s.add_all([t, o])
        s.flush()
        users = {n: User(tenant_id=t.id, login=n, role=r, password_hash="x") for n, r in
                 (("a1", Role.AGENT), ("a2", Role.AGENT), ("boss", Role.SUPERVISOR),
                  ("nophone", Role.AGENT))}
        s.add_all(users.values())
        s.flush()
        s.add_all([PhoneEndpoint(tenant_id=t.id, name="ph-a1", extension="1101", secret="s" * 16,
                                 user_id=users["a1"].id),
                   PhoneEndpoint(tenant_id=t.id, name="ph-a2", extension="1102", secret="s" * 16,
                                 user_id=users["a2"].id),
                   Trunk(tenant_id=t.id, name="pv-carrier", host="127.0.0.1", username="u",
                         secret="s" * 16)])
        c = Campaign(tenant_id=t.id, name="pv", mode="preview", status="running",
                     caller_id_mode="fixed", fixed_caller_id=CALLER_ID,
                     window_start=dtime(0, 0), window_end=dtime(23, 59, 59),
                     window_days=[1, 2, 3, 4, 5, 6, 7], preview_batch_size=batch_size)
        target = Campaign(tenant_id=t.id, name="pv-next", mode="progressive")
        s.add_all([c, target])
        s.flush()
        records = {}
        for i, number in enumerate(NUMBERS):
            contact = Contact(tenant_id=t.id, first_name=f"C{i}")
            s.add(contact)
            s.flush()
            phone = ContactPhone(tenant_id=t.id, contact_id=contact.id, number=number)
            s.add(phone)
            s.flush()
            rec = CampaignRecord(tenant_id=t.id, campaign_id=c.id, contact_id=contact.id,
                                 phone_id=phone.id, outcome_counts={})
            s.add(rec)
            s.flush()
            records[number] = rec.id
        s.add_all([
            Disposition(tenant_id=t.id, campaign_id=c.id, code="sale", label="Sale", success=True),
            Disposition(tenant_id=t.id, campaign_id=c.id, code="cb", action="recontact",
                        recontact_private=True),
            Disposition(tenant_id=t.id, campaign_id=None, code="dnc", action="close"),
            Disposition(tenant_id=t.id, campaign_id=c.id, code="mv", action="move",
                        action_campaign_id=target.id),
        ])
        return W(t.id, o.id, users["a1"].id, users["a2"].id, users["boss"].id,
                 users["nophone"].id, c.id, target.id, records)


@pytest.fixture
def w(factory: sessionmaker[Session]) -> W:
    return build(factory)


def ids(items: list[pr.BatchItem]) -> list[int]:
    return [i.record_id for i in items]


def result(call_id: str, outcome: str, at: datetime, cause: int = 16) -> AttemptResult:
    answered = at + timedelta(seconds=3) if outcome == "human" else None
    return AttemptResult(
        attempt_id=call_id.removeprefix("preview-"), call_id=call_id, tenant_id=None,
        number="", outcome=outcome, amd_verdict=None, amd_source="off", app_amd_verdict=None,
        hangup_cause=cause, hangup_cause_txt="x", hangup_by="agent", agent_endpoint="ph-a1",
        dial_at=at, answer_at=answered, greeting_end_at=None, amd_decision_at=None,
        agent_connect_at=answered, message_start_at=None, ended_at=at + timedelta(seconds=20))


def row(db: sessionmaker[Session], model: Any, id_: int) -> Any:
    with db() as s:
        return s.get(model, id_)


# ---- batches, skips, ownership ----

def test_the_same_batch_until_every_record_was_tried_then_the_next(factory, w) -> None:
    now = time.time()
    first = pr.batch(factory, w.tenant, w.a1, w.campaign, now)
    assert ids(first) == [w.records[n] for n in NUMBERS[:3]]
    assert all(i.status == "ready" and i.kind == "fresh" for i in first)
    assert ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now + 1)) == ids(first)
    other = pr.batch(factory, w.tenant, w.a2, w.campaign, now)
    assert ids(other) == [w.records[n] for n in NUMBERS[3:6]]  # never one of a1's
    pr.skip(factory, w.tenant, w.a1, w.campaign, ids(first)[0], now)
    pr.skip(factory, w.tenant, w.a1, w.campaign, ids(first)[1], now)
    assert ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now)) == [ids(first)[2]]
    pr.skip(factory, w.tenant, w.a1, w.campaign, ids(first)[2], now)
    # all tried: the next batch is what is left and due (skipped ones are an hour away)
    assert ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now)) == [w.records[NUMBERS[6]]]


def test_skip_uses_the_campaigns_rule_or_an_hour_and_writes_no_attempt_row(factory, w) -> None:
    now = time.time()
    with transaction(factory) as s:
        s.get(Campaign, w.campaign).preview_batch_size = 1
    r = ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now))[0]
    assert pr.skip(factory, w.tenant, w.a1, w.campaign, r, now) == "scheduled"
    rec = row(factory, CampaignRecord, r)
    assert (rec.attempts, rec.last_outcome, rec.outcome_counts) == (0, "skipped", {"skipped": 1})
    assert rec.assigned_user_id is None
    assert rec.next_due_at.timestamp() == pytest.approx(now + 3600, abs=1)
    with transaction(factory) as s:
        c = s.get(Campaign, w.campaign)
        c.retry_rules = {**c.retry_rules, "skipped": {"max_attempts": 2, "interval_s": 1}}
        c.preview_batch_size = 10
    with pytest.raises(pr.PreviewError) as err:
        pr.skip(factory, w.tenant, w.a1, w.campaign, r, now)  # no longer in the batch
    assert err.value.code == "not_in_batch"
    held = ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now + 3601))
    assert r in held
    assert pr.skip(factory, w.tenant, w.a1, w.campaign, r, now + 3601) == "closed"  # 2nd skip
    with factory() as s:
        assert s.scalars(select(DialAttempt)).all() == []


def test_private_recontacts_come_first_and_ownership_survives_the_hold(factory, w) -> None:
    now = time.time()
    mine, theirs = w.records[NUMBERS[5]], w.records[NUMBERS[6]]
    past = datetime.now(UTC) - timedelta(minutes=5)
    with transaction(factory) as s:
        recontacts.schedule_recontact(s, w.tenant, mine, past, user_id=w.a1)
        recontacts.schedule_recontact(s, w.tenant, theirs, past, user_id=w.a2)
    batch = pr.batch(factory, w.tenant, w.a1, w.campaign, now)
    assert ids(batch)[0] == mine and batch[0].kind == "private_recontact"
    assert theirs not in ids(batch)  # a2's promise is not given to a1
    fresh = ids(batch)[1]
    dials = {r: pr.open_attempt(factory, w.tenant, w.a1, w.campaign, r, now, random.Random(1)) for r in (mine, fresh)}
    assert row(factory, CampaignRecord, mine).assigned_user_id == w.a1  # the owner
    assert row(factory, CampaignRecord, fresh).assigned_user_id is None  # nobody's
    d = dials[fresh]
    assert d.call_id == f"preview-{w.campaign}-{d.attempt_id}" and d.endpoint == "ph-a1"
    a = row(factory, DialAttempt, d.attempt_id)
    assert (a.mode, a.caller_id, a.trunk, a.agent_user_id, a.outcome) == (
        "preview", CALLER_ID, "pv-carrier", w.a1, None)
    assert [i.status for i in pr.current_batch(factory, w.tenant, w.a1, w.campaign)] == [
        "dialling", "dialling", "ready"]
    at = datetime.now(UTC)
    assert pr.finish_call(factory, result(dials[mine].call_id, "busy", at, 17), now) == "scheduled"
    assert pr.finish_call(factory, result(d.call_id, "busy", at, 17), now) == "scheduled"
    assert row(factory, CampaignRecord, mine).assigned_user_id == w.a1  # still a1's promise
    assert row(factory, CampaignRecord, fresh).assigned_user_id is None  # a system recontact
    a = row(factory, DialAttempt, d.attempt_id)
    assert (a.outcome, a.hangup_cause, a.dial_at) == ("busy", 17, at)
    assert row(factory, CampaignRecord, fresh).attempts == 1


def test_refusals_say_what(factory, w) -> None:
    now, rng = time.time(), random.Random(0)

    def code(fn, *args) -> str:  # type: ignore[no-untyped-def]
        with pytest.raises(pr.PreviewError) as err:
            fn(factory, *args)
        return err.value.code

    r = ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now))[0]
    assert code(pr.batch, w.other_tenant, w.a1, w.campaign, now) == "not_found"
    assert code(pr.open_attempt, w.tenant, w.a2, w.campaign, r, now, rng) == "not_in_batch"
    pr.open_attempt(factory, w.tenant, w.a1, w.campaign, r, now, rng)
    assert code(pr.open_attempt, w.tenant, w.a1, w.campaign, r, now, rng) == "in_progress"
    r2 = ids(pr.batch(factory, w.tenant, w.nophone, w.campaign, now))[0]
    assert code(pr.open_attempt, w.tenant, w.nophone, w.campaign, r2, now, rng) == "no_phone"
    with transaction(factory) as s:
        q = Queue(tenant_id=w.tenant, name="pvq")
        s.add(q)
        s.flush()
        s.add(QueueMember(queue_id=q.id, user_id=w.a1))
        s.get(Campaign, w.campaign).queue_id = q.id
    assert code(pr.batch, w.tenant, w.a2, w.campaign, now) == "forbidden"  # not in its queue
    with transaction(factory) as s:
        s.get(Campaign, w.campaign).status = "paused"
    assert code(pr.batch, w.tenant, w.a1, w.campaign, now) == "not_running"
    assert code(pr.batch, w.tenant, w.a1, w.target, now) == "not_preview"


def test_an_agent_phone_that_never_took_the_call_leaves_the_record_in_the_batch(factory,
                                                                                  w) -> None:
    now = time.time()
    r = ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now))[0]
    d = pr.open_attempt(factory, w.tenant, w.a1, w.campaign, r, now, random.Random())
    assert pr.close_unconnected(factory, d.call_id, "No user responding (18)", 18, now)
    assert not pr.close_unconnected(factory, d.call_id, "again", 18, now)  # closed once
    a = row(factory, DialAttempt, d.attempt_id)
    assert (a.outcome, a.hangup_cause) == ("failed", 18)
    assert a.hangup_cause_txt.startswith("agent phone: No user responding")
    item = next(i for i in pr.current_batch(factory, w.tenant, w.a1, w.campaign)
                if i.record_id == r)
    assert (item.status, item.attempts) == ("ready", 0)


# ---- dispositions ----

def human_attempt(db: sessionmaker[Session], w: W, user: int | None = None) -> int:
    """A preview attempt of ``user`` (a1) that reached a person; its record is done."""
    user = user or w.a1
    now = time.time()
    r = ids(pr.batch(db, w.tenant, user, w.campaign, now))[0]
    d = pr.open_attempt(db, w.tenant, user, w.campaign, r, now, random.Random())
    assert pr.finish_call(db, result(d.call_id, "human", datetime.now(UTC)), now) == "done"
    return d.attempt_id


def dispose(db: sessionmaker[Session], w: W, attempt: int, code: str, *,
            user: int | None = None, when: datetime | None = None,
            supervisor: bool = False) -> dict[str, Any]:
    with transaction(db) as s:
        return disp.dispose(s, w.tenant, attempt, user or w.a1, supervisor=supervisor, code=code,
                            recontact_at=when, note="call after 5", now=datetime.now(UTC))


def test_a_private_recontact_disposition_schedules_it_for_the_agent(factory, w) -> None:
    attempt = human_attempt(factory, w)
    due = datetime.now(UTC) + timedelta(days=2)
    out = dispose(factory, w, attempt, "cb", when=due)
    assert out["record_state"] == "scheduled" and out["success"] is False
    a = row(factory, DialAttempt, attempt)
    assert a.disposition_code == "cb"
    rec = row(factory, CampaignRecord, a.record_id)
    assert (rec.state, rec.assigned_user_id, rec.attempts) == ("scheduled", w.a1, 0)
    assert rec.next_due_at == due
    rc = row(factory, Recontact, out["recontact_id"])
    assert (rc.user_id, rc.status, rc.due_at, rc.note) == (w.a1, "scheduled", due, "call after 5")
    assert rc.reminder_at == due - timedelta(minutes=5)


def test_close_move_and_none_follow_ups(factory, w) -> None:
    out = dispose(factory, w, human_attempt(factory, w), "sale")
    assert (out["record_state"], out["success"]) == ("done", True)
    out = dispose(factory, w, human_attempt(factory, w), "dnc")  # the tenant-wide code
    assert out["record_state"] == "closed"
    attempt = human_attempt(factory, w)
    out = dispose(factory, w, attempt, "mv")
    assert out["record_state"] == "closed" and out["moved_to"]["created"] is True
    moved = row(factory, CampaignRecord, out["moved_to"]["record_id"])
    source = row(factory, CampaignRecord, row(factory, DialAttempt, attempt).record_id)
    assert (moved.campaign_id, moved.state) == (w.target, "fresh")
    assert (moved.contact_id, moved.phone_id) == (source.contact_id, source.phone_id)


def test_disposition_refusals_name_the_field_or_say_why(factory, w) -> None:
    attempt = human_attempt(factory, w)
    with pytest.raises(disp.InvalidField) as err:
        dispose(factory, w, attempt, "nope")
    assert err.value.field == "code" and "sale" in str(err.value)
    with pytest.raises(disp.InvalidField) as err:
        dispose(factory, w, attempt, "cb")  # no time, and the code has no delay
    assert err.value.field == "recontact_at" and "required" in str(err.value)
    with pytest.raises(disp.InvalidField) as err:
        dispose(factory, w, attempt, "cb", when=datetime.now(UTC) - timedelta(minutes=1))
    assert err.value.field == "recontact_at" and "future" in str(err.value)
    with pytest.raises(disp.InvalidField) as err:
        dispose(factory, w, attempt, "sale", when=datetime.now(UTC) + timedelta(days=1))
    assert err.value.field == "recontact_at"
    with pytest.raises(disp.NotYours):
        dispose(factory, w, attempt, "sale", user=w.a2)
    with pytest.raises(NotFound), transaction(factory) as s:
        disp.dispose(s, w.other_tenant, attempt, w.a1, supervisor=True, code="sale",
                     recontact_at=None, note="", now=datetime.now(UTC))
    assert dispose(factory, w, attempt, "sale", user=w.boss, supervisor=True)["success"]
    with pytest.raises(Conflict):
        dispose(factory, w, attempt, "dnc")  # disposed already
    now = time.time()
    r = ids(pr.batch(factory, w.tenant, w.a1, w.campaign, now))[0]
    d = pr.open_attempt(factory, w.tenant, w.a1, w.campaign, r, now, random.Random())
    with pytest.raises(Conflict, match="still in progress"):
        dispose(factory, w, d.attempt_id, "sale")


def test_a_progressive_attempt_is_disposed_by_the_agent_connected(factory, w) -> None:
    at = datetime.now(UTC)
    with transaction(factory) as s:
        rec = s.get(CampaignRecord, w.records[NUMBERS[0]])
        rec.state = "done"
        a = DialAttempt(tenant_id=w.tenant, campaign_id=w.campaign, record_id=rec.id,
                        call_id="campaign-x-1", number=NUMBERS[0], agent_user_id=w.a2,
                        mode="progressive", dial_at=at, answer_at=at, ended_at=at,
                        outcome="human")
        s.add(a)
        s.flush()
        attempt = a.id
    with pytest.raises(disp.NotYours):
        dispose(factory, w, attempt, "sale")
    out = dispose(factory, w, attempt, "cb", user=w.a2, when=at + timedelta(hours=3))
    assert row(factory, CampaignRecord, w.records[NUMBERS[0]]).assigned_user_id == w.a2
    assert out["due_at"] == (at + timedelta(hours=3)).isoformat()


def test_disposition_crud_validates_each_field(factory, w) -> None:
    def save(fields: dict[str, Any], campaign: int | None = None, id_: int | None = None) -> Any:
        with transaction(factory) as s:
            return disp.to_json(disp.save_disposition(s, w.tenant, campaign or w.campaign,
                                                      fields, id_))

    def field(fields: dict[str, Any], **kw: Any) -> str:
        with pytest.raises(disp.InvalidField) as err:
            save(fields, **kw)
        return err.value.field

    assert field({"code": "a b"}) == "code"
    assert field({"label": "x"}) == "code"  # required
    assert field({"code": "x", "action": "teleport"}) == "action"
    assert field({"code": "x", "action": "move"}) == "action_campaign_id"
    assert field({"code": "x", "action": "move", "action_campaign_id": w.campaign}) == \
        "action_campaign_id"
    assert field({"code": "x", "action": "close", "action_delay_s": 60}) == "action_delay_s"
    assert field({"code": "x", "action": "recontact", "action_delay_s": 0}) == "action_delay_s"
    assert field({"code": "x", "success": "yes"}) == "success"
    assert field({"code": "x", "colour": "red"}) == "colour"
    with pytest.raises(Conflict):
        save({"code": "sale"})
    made = save({"code": "later", "action": "recontact", "action_delay_s": 3600,
                 "recontact_private": False})
    changed = save({"label": "Call later"}, id_=made["id"])
    assert (changed["label"], changed["action_delay_s"]) == ("Call later", 3600)
    with transaction(factory) as s:
        codes = [d.code for d in disp.list_dispositions(s, w.tenant, w.campaign)]
        disp.delete_disposition(s, w.tenant, w.campaign, made["id"])
    assert codes == ["cb", "dnc", "later", "mv", "sale"]
    with pytest.raises(NotFound), transaction(factory) as s:
        disp.delete_disposition(s, w.tenant, w.campaign, made["id"])


# ---- the daemon side: commands, the agent's phone, the call's end ----

class RecordingAri:
    """ARI as the call service uses it; records requests, refuses chosen endpoints."""

    app = "centrala-test"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.refuse: set[str] = set()

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        if path == "/channels" and params.get("endpoint") in self.refuse:
            raise AriError("POST", path, 400, "Allocation failed")
        self.requests.append(("POST", path, params))
        return {}

    async def delete(self, path: str, **params: Any) -> Any:
        self.requests.append(("DELETE", path, params))
        return {}

    async def get(self, path: str, **params: Any) -> Any:
        return []

    def originated(self) -> list[dict[str, Any]]:
        return [p for m, path, p in self.requests if m == "POST" and path == "/channels"]


@pytest.fixture
def panel(redis_port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=redis_port, decode_responses=True, socket_timeout=30)
    yield client
    client.close()


@pytest.fixture
async def live(factory, w, redis_port, tmp_path) -> AsyncIterator[tuple[CallService, RecordingAri]]:  # type: ignore[no-untyped-def]
    rds = aioredis.Redis(port=redis_port)
    await rds.flushall()
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path),
                              "CENTRALA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"})
    ari = RecordingAri()
    calls = CallService(settings, ari, factory, rds)  # type: ignore[arg-type]
    preview = PreviewDialer(factory, calls)
    reader = asyncio.create_task(daemon._commands(  # type: ignore[arg-type]
        rds, None, None, calls, preview, guard=CommandGuard(factory)))
    deadline = time.monotonic() + 10
    while not any(c.get("cmd") == "xread" for c in await rds.client_list()):
        assert not reader.done(), reader
        assert time.monotonic() < deadline, "the command reader never reached XREAD"
        await asyncio.sleep(0.02)
    yield calls, ari
    while not reader.done():  # redis-py may turn a cancel inside XREAD into a logged error
        reader.cancel()
        await asyncio.wait([reader], timeout=0.5)
    await rds.aclose()


async def send(panel: redis.Redis, w: W, command: str, record: int | None = None,
               user: int | None = None) -> dict[str, Any]:
    return await asyncio.to_thread(send_preview_command, panel, command, tenant_id=w.tenant,
                                   user_id=user or w.a1, campaign_id=w.campaign,
                                   record_id=record, timeout_s=5)


def chan(id_: str, name: str, caller: str = "") -> ev.Channel:
    return ev.Channel(id=id_, name=name, state="Up", caller_number=caller, caller_name="",
                      exten="")


async def until_db(fn: Any, what: str) -> Any:
    deadline = time.monotonic() + 10
    while not (got := await asyncio.to_thread(fn)):
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)
    return got


async def test_call_rings_the_agent_then_dials_the_customer_and_the_end_fills_the_row(
        live, panel, factory, w) -> None:  # type: ignore[no-untyped-def]
    calls, ari = live
    batch = await send(panel, w, "batch")
    assert [r["number"] for r in batch["records"]] == list(NUMBERS[:3])
    human, busy = batch["records"][0]["record_id"], batch["records"][1]["record_id"]
    reply = await send(panel, w, "dial", human)
    assert reply["ok"] and reply["caller_id"] == CALLER_ID
    call = reply["call_id"]
    agent_leg = ari.originated()[-1]
    assert agent_leg == {"endpoint": "PJSIP/ph-a1", "app": "centrala-test",
                         "appArgs": "outbound,1000001", "callerId": f'"+1000001" <{CALLER_ID}>',
                         "timeout": 30, "channelId": call}
    t0 = datetime.now(UTC)
    # the agent answers: their channel enters Stasis, the customer is dialled over the trunk
    await calls.on_event(ev.StasisStart(t0, chan(call, "PJSIP/ph-a1-00000001", CALLER_ID),
                                        ("outbound", "1000001")))
    customer = ari.originated()[-1]
    assert (customer["endpoint"], customer["channelId"], customer["callerId"]) == (
        "PJSIP/1000001@pv-carrier", f"{call}-agent", CALLER_ID)
    t1 = t0 + timedelta(seconds=4)
    await calls.on_event(ev.StasisStart(t1, chan(f"{call}-agent", "PJSIP/pv-carrier-00000002"),
                                        ("agent", call)))
    assert ("POST", f"/bridges/{call}-bridge/record", {"name": call, "format": "wav",
            "ifExists": "overwrite", "beep": False}) in ari.requests  # the call is recorded
    t2 = t1 + timedelta(seconds=30)
    await calls.on_event(ev.ChannelHangupRequest(t2, chan(call, "PJSIP/ph-a1-00000001"), 16))
    await calls.on_event(ev.StasisEnd(t2, chan(call, "PJSIP/ph-a1-00000001")))
    await calls.on_event(ev.ChannelDestroyed(t2, chan(f"{call}-agent", "x"), 16, "Normal"))
    await calls.on_event(ev.ChannelDestroyed(t2, chan(call, "x"), 16, "Normal"))  # late, ignored
    a = await until_db(lambda: (x := row(factory, DialAttempt, reply["attempt_id"])).outcome
                       and x, "the human attempt to be filled")
    assert (a.outcome, a.dial_at, a.answer_at, a.agent_connect_at, a.ended_at) == (
        "human", t0, t1, t1, t2)
    assert row(factory, CampaignRecord, human).state == "done"

    reply = await send(panel, w, "dial", busy)
    call = reply["call_id"]
    await calls.on_event(ev.StasisStart(t0, chan(call, "PJSIP/ph-a1-00000003", CALLER_ID),
                                        ("outbound", "4000001")))
    await calls.on_event(ev.ChannelDestroyed(t1, chan(f"{call}-agent", "x"), 17, "User busy"))
    await calls.on_event(ev.StasisEnd(t1, chan(call, "PJSIP/ph-a1-00000003")))
    a = await until_db(lambda: (x := row(factory, DialAttempt, reply["attempt_id"])).outcome
                       and x, "the busy attempt to be filled")
    assert (a.outcome, a.hangup_cause, a.answer_at) == ("busy", 17, None)
    rec = row(factory, CampaignRecord, busy)
    assert (rec.state, rec.attempts, rec.last_outcome) == ("scheduled", 1, "busy")
    again = await send(panel, w, "batch")  # one left of the first batch: still the same batch
    assert [r["record_id"] for r in again["records"]] == [batch["records"][2]["record_id"]]


async def test_an_agent_phone_that_does_not_answer_or_cannot_be_rung(live, panel, factory,
                                                                     w) -> None:  # type: ignore[no-untyped-def]
    calls, ari = live
    first = (await send(panel, w, "batch"))["records"][0]["record_id"]
    reply = await send(panel, w, "dial", first)
    await calls.on_event(ev.ChannelDestroyed(datetime.now(UTC), chan(reply["call_id"], "x"), 19,
                                             "No answer"))
    a = await until_db(lambda: (x := row(factory, DialAttempt, reply["attempt_id"])).outcome
                       and x, "the attempt to be closed")
    assert a.outcome == "failed" and a.hangup_cause == 19
    rec = row(factory, CampaignRecord, first)
    assert (rec.state, rec.assigned_user_id, rec.attempts) == ("in_progress", w.a1, 0)
    ari.refuse.add("PJSIP/ph-a1")
    refused = await send(panel, w, "dial", first)
    assert (refused["ok"], refused["code"]) == (False, "agent_phone")
    assert "ph-a1" in refused["message"]
    skipped = await send(panel, w, "skip", first)  # still in the batch: it can be skipped
    assert skipped == {"ok": True, "record_id": first, "state": "scheduled"}
    bad = await send(panel, w, "dial", 999999)
    assert (bad["ok"], bad["code"]) == (False, "not_found")
