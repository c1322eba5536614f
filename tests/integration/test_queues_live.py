"""Queues on live calls: desk-phone feature codes, IVR into a queue, offers to ready agents.

Agents log in and declare readiness from their (lab) desk phones with feature
codes; a caller presses 1 in an IVR menu into the queue and is answered by the agent the
strategy picks; a call in a queue nobody can serve is given up after its
maximum wait.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from helpers import until
from labtools import ended_record, records_for, unique_caller
from sqlalchemy import delete, select

from controlplane.bus import send_admin_command
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import PhoneEndpoint, Role, Tenant, User
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DOMAIN
from dialplan import labcall

pytestmark = pytest.mark.integration
DID = "48221000002"
AGENTS = {"qa1": "demo-1001", "qa2": "demo-1002", "qa3": "demo-1003"}


def flow(queue: str) -> dict:  # type: ignore[type-arg]
    return {
        "format_version": 1, "id": f"to_{queue}", "name": "Queue",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "start": "menu",
        "nodes": {
            "menu": {"type": "menu", "prompt": {"tts": "For sales press one."},
                     "options": {"1": {"next": "q"}}, "timeout_s": 8, "max_retries": 0,
                     "fallback": "bye"},
            "q": {"type": "queue", "queue": queue, "priority": 1},
            "bye": {"type": "hangup"},
        },
    }


@pytest.fixture
def acd(platform) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    """Users bound to the desk phones, queues ``sales`` (linear) and ``nobody`` (max wait 6 s)."""
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    users: dict[str, int] = {}
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        for login, phone_name in AGENTS.items():
            user = s.scalar(select(User).where(User.tenant_id == tenant.id, User.login == login))
            if user is None:
                user = User(tenant_id=tenant.id, login=login, role=Role.AGENT, password_hash="x")
                s.add(user)
                s.flush()
            s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == phone_name)).user_id = user.id
            users[login] = user.id
        for name in ("sales", "nobody"):
            old = s.scalar(select(Queue).where(Queue.tenant_id == tenant.id, Queue.name == name))
            if old is not None:
                s.delete(old)
        s.flush()
        sales = Queue(tenant_id=tenant.id, name="sales", strategy="linear", ring_timeout_s=10,
                      recording="always", announce_every_s=None)
        nobody = Queue(tenant_id=tenant.id, name="nobody", strategy="linear", max_wait_s=6,
                       no_agents="wait", announce_every_s=None)
        s.add_all([sales, nobody])
        s.flush()
        for penalty, login in enumerate(("qa1", "qa2", "qa3")):
            s.add(QueueMember(queue_id=sales.id, user_id=users[login], penalty=penalty))
        tenant_id = tenant.id
    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
    send_admin_command(client, {"cmd": "acd.reload", "tenant_id": tenant_id})
    client.close()
    yield users
    for phone in AGENTS.values():  # log everyone out again
        labcall.phone_dials(platform.settings, phone, "*53", hangup_after=3)
    with transaction(factory) as s:
        did_store.bind_did(s, tenant_id, DID, None)
        s.execute(delete(QueueMember))
    engine.dispose()


def feature(platform, phone: str, code: str) -> None:  # type: ignore[no-untyped-def]
    labcall.phone_dials(platform.settings, phone, code, hangup_after=4)


def status(platform, user_id: int) -> str | None:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            row = s.scalars(select(AgentStatusLog).where(AgentStatusLog.user_id == user_id)
                            .order_by(AgentStatusLog.id.desc())).first()
            return row.to_status if row else None
    finally:
        engine.dispose()


def deploy(platform, queue: str) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        doc = flow(queue)
        version = flow_store.save_draft(s, tenant.id, doc["id"], doc)
        flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
        did_store.bind_did(s, tenant.id, DID, doc["id"])
    engine.dispose()


def test_feature_codes_then_queued_call_reaches_the_first_ready_agent(platform, acd) -> None:  # type: ignore[no-untyped-def]
    # qa2 and qa3 log in and get ready from their desk phones; qa1 stays logged out.
    for phone in ("demo-1002", "demo-1003"):
        feature(platform, phone, "*50")
    until(lambda: status(platform, acd["qa2"]) and status(platform, acd["qa3"]), timeout=20,
          what="qa2 and qa3 logged in")
    for phone in ("demo-1002", "demo-1003"):
        feature(platform, phone, "*51")
    until(lambda: status(platform, acd["qa2"]) == "ready" == status(platform, acd["qa3"]),
          timeout=20, what="qa2 and qa3 ready")
    assert status(platform, acd["qa1"]) in (None, "logged_out")

    deploy(platform, "sales")
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller, dtmf="1",
                                                     dtmf_at=2.5, hangup_after=10))
    row = ended_record(platform, caller)
    # linear: qa1 first, but logged out → never rung; qa2 is next.
    assert row.agent_endpoint == "demo-1002" and row.answered_at is not None
    assert row.recording_path  # the queue records always
    # both answers kept: the platform's (the IVR, what the carrier bills) before the agent's
    assert row.platform_answered_at is not None and row.platform_answered_at < row.answered_at
    assert row.carrier_billsec_s > row.billsec_s + 2 > 2  # the menu and the wait are billed too
    engine = make_engine(platform.settings.database_url)
    with make_sessionmaker(engine)() as s:
        kinds = [r.kind for r in s.scalars(select(QueueLog).where(QueueLog.interaction_id == row.call_id)
                                           .order_by(QueueLog.id))]
    engine.dispose()
    assert kinds[0] == "enter" and "answer" in kinds, kinds
    assert len(records_for(platform, caller)) == 1


def test_queue_nobody_serves_gives_up_after_max_wait(platform, acd) -> None:  # type: ignore[no-untyped-def]
    deploy(platform, "nobody")
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller, dtmf="1",
                                                     dtmf_at=2.5, hangup_after=30))
    row = ended_record(platform, caller, timeout=40)
    assert row.answered_at is None and row.hangup_by == "system"
    assert 7 < row.duration_s < 18  # menu, then 6 s of maximum wait


def test_offered_agent_shows_ringing_then_on_call(platform, acd) -> None:  # type: ignore[no-untyped-def]
    # The agent leg's ChannelStateChange (Ringing) reaches the queue service as
    # offer_ringing: the status log reads reserved → ringing → on_call.
    feature(platform, "demo-1002", "*50")
    until(lambda: status(platform, acd["qa2"]) == "ready", timeout=20, what="qa2 ready")
    deploy(platform, "sales")
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller, dtmf="1",
                                                     dtmf_at=2.5, hangup_after=10))
    row = ended_record(platform, caller)
    assert row.agent_endpoint == "demo-1002" and row.answered_at is not None
    engine = make_engine(platform.settings.database_url)
    with make_sessionmaker(engine)() as s:
        rows = [(r.from_status, r.to_status) for r in s.scalars(
            select(AgentStatusLog).where(AgentStatusLog.user_id == acd["qa2"])
            .order_by(AgentStatusLog.id))]
    engine.dispose()
    assert ("reserved", "ringing") in rows and ("ringing", "on_call") in rows, rows
    assert ("reserved", "on_call") not in rows, rows
