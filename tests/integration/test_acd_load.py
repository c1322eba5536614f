"""The ACD under load and across a crash, against the lab (issue 3).

Five agents on lab desk phones (demo-1004…demo-1008) log in and get ready with feature
codes; callers dial a DID whose flow goes straight into a queue. The lab's desk phones
hang up on their own after ``PHONE_HANGUP_AFTER`` seconds (the agent finishing the call),
so every caller is eventually served. Assertions come from the database and Asterisk:
call records, the queue log, and the lab's channels.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import redis
from helpers import until
from labtools import (
    agents_on_phones,
    lab_cli,
    log_agents,
    records_for,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane import stack
from controlplane.db import transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import (
    CallbackRequest,
    CallRecord,
    Did,
    Tenant,
    Trunk,
)
from controlplane.models.acd import Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall

pytestmark = pytest.mark.integration
DID = "48221000050"
PHONES = {"la4": "demo-1004", "la5": "demo-1005", "la6": "demo-1006", "la7": "demo-1007",
          "la8": "demo-1008"}
db = session_factory


def flow(queue: str) -> dict:  # type: ignore[type-arg]
    return {
        "format_version": 1, "id": f"load_{queue}", "name": "Straight to the queue",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 600},
        "start": "q",
        "nodes": {"q": {"type": "queue", "queue": queue, "priority": 1}},
    }


@pytest.fixture
def acd(platform) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    """Five agents bound to desk phones, a queue ``load`` behind DID 48221000050."""
    factory = db(platform)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant.id, PHONES)
        old = s.scalar(select(Queue).where(Queue.tenant_id == tenant.id, Queue.name == "load"))
        if old is not None:
            s.delete(old)
        s.flush()
        queue = Queue(tenant_id=tenant.id, name="load", strategy="longest_idle", ring_timeout_s=10,
                      wrap_up_s=0, recording="always", announce_every_s=None, callback_key="9")
        s.add(queue)
        s.flush()
        for penalty, login in enumerate(PHONES):
            s.add(QueueMember(queue_id=queue.id, user_id=users[login], penalty=penalty))
        if s.scalar(select(Did).where(Did.number == DID)) is None:  # a DID of this test's own
            lab = s.scalar(select(Trunk).where(Trunk.tenant_id == tenant.id, Trunk.name == LAB_TRUNK))
            s.add(Did(tenant_id=tenant.id, number=DID, trunk_id=lab.id))
        doc = flow("load")
        version = flow_store.save_draft(s, tenant.id, doc["id"], doc)
        s.flush()
        flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
        did_store.bind_did(s, tenant.id, DID, doc["id"])
        tenant_id = tenant.id
    reload_acd(platform, tenant_id)
    log_agents(platform, PHONES.values(), users, "*50", "ready")
    yield users
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 0")
    log_agents(platform, PHONES.values(), users, "*53", "logged_out")
    with transaction(factory) as s:
        did_store.bind_did(s, tenant_id, DID, None)
        s.execute(delete(QueueMember))


def call_many(platform, n: int, hangup_after: float, gap_s: float = 0.3) -> list[str]:  # type: ignore[no-untyped-def]
    callers = []
    for _ in range(n):
        caller = unique_caller()
        labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                         hangup_after=hangup_after))
        callers.append(caller)
        time.sleep(gap_s)  # the carrier's calls arrive one after another, not in one packet
    return callers


def rows(platform, callers: list[str]) -> list[CallRecord]:  # type: ignore[no-untyped-def]
    return [r for c in callers for r in records_for(platform, c)]


def all_ended(platform, callers: list[str], timeout: float) -> list[CallRecord]:  # type: ignore[no-untyped-def]
    def done() -> list[CallRecord] | None:
        found = rows(platform, callers)
        return found if len(found) >= len(callers) and all(r.status == "ended" for r in found) else None

    return until(done, timeout=timeout, interval=1.0, what=f"{len(callers)} calls to end")


def queue_events(platform, call_ids: list[str]) -> dict[str, list[tuple[str, datetime]]]:  # type: ignore[no-untyped-def]
    with db(platform)() as s:
        out: dict[str, list[tuple[str, datetime]]] = {c: [] for c in call_ids}
        for r in s.scalars(select(QueueLog).where(QueueLog.interaction_id.in_(call_ids))
                           .order_by(QueueLog.id)):
            out[r.interaction_id].append((r.kind, r.at))
        return out


def assert_one_agent_call_at_a_time(records: list[CallRecord]) -> None:
    by_agent: dict[str, list[CallRecord]] = {}
    for r in records:
        by_agent.setdefault(r.agent_endpoint, []).append(r)
    for agent, calls in by_agent.items():
        calls.sort(key=lambda r: r.answered_at)
        for a, b in zip(calls, calls[1:], strict=False):
            assert a.ended_at <= b.answered_at, f"{agent} got {b.call_id} while on {a.call_id}"


def test_twenty_callers_five_agents_everyone_served_once(platform, acd) -> None:  # type: ignore[no-untyped-def]
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 6")
    callers = call_many(platform, 20, hangup_after=150)
    records = all_ended(platform, callers, timeout=150)

    assert len(records) == 20 and len({r.call_id for r in records}) == 20  # none lost or doubled
    assert all(r.answered_at is not None for r in records), [r.phase for r in records]
    assert {r.agent_endpoint for r in records} == set(PHONES.values())  # all five worked
    assert all(r.hangup_by == "agent" for r in records)  # the agent finished each call
    assert all(r.recording_path for r in records)  # the queue records always
    assert_one_agent_call_at_a_time(records)
    events = queue_events(platform, [r.call_id for r in records])
    for kinds in events.values():
        names = [k for k, _ in kinds]
        assert names[0] == "enter" and names.count("answer") == 1 and names[-1] == "end", names


def test_restart_under_load_keeps_places_and_talks(platform, acd) -> None:  # type: ignore[no-untyped-def]
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 14")
    callers = call_many(platform, 25, hangup_after=240, gap_s=0.25)
    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"))

    def loaded() -> bool:
        found = rows(platform, callers)
        talking = [r for r in found if r.phase == "talking"]
        waiting = [r for r in found if r.phase == "queued"]
        return len(talking) == 5 and len(waiting) == 20

    until(loaded, timeout=60, interval=0.5, what="5 talking and 20 waiting")
    before = {r.call_id: r for r in rows(platform, callers)}
    talking = {c for c, r in before.items() if r.phase == "talking"}
    waiting = [c for c, r in before.items() if r.phase == "queued"]
    events = queue_events(platform, waiting)
    arrival = sorted(waiting, key=lambda c: events[c][0][1])

    platform.kill_controlplane()  # SIGKILL mid-load
    time.sleep(3)
    platform.start_controlplane()
    records = all_ended(platform, callers, timeout=200)
    client.close()

    assert len(records) == 25 and len({r.call_id for r in records}) == 25
    by_id = {r.call_id: r for r in records}
    for call_id in talking:  # the conversations went on through the crash, not cut
        r = by_id[call_id]
        assert r.answered_at == before[call_id].answered_at
        assert r.hangup_by == "agent" and r.billsec_s >= 12, (r.hangup_by, r.billsec_s)
    assert all(by_id[c].answered_at is not None for c in waiting)  # every waiting caller served
    assert_one_agent_call_at_a_time(records)
    # They kept their places: the first five served after the restart are the five who had
    # waited longest, and nobody entered the queue a second time.
    served = sorted(waiting, key=lambda c: by_id[c].answered_at)
    assert set(served[:5]) == set(arrival[:5]), (served[:5], arrival[:5])
    after = queue_events(platform, waiting)
    assert all([k for k, _ in kinds].count("enter") == 1 for kinds in after.values())


def test_unregistered_phone_is_never_rung(platform, acd) -> None:  # type: ignore[no-untyped-def]
    # la4 (demo-1004) has waited longest but its phone leaves the network.
    lab_cli(platform, "pjsip send unregister deskphone-demo-1004-reg")
    phones = stack.platform_instance(platform.settings)
    until(lambda: "demo-1004" not in phones.cli("pjsip show contacts"), timeout=20,
          what="demo-1004's contact to go")
    try:
        lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 4")
        callers = call_many(platform, 4, hangup_after=60)
        records = all_ended(platform, callers, timeout=60)
        assert all(r.answered_at is not None for r in records)
        assert "demo-1004" not in {r.agent_endpoint for r in records}
        with db(platform)() as s:
            offers = s.scalars(select(QueueLog).where(
                QueueLog.interaction_id.in_([r.call_id for r in records]),
                QueueLog.kind == "offer", QueueLog.user_id == acd["la4"])).all()
        assert offers == []
    finally:
        lab_cli(platform, "pjsip send register deskphone-demo-1004-reg")
        until(lambda: "demo-1004" in phones.cli("pjsip show contacts"), timeout=30,
              what="demo-1004 registered again")


def test_caller_presses_the_callback_key_and_a_request_is_stored(platform, acd) -> None:  # type: ignore[no-untyped-def]
    log_agents(platform, PHONES.values(), acd, "*5201", "break")  # nobody to answer: it waits
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller, dtmf="9",
                                                     dtmf_at=4, hangup_after=40))
    row = all_ended(platform, [caller], timeout=40)[0]
    assert row.answered_at is None and row.hangup_by == "system"
    assert row.duration_s < 15  # released after the goodbye, not at the 40 s timer
    with db(platform)() as s:
        req = s.scalars(select(CallbackRequest).where(CallbackRequest.call_id == row.call_id)).one()
        kinds = [q.kind for q in s.scalars(select(QueueLog).where(
            QueueLog.interaction_id == row.call_id).order_by(QueueLog.id))]
    assert req.number == caller and req.queue == "load" and req.status == "open"
    assert kinds == ["enter", "callback"]


def test_redis_restarting_empty_rebuilds_the_live_state(platform, acd) -> None:  # type: ignore[no-untyped-def]
    settings = platform.settings
    pid = stack.pid_alive(settings, "redis")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)  # Redis dies and comes back with nothing
    stack.forget_child(pid)
    stack.pidfile(settings, "redis").unlink(missing_ok=True)
    shutil.rmtree(settings.runtime_dir / "redis")
    stack.start_redis(settings)
    client = redis.Redis.from_url(settings.redis_url_for("admin"))  # its append-only file is gone: empty

    def rebuilt() -> dict[str, dict] | None:  # type: ignore[type-arg]
        keys = list(client.scan_iter("centrala:acd:*:agents"))
        if not keys:
            return None
        agents = {k.decode(): json.loads(v) for k, v in client.hgetall(keys[0]).items()}
        mine = {a: agents.get(str(u)) for a, u in acd.items()}
        return mine if all(v and v["status"] == "ready" for v in mine.values()) else None

    until(rebuilt, timeout=15, what="agents back in Redis")
    until(lambda: client.get("centrala:controlplane:heartbeat"), timeout=10,
          what="the control plane's heartbeat back")
    client.close()
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 3")
    records = all_ended(platform, call_many(platform, 1, hangup_after=30), timeout=30)
    assert records[0].answered_at is not None  # routing goes on
