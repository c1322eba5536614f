"""Routing decisions of the ACD on live calls (issue 3): strategies, skills, priorities,
overflow by wait and by count, and the sticky agent.

Three agents on lab desk phones (demo-1004…demo-1006) stay logged in for the module; each
test shapes the queues in the database, asks the daemon to reload them, and calls in from
the lab. Desk phones hang up 2 s after answering, so calls finish on their own. Which agent
answered comes from the call records; why from the queue log and the agents' live state.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from helpers import until
from labtools import (
    agents_on_phones,
    lab_cli,
    latest_status,
    log_agents,
    records_for,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import CallRecord, Did, Tenant, Trunk
from controlplane.models.acd import AgentSkill, Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall

pytestmark = pytest.mark.integration
PHONES = {"ra4": "demo-1004", "ra5": "demo-1005", "ra6": "demo-1006"}
DIDS = ("48221000070", "48221000071")


class World:
    def __init__(self, platform: Any, tenant_id: int, users: dict[str, int]) -> None:
        self.platform, self.tenant_id, self.users = platform, tenant_id, users
        self.factory = session_factory(platform)

    def queues(self, spec: dict[str, dict[str, Any]]) -> None:
        """Replace the routing test's queues: name → Queue fields + ``members`` (logins) +
        ``overflow_to`` (a queue name); then reload the daemon's ACD."""
        with transaction(self.factory) as s:
            for q in s.scalars(select(Queue).where(Queue.tenant_id == self.tenant_id,
                                                   Queue.name.like("rt-%"))):
                s.delete(q)
            s.flush()
            made: dict[str, Queue] = {}
            for name, fields in spec.items():
                fields = dict(fields)
                members = fields.pop("members")
                overflow = fields.pop("overflow_to", None)
                fields = {"ring_timeout_s": 10, "wrap_up_s": 0, "recording": "never",
                          "announce_every_s": None, **fields}
                q = Queue(tenant_id=self.tenant_id, name=name, **fields)
                if overflow is not None:
                    q.overflow_queue_id = made[overflow].id
                s.add(q)
                s.flush()
                made[name] = q
                for penalty, login in enumerate(members):
                    s.add(QueueMember(queue_id=q.id, user_id=self.users[login], penalty=penalty))
        reload_acd(self.platform, self.tenant_id)
        time.sleep(1)  # the reload is a stream command: let the daemon read it

    def route(self, did: str, queue: str, priority: int = 0, skills: tuple[str, ...] = ()) -> None:
        node: dict[str, Any] = {"type": "queue", "queue": queue, "priority": priority}
        if skills:
            node["skills"] = list(skills)
        doc = {"format_version": 1, "id": f"rt_{did}", "name": "Routing test",
               "settings": {"language": "en-US", "voice": "en", "max_duration_s": 300},
               "start": "q", "nodes": {"q": node}}
        with transaction(self.factory) as s:
            version = flow_store.save_draft(s, self.tenant_id, doc["id"], doc)
            s.flush()
            flow_store.publish(s, version.flow_id, version.version, tenant_id=self.tenant_id)
            did_store.bind_did(s, self.tenant_id, did, doc["id"])

    def call(self, did: str, hangup_after: float = 60, caller: str | None = None) -> str:
        caller = caller or unique_caller()
        labcall.call(self.platform.settings, labcall.CallSpec(did=did, caller_id=caller,
                                                              hangup_after=hangup_after))
        return caller

    def ended(self, caller: str, timeout: float = 60, after: CallRecord | None = None) -> CallRecord:
        """The caller's call record once it ended (a later call than ``after``)."""
        def done() -> CallRecord | None:
            rows = [r for r in records_for(self.platform, caller) if r.status == "ended"
                    and (after is None or r.call_id != after.call_id)]
            return max(rows, key=lambda r: r.started_at) if rows else None

        return until(done, timeout=timeout, interval=0.5, what=f"call of {caller} to end")

    def feature(self, login: str, code: str, status: str) -> None:
        log_agents(self.platform, [PHONES[login]], {login: self.users[login]}, code, status)

    def live_agents(self) -> dict[str, dict[str, Any]]:
        client = redis.Redis.from_url(self.platform.settings.redis_url_for("admin"))
        try:
            raw = client.hgetall(f"centrala:acd:{self.tenant_id}:agents")
        finally:
            client.close()
        by_id = {str(v): k for k, v in self.users.items()}
        return {by_id[k.decode()]: json.loads(v) for k, v in raw.items() if k.decode() in by_id}

    def queue_log(self, call_id: str) -> list[str]:
        with self.factory() as s:
            return [r.kind for r in s.scalars(select(QueueLog).where(
                QueueLog.interaction_id == call_id).order_by(QueueLog.id))]


@pytest.fixture(scope="module")
def world(platform) -> Iterator[World]:  # type: ignore[no-untyped-def]
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant.id, PHONES)
        lab = s.scalar(select(Trunk).where(Trunk.tenant_id == tenant.id, Trunk.name == LAB_TRUNK))
        for did in DIDS:
            if s.scalar(select(Did).where(Did.number == did)) is None:
                s.add(Did(tenant_id=tenant.id, number=did, trunk_id=lab.id))
        tenant_id = tenant.id
    w = World(platform, tenant_id, users)
    w.queues({"rt-main": {"strategy": "linear", "members": list(PHONES)}})
    log_agents(platform, PHONES.values(), users, "*50", "ready")
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 2")
    yield w
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 0")
    log_agents(platform, PHONES.values(), users, "*53", "logged_out")
    with transaction(factory) as s:
        for did in DIDS:
            did_store.bind_did(s, tenant_id, did, None)
        s.execute(delete(AgentSkill).where(AgentSkill.user_id.in_(users.values())))
        for q in s.scalars(select(Queue).where(Queue.tenant_id == tenant_id,
                                               Queue.name.like("rt-%"))):
            s.delete(q)


@pytest.fixture
def ready(world: World) -> World:
    """Every test starts with the three agents ready."""
    for login in PHONES:
        if latest_status(world.platform, world.users[login]) != "ready":
            world.feature(login, "*51", "ready")
    return world


def sequence(w: World, n: int) -> list[str]:
    """``n`` calls one after another; the desk phone that answered each."""
    agents = []
    for _ in range(n):
        row = w.ended(w.call(DIDS[0]))
        assert row.answered_at is not None, row.phase
        agents.append(row.agent_endpoint)
        until(lambda: all(a["status"] == "ready" for a in w.live_agents().values()), timeout=10,
              what="agents ready again")
    return agents


def test_linear_rings_members_in_their_order(ready: World) -> None:
    ready.queues({"rt-main": {"strategy": "linear", "members": ["ra6", "ra4", "ra5"]}})
    ready.route(DIDS[0], "rt-main")
    assert sequence(ready, 3) == ["demo-1006"] * 3  # first member, free again each time


def test_round_robin_cycles_through_the_members(ready: World) -> None:
    ready.queues({"rt-main": {"strategy": "round_robin", "members": ["ra5", "ra6", "ra4"]}})
    ready.route(DIDS[0], "rt-main")
    got = sequence(ready, 4)
    order = ["demo-1005", "demo-1006", "demo-1004"]
    start = order.index(got[0])
    assert got == [order[(start + i) % 3] for i in range(4)], got


def test_longest_idle_goes_to_whoever_waited_longest(ready: World) -> None:
    ready.queues({"rt-main": {"strategy": "longest_idle", "members": ["ra4", "ra5", "ra6"]}})
    ready.route(DIDS[0], "rt-main")
    for login in ("ra5", "ra6", "ra4"):  # idle since, in this order
        ready.feature(login, "*5201", "break")
    for login in ("ra5", "ra6", "ra4"):
        ready.feature(login, "*51", "ready")
        time.sleep(1)
    assert sequence(ready, 4) == ["demo-1005", "demo-1006", "demo-1004", "demo-1005"]


def test_fewest_calls_goes_to_the_agent_with_fewest_answered(ready: World) -> None:
    ready.queues({"rt-main": {"strategy": "fewest_calls", "members": ["ra4", "ra5", "ra6"]}})
    ready.route(DIDS[0], "rt-main")
    for _ in range(3):
        counts = {PHONES[k]: a["answered"] for k, a in ready.live_agents().items()}
        fewest = min(counts.values())
        got = sequence(ready, 1)[0]
        assert counts[got] == fewest, (got, counts)


def test_skills_route_to_the_only_qualified_agent(ready: World) -> None:
    with transaction(ready.factory) as s:
        s.execute(delete(AgentSkill).where(AgentSkill.user_id.in_(ready.users.values())))
        s.add(AgentSkill(user_id=ready.users["ra6"], skill="de", level=5))
    ready.queues({"rt-main": {"strategy": "linear", "members": ["ra4", "ra5", "ra6"]}})
    ready.route(DIDS[0], "rt-main", skills=("de",))
    assert sequence(ready, 2) == ["demo-1006", "demo-1006"]  # linear would pick demo-1004
    with transaction(ready.factory) as s:
        s.execute(delete(AgentSkill).where(AgentSkill.user_id.in_(ready.users.values())))
    reload_acd(ready.platform, ready.tenant_id)


def test_higher_priority_is_served_first_though_it_came_later(ready: World) -> None:
    ready.queues({"rt-main": {"strategy": "linear", "members": ["ra4"]}})
    ready.route(DIDS[0], "rt-main", priority=1)
    ready.route(DIDS[1], "rt-main", priority=9)
    ready.feature("ra4", "*5201", "break")
    low = ready.call(DIDS[0])
    time.sleep(3)
    high = ready.call(DIDS[1])
    time.sleep(3)
    ready.feature("ra4", "*51", "ready")
    low_row, high_row = ready.ended(low), ready.ended(high)
    assert high_row.answered_at < low_row.answered_at  # 9 before 1, arrival notwithstanding
    assert low_row.started_at < high_row.started_at


def test_overflow_after_the_maximum_wait(ready: World) -> None:
    ready.queues({"rt-spill": {"strategy": "linear", "members": ["ra5"]},
                  "rt-tiny": {"strategy": "linear", "members": ["ra4"], "max_wait_s": 5,
                              "overflow_to": "rt-spill"}})
    ready.route(DIDS[0], "rt-tiny")
    ready.feature("ra4", "*5201", "break")  # nobody free in rt-tiny
    row = ready.ended(ready.call(DIDS[0]))
    assert row.agent_endpoint == "demo-1005"
    assert (row.answered_at - row.started_at).total_seconds() >= 5
    assert ready.queue_log(row.call_id)[:2] == ["enter", "overflow"]


def test_overflow_when_too_many_wait(ready: World) -> None:
    ready.queues({"rt-spill": {"strategy": "linear", "members": ["ra5"]},
                  "rt-tiny": {"strategy": "linear", "members": ["ra4"], "max_waiting": 1,
                              "overflow_to": "rt-spill"}})
    ready.route(DIDS[0], "rt-tiny")
    ready.feature("ra4", "*5201", "break")
    first = ready.call(DIDS[0], hangup_after=12)  # waits in rt-tiny (ra4 is on break)
    time.sleep(3)
    second = ready.ended(ready.call(DIDS[0]))
    assert second.agent_endpoint == "demo-1005"
    assert (second.answered_at - second.started_at).total_seconds() < 4  # at once, no wait
    assert ready.queue_log(second.call_id)[:2] == ["enter", "overflow"]
    first_row = ready.ended(first)
    assert first_row.answered_at is None and first_row.hangup_by == "caller"


def test_a_returning_caller_gets_the_agent_who_last_talked_to_them(ready: World) -> None:
    ready.queues({"rt-main": {"strategy": "longest_idle", "members": ["ra4", "ra5", "ra6"],
                              "sticky_wait_s": 15}})
    ready.route(DIDS[0], "rt-main")
    customer = unique_caller()
    first = ready.ended(ready.call(DIDS[0], caller=customer))
    until(lambda: all(a["status"] == "ready" for a in ready.live_agents().values()), timeout=10,
          what="agents ready again")
    # The agent who just finished is the least idle: longest idle alone would pick another.
    second = ready.ended(ready.call(DIDS[0], caller=customer), after=first)
    assert second.agent_endpoint == first.agent_endpoint
    other = ready.ended(ready.call(DIDS[0]))  # a new customer is not sticky
    assert other.agent_endpoint != first.agent_endpoint


def test_agent_starts_the_recording_on_demand_with_star(ready: World) -> None:
    from controlplane.models import CallRecording

    ready.queues({"rt-main": {"strategy": "linear", "members": ["ra4"], "recording": "on_demand"}})
    ready.route(DIDS[0], "rt-main")
    lab_cli(ready.platform, "dialplan set global PHONE_HANGUP_AFTER 12")
    lab_cli(ready.platform, "dialplan set global PHONE_DTMF *")  # the agent presses * at 4 s
    lab_cli(ready.platform, "dialplan set global PHONE_DTMF_AT 4")
    try:
        caller = ready.call(DIDS[0], hangup_after=60)

        def talking() -> CallRecord | None:
            rows = [r for r in records_for(ready.platform, caller) if r.phase == "talking"]
            return rows[0] if rows else None

        row = until(talking, timeout=20, what="the call answered")
        time.sleep(2)
        assert row.recording_path is None  # on demand: nothing recorded from the answer
        row = ready.ended(caller)
    finally:
        lab_cli(ready.platform, "dialplan set global PHONE_DTMF none")
        lab_cli(ready.platform, "dialplan set global PHONE_HANGUP_AFTER 2")
    assert row.recording_path, "the agent's * started no recording"
    with ready.factory() as s:
        rec = s.scalars(select(CallRecording).where(CallRecording.call_id == row.call_id)).one()
    assert (rec.policy, rec.started_by, rec.queue) == ("on_demand", "agent:demo-1004", "rt-main")
    started_after = (rec.started_at - row.answered_at).total_seconds()
    assert 3.5 < started_after < 8, started_after
    assert rec.ended_at == row.ended_at and rec.duration_s < row.billsec_s - 2


def test_a_waiting_caller_hears_its_position_then_hold_music_again(ready: World) -> None:
    import re

    ready.queues({"rt-main": {"strategy": "linear", "members": ["ra4"], "announce_every_s": 4}})
    ready.route(DIDS[0], "rt-main")
    ready.feature("ra4", "*5201", "break")  # nobody free: the caller waits
    log = ready.platform.settings.runtime_dir / "platform" / "log" / "full.log"
    start = log.stat().st_size
    row = ready.ended(ready.call(DIDS[0], hangup_after=18), timeout=40)
    with log.open(errors="replace") as f:
        f.seek(start)
        text = f.read()
    channel = re.search(r"Started music on hold, class 'default', on channel '([^']+)'", text)
    assert channel, "no hold music at all"
    name = re.escape(channel.group(1))
    said = re.findall(rf"<{name}> Playing 'queue-youarenext", text)
    moh = re.findall(rf"Started music on hold, class 'default', on channel '{name}'", text)
    assert row.answered_at is None and len(said) >= 2, len(said)  # every 4 s of an 18 s wait
    assert len(moh) >= len(said)  # hold music back after each announcement


def test_an_agent_on_a_direct_call_is_not_offered_a_queue_call(ready: World) -> None:
    from controlplane.models import PhoneEndpoint

    direct = "48221000073"
    with transaction(ready.factory) as s:
        if s.scalar(select(Did).where(Did.number == direct)) is None:
            phone = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == "demo-1005"))
            lab = s.scalar(select(Trunk).where(Trunk.tenant_id == ready.tenant_id,
                                               Trunk.name == LAB_TRUNK))
            s.add(Did(tenant_id=ready.tenant_id, number=direct, trunk_id=lab.id,
                      phone_endpoint_id=phone.id))
    ready.queues({"rt-main": {"strategy": "linear", "members": ["ra5", "ra4"]}})
    ready.route(DIDS[0], "rt-main")
    lab_cli(ready.platform, "dialplan set global PHONE_HANGUP_AFTER 12")
    try:
        own = ready.call(direct, hangup_after=30)  # ra5's desk phone rings and answers

        def talking() -> CallRecord | None:
            rows = [r for r in records_for(ready.platform, own) if r.phase == "talking"]
            return rows[0] if rows else None

        until(talking, timeout=20, what="ra5 on the direct call")
        queued = ready.ended(ready.call(DIDS[0]), timeout=40)
    finally:
        lab_cli(ready.platform, "dialplan set global PHONE_HANGUP_AFTER 2")
    assert ready.ended(own).agent_endpoint == "demo-1005"
    assert queued.agent_endpoint == "demo-1004"  # linear would pick ra5, who was busy
    with ready.factory() as s:
        offers = s.scalars(select(QueueLog).where(QueueLog.interaction_id == queued.call_id,
                                                  QueueLog.kind == "offer")).all()
    assert [o.user_id for o in offers] == [ready.users["ra4"]]
