"""Campaign calls on live Asterisk: the dialer's "place this call, tell me what happened".

The test sends ``{"cmd": "dialer.place", ...}`` on ``centrala:admin:commands`` (the stream
only the Redis admin user may write; the panel's stream refuses it) to the running
control plane, which dials the lab carrier's number plan (``100XXXX`` a person saying
"hello?", ``200XXXX`` an answering machine, ``300XXXX`` never answers, ``400XXXX`` busy,
``500XXXX`` unallocated) and publishes one ``dialer.attempt`` event per attempt. A person
goes to the ACD queue ``campaign-test`` where the lab desk phone demo-1004 is logged in
and ready (feature codes), or to ``campaign-empty`` (nobody) and hears the abandon message.
"""

from __future__ import annotations

import base64
import json
import random
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from helpers import until
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import send_admin_command
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.dialer.live import AttemptResult
from controlplane.models import CallRecord, PhoneEndpoint, Role, Tenant, User
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall

pytestmark = pytest.mark.integration
PHONE = "demo-1004"
CALLER_ID = "48221000001"
ABANDON_TEXT = ("We are sorry, all our agents are busy. We will call you again later. "
                "Thank you, goodbye.")


@dataclass
class Ctx:
    settings: object
    tenant_id: int
    user_id: int
    db: sessionmaker[Session]
    r: redis.Redis


def _status(ctx: Ctx) -> str | None:
    with ctx.db() as s:
        row = s.scalars(select(AgentStatusLog).where(AgentStatusLog.user_id == ctx.user_id)
                        .order_by(AgentStatusLog.id.desc())).first()
        return row.to_status if row else None


@pytest.fixture(scope="module")
def ctx(platform) -> Iterator[Ctx]:  # type: ignore[no-untyped-def]
    """Queues ``campaign-test`` (demo-1004's user, logged in and ready) and ``campaign-empty``."""
    engine = make_engine(platform.settings.database_url)
    db = make_sessionmaker(engine)
    with transaction(db) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        user = s.scalar(select(User).where(User.tenant_id == tenant.id, User.login == "cmp1"))
        if user is None:
            user = User(tenant_id=tenant.id, login="cmp1", role=Role.AGENT, password_hash="x")
            s.add(user)
            s.flush()
        s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == PHONE)).user_id = user.id
        for name in ("campaign-test", "campaign-empty"):
            old = s.scalar(select(Queue).where(Queue.tenant_id == tenant.id, Queue.name == name))
            if old is not None:
                s.delete(old)
        s.flush()
        test_q = Queue(tenant_id=tenant.id, name="campaign-test", strategy="linear",
                       ring_timeout_s=10, recording="never", announce_every_s=None)
        empty_q = Queue(tenant_id=tenant.id, name="campaign-empty", strategy="linear",
                        recording="never", announce_every_s=None)
        s.add_all([test_q, empty_q])
        s.flush()
        s.add(QueueMember(queue_id=test_q.id, user_id=user.id, penalty=0))
        c = Ctx(platform.settings, tenant.id, user.id, db,
                redis.Redis.from_url(platform.settings.redis_url_for("admin")))
    send_admin_command(c.r, {"cmd": "acd.reload", "tenant_id": c.tenant_id})
    labcall.phone_dials(platform.settings, PHONE, "*50", hangup_after=4)
    until(lambda: _status(c) not in (None, "logged_out"), timeout=20, what=f"{PHONE} logged in")
    labcall.phone_dials(platform.settings, PHONE, "*51", hangup_after=4)
    until(lambda: _status(c) == "ready", timeout=20, what=f"{PHONE} ready")
    yield c
    labcall.phone_dials(platform.settings, PHONE, "*53", hangup_after=3)
    with transaction(db) as s:
        s.execute(delete(QueueMember).where(QueueMember.user_id == c.user_id))
    c.r.close()
    engine.dispose()


def number(prefix: str) -> str:
    return f"{prefix}{random.randrange(1000, 9999)}"


def place(ctx: Ctx, num: str, queue: str = "campaign-test", **kw: object) -> str:
    attempt = f"it{random.randrange(10**9):09d}"
    cmd = {"cmd": "dialer.place", "attempt_id": attempt, "tenant_id": ctx.tenant_id,
           "number": num, "trunk": LAB_TRUNK, "caller_id": CALLER_ID, "queue": queue,
           "abandon_prompt": ABANDON_TEXT, "ring_timeout_s": 15, **kw}
    send_admin_command(ctx.r, cmd)
    return attempt


def _events(ctx: Ctx, kind: str, attempt: str) -> list[dict]:  # type: ignore[type-arg]
    found = []
    for _id, fields in ctx.r.xrange("centrala:events", count=20000):
        data = json.loads(fields[b"data"])
        if data.get("type") == kind and data.get("attempt_id") == attempt:
            found.append(data)
    return found


def result(ctx: Ctx, attempt: str, timeout: float = 40) -> AttemptResult:
    found = until(lambda: _events(ctx, "dialer.attempt", attempt), timeout=timeout,
                  what=f"dialer.attempt of {attempt}")
    time.sleep(0.5)  # (not an outcome: only to see that no second report follows)
    assert len(_events(ctx, "dialer.attempt", attempt)) == 1, "reported twice"
    data = dict(found[0])
    data.pop("type")
    return AttemptResult.from_event(data)


def records(ctx: Ctx, num: str) -> list[CallRecord]:
    with ctx.db() as s:
        return list(s.scalars(select(CallRecord).where(CallRecord.callee == num)))


def one_record(ctx: Ctx, num: str, r: AttemptResult) -> CallRecord:
    rows = until(lambda: [x for x in records(ctx, num) if x.status == "ended"], timeout=10,
                 what=f"ended record of {num}")
    assert len(records(ctx, num)) == 1, [x.call_id for x in records(ctx, num)]
    row = rows[0]
    assert row.call_id == r.call_id == f"campaign-{r.attempt_id}"
    assert row.direction == "campaign" and row.trunk == LAB_TRUNK
    return row


def queue_log(ctx: Ctx, call_id: str) -> list[str]:
    with ctx.db() as s:
        return [q.kind for q in s.scalars(select(QueueLog).where(QueueLog.interaction_id == call_id)
                                          .order_by(QueueLog.id))]


def ari_hangup(settings, channel_id: str) -> None:  # type: ignore[no-untyped-def]
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password}".encode()).decode()
    req = urllib.request.Request(f"{settings.ari_url}/channels/{channel_id}", method="DELETE",
                                 headers={"Authorization": f"Basic {token}"})
    urllib.request.urlopen(req, timeout=5).close()


def test_unanswered_attempts_end_by_cause(ctx: Ctx) -> None:
    nums = {"no_answer": number("300"), "busy": number("400"), "unallocated": number("500")}
    attempts = {outcome: place(ctx, num) for outcome, num in nums.items()}
    for outcome, attempt in attempts.items():
        r = result(ctx, attempt, timeout=40)
        print(outcome, r)
        assert r.outcome == outcome, r
        assert r.answer_at is None and r.amd_verdict is None and r.agent_endpoint is None
        assert r.dial_at is not None and r.ended_at is not None
        row = one_record(ctx, nums[outcome], r)
        assert row.answered_at is None and row.agent_channel is None
    rang = result(ctx, attempts["no_answer"])
    assert rang.ended_at and rang.dial_at
    assert (rang.ended_at - rang.dial_at).total_seconds() >= 15.5  # rang the full 15 s


def test_ring_timeout_below_fifteen_seconds_is_refused(ctx: Ctx) -> None:
    num = number("300")
    attempt = place(ctx, num, ring_timeout_s=10)
    refused = until(lambda: _events(ctx, "dialer.refused", attempt), timeout=10,
                    what="dialer.refused")
    assert "ring_timeout_s" in refused[0]["reason"]
    assert records(ctx, num) == [] and _events(ctx, "dialer.attempt", attempt) == []


def test_a_machine_is_hung_up_and_never_reaches_the_ready_agent(ctx: Ctx) -> None:
    num = number("200")
    r = result(ctx, place(ctx, num), timeout=40)
    print(r)
    assert r.outcome == "machine" and r.amd_verdict == "MACHINE", r
    assert r.amd_source == "detector" and r.hangup_by == "system"
    assert r.agent_endpoint is None and r.agent_connect_at is None and r.greeting_end_at is None
    assert r.answer_at and r.amd_decision_at and r.ended_at
    assert r.answer_at < r.amd_decision_at <= r.ended_at
    row = one_record(ctx, num, r)
    assert row.agent_channel is None and row.answered_at is None and row.queue is None
    assert row.amd_verdict == "MACHINE" and row.app_amd_status == r.app_amd_verdict
    assert queue_log(ctx, r.call_id) == []  # never offered, never even queued
    assert _status(ctx) == "ready"


def test_a_person_reaches_the_ready_agent_within_two_seconds_of_the_greeting(ctx: Ctx) -> None:
    until(lambda: _status(ctx) == "ready", timeout=20, what=f"{PHONE} ready")
    num = number("100")
    attempt = place(ctx, num)
    call_id = f"campaign-{attempt}"

    def connected() -> CallRecord | None:
        rows = records(ctx, num)
        return rows[0] if rows and rows[0].answered_at and rows[0].agent_endpoint else None

    row = until(connected, timeout=30, what="the agent connected")
    assert row.agent_endpoint == PHONE
    ari_hangup(ctx.settings, call_id)  # the customer's conversation is over
    r = result(ctx, attempt)
    print(r)
    assert r.outcome == "human" and r.amd_verdict in ("HUMAN", "NOTSURE"), r
    assert r.agent_endpoint == PHONE and r.message_start_at is None
    assert r.greeting_end_at and r.agent_connect_at and r.answer_at and r.dial_at
    gap = (r.agent_connect_at - r.greeting_end_at).total_seconds()
    assert 0 <= gap <= 2.0, gap
    assert r.dial_at < r.answer_at <= r.greeting_end_at < r.agent_connect_at < r.ended_at
    row = one_record(ctx, num, r)
    assert row.agent_endpoint == PHONE and row.queue == "campaign-test"
    assert row.amd_verdict == r.amd_verdict
    kinds = queue_log(ctx, call_id)
    assert kinds[0] == "enter" and "answer" in kinds, kinds
    until(lambda: _status(ctx) == "ready", timeout=20, what=f"{PHONE} ready again")


def test_a_person_without_an_agent_hears_the_abandon_message_in_time(ctx: Ctx) -> None:
    num = number("100")
    r = result(ctx, place(ctx, num, queue="campaign-empty"), timeout=60)
    print(r)
    assert r.outcome == "abandoned" and r.amd_verdict in ("HUMAN", "NOTSURE"), r
    assert r.agent_endpoint is None and r.agent_connect_at is None
    assert r.greeting_end_at and r.message_start_at and r.ended_at
    gap = (r.message_start_at - r.greeting_end_at).total_seconds()
    assert 0 < gap <= 2.0, gap
    # the message was played to its end before the platform hung up (it lasts ~5 s)
    assert (r.ended_at - r.message_start_at).total_seconds() > 3.0, r
    assert r.hangup_by == "system"
    row = one_record(ctx, num, r)
    assert row.answered_at is None and row.queue == "campaign-empty"
    assert "abandon" in queue_log(ctx, r.call_id)


def test_a_restart_mid_attempt_carries_the_attempts_on(ctx: Ctx, platform) -> None:  # type: ignore[no-untyped-def]
    ringing_num, amd_num = number("300"), number("200")
    ringing = place(ctx, ringing_num)  # never answers: still ringing at the crash
    in_amd = place(ctx, amd_num)  # answered; its detection runs ~4.6 s
    until(lambda: any(r.phase == "amd" for r in records(ctx, amd_num)), timeout=20,
          what="the second attempt in AMD")
    time.sleep(1)
    platform.kill_controlplane()  # SIGKILL in the middle of both
    time.sleep(2)
    platform.start_controlplane()
    rang = result(ctx, ringing, timeout=60)
    lost = result(ctx, in_amd, timeout=60)
    # Ringing: carried on and ended by its own ring timeout, the dial time kept.
    assert rang.outcome == "no_answer" and rang.dial_at is not None, rang
    assert (rang.ended_at - rang.dial_at).total_seconds() >= 15.5
    # In AMD: the verdict was lost with the process; the person that might be there hears
    # the abandon message at once (counted as abandoned), nobody is left in silence.
    assert lost.outcome == "abandoned" and lost.message_start_at is not None, lost
    assert lost.answer_at is not None and lost.amd_source == "error"
    for num, r in ((ringing_num, rang), (amd_num, lost)):
        one_record(ctx, num, r)  # exactly one call record each
    assert ctx.r.hlen("centrala:dialer:progress") == 0  # nothing left behind
