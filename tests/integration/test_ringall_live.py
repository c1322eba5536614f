"""Ring-all on live calls (issue 3): one queued call rings three agents' desk phones at once.

Three agents on lab desk phones (demo-1001…demo-1003) log in with ``*50``; a DID of this
module's own (48221000060) leads straight into a ``ring_all`` queue. All the lab's desk
phones answer ``PHONE_ANSWER_DELAY`` (0.5 s) after they ring, so the three legs race: the
first to answer is bridged, the other two are hung up, and nobody is charged a missed
offer. Evidence comes from Asterisk (both instances' channels and bridges, the platform's
CEL hang-up log), the queue log, the ACD's live agent state in Redis and the call record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from helpers import until
from labtools import (
    agents_on_phones,
    ended_record,
    lab_cli,
    log_agents,
    records_for,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane import stack
from controlplane.calls.hangup_log import read_hangups
from controlplane.calls.machine import agent_channel_id, call_of_agent_channel
from controlplane.db import transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import CallRecord, Did, Tenant, Trunk
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall
from dialplan.render import cel_log_path

pytestmark = pytest.mark.integration
DID = "48221000060"
PHONES = {"rg1": "demo-1001", "rg2": "demo-1002", "rg3": "demo-1003"}
QUEUE = "ringall"


class World:
    def __init__(self, platform: Any, tenant_id: int, users: dict[str, int]) -> None:
        self.platform, self.tenant_id, self.users = platform, tenant_id, users
        self.factory = session_factory(platform)
        self.started = datetime.now(UTC)

    def concise(self, instance: str) -> list[list[str]]:
        """``core show channels concise`` of ``platform`` or ``lab``: one field list a channel
        (name, context, exten, …, bridge id, unique id)."""
        ast = (stack.platform_instance if instance == "platform" else stack.lab_instance)(
            self.platform.settings)
        out = ast.cli("core show channels concise")
        return [line.split("!") for line in out.splitlines() if "!" in line]

    def ringing_phones(self) -> list[str]:
        """Lab desk phones with a call from the platform (ringing or answered)."""
        return [f[0] for f in self.concise("lab") if f[1] == "desk-phone"]

    def agent_legs(self, call_id: str) -> dict[str, str]:
        """The platform's agent legs of ``call_id``: channel id → bridge id ('' if none)."""
        return {f[-1]: f[-2] for f in self.concise("platform")
                if call_of_agent_channel(f[-1]) == call_id}

    def queue_log(self, call_id: str) -> list[tuple[str, int | None]]:
        with self.factory() as s:
            return [(r.kind, r.user_id) for r in s.scalars(
                select(QueueLog).where(QueueLog.interaction_id == call_id).order_by(QueueLog.id))]

    def live_agents(self) -> dict[int, dict[str, Any]]:
        """The ACD's live state of our agents, as mirrored to Redis."""
        client = redis.Redis.from_url(self.platform.settings.redis_url_for("admin"))
        try:
            raw = client.hgetall(f"centrala:acd:{self.tenant_id}:agents")
        finally:
            client.close()
        mine = {str(u) for u in self.users.values()}
        return {int(k): json.loads(v) for k, v in raw.items() if k.decode() in mine}

    def missed_breaks(self) -> list[AgentStatusLog]:
        with self.factory() as s:
            return list(s.scalars(select(AgentStatusLog).where(
                AgentStatusLog.user_id.in_(self.users.values()), AgentStatusLog.at >= self.started,
                AgentStatusLog.to_status == "break", AgentStatusLog.reason == "missed")))

    def all_ready(self) -> bool:
        agents = self.live_agents()
        return len(agents) == 3 and all(a["status"] == "ready" for a in agents.values())


def flow() -> dict:  # type: ignore[type-arg]
    return {
        "format_version": 1, "id": "ringall_straight", "name": "Straight to ring-all",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 300},
        "start": "q",
        "nodes": {"q": {"type": "queue", "queue": QUEUE, "priority": 1}},
    }


@pytest.fixture(scope="module")
def world(platform) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """Three ready agents on demo-1001…1003, queue ``ringall`` (ring_all) behind DID …060."""
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant.id, PHONES)
        old = s.scalar(select(Queue).where(Queue.tenant_id == tenant.id, Queue.name == QUEUE))
        if old is not None:
            s.delete(old)
        s.flush()
        queue = Queue(tenant_id=tenant.id, name=QUEUE, strategy="ring_all", ring_timeout_s=10,
                      wrap_up_s=0, recording="never", announce_every_s=None)
        s.add(queue)
        s.flush()
        for login in PHONES:
            s.add(QueueMember(queue_id=queue.id, user_id=users[login], penalty=0))
        if s.scalar(select(Did).where(Did.number == DID)) is None:  # a DID of this test's own
            lab = s.scalar(select(Trunk).where(Trunk.tenant_id == tenant.id, Trunk.name == LAB_TRUNK))
            s.add(Did(tenant_id=tenant.id, number=DID, trunk_id=lab.id))
        doc = flow()
        version = flow_store.save_draft(s, tenant.id, doc["id"], doc)
        s.flush()
        flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
        did_store.bind_did(s, tenant.id, DID, doc["id"])
        tenant_id, queue_id = tenant.id, queue.id
    reload_acd(platform, tenant_id)
    lab_cli(platform, "dialplan set global PHONE_ANSWER_DELAY 0.5")
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 0")
    log_agents(platform, PHONES.values(), users, "*50", "ready")
    w = World(platform, tenant_id, users)
    yield w
    lab_cli(platform, "dialplan set global PHONE_ANSWER_DELAY 0.5")
    log_agents(platform, PHONES.values(), users, "*53", "logged_out")
    with transaction(factory) as s:
        did_store.bind_did(s, tenant_id, DID, None)
        s.execute(delete(QueueMember).where(QueueMember.queue_id == queue_id))
    reload_acd(platform, tenant_id)


def talking(w: World, caller: str) -> CallRecord:
    def ok() -> CallRecord | None:
        rows = records_for(w.platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" else None

    return until(ok, timeout=30, what=f"{caller} to be talking")


def test_three_phones_ring_the_first_to_answer_gets_the_call(world: World) -> None:
    w = world
    until(w.all_ready, timeout=20, what="all three agents ready")
    caller = unique_caller()
    labcall.call(w.platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                       hangup_after=12))
    row = talking(w, caller)
    call_id, winner = row.call_id, row.agent_channel
    legs = {agent_channel_id(call_id, n) for n in range(3)}
    assert winner in legs and row.agent_endpoint in PHONES.values()

    # Mid-call: one desk phone holds the call; the other two legs are gone on both sides,
    # and only the caller and the winner are in the call's one bridge.
    until(lambda: len(w.ringing_phones()) == 1, timeout=8, what="only one desk phone in a call")
    until(lambda: list(w.agent_legs(call_id)) == [winner], timeout=8,
          what=f"only {winner} left of {sorted(legs)}")
    bridged = {f[-1] for f in w.concise("platform") if f[-2]}
    mine = {ch for ch in bridged if ch == call_id or call_of_agent_channel(ch) == call_id}
    assert mine == {call_id, winner}, mine
    assert {f[-2] for f in w.concise("platform") if f[-1] in mine} == {f"{call_id}-bridge"}

    row = ended_record(w.platform, caller)
    assert row.answered_at is not None and row.hangup_by == "caller"
    assert row.agent_channel == winner and row.agent_endpoint in PHONES.values()
    assert len(records_for(w.platform, caller)) == 1

    # All three phones were really rung: Asterisk logged a hang-up for each leg.
    def logged() -> dict[str, object] | None:
        found = read_hangups(cel_log_path(w.platform.settings), legs)
        return dict(found) if len(found) == 3 else None

    assert set(until(logged, timeout=10, what=f"CEL hang-ups of {sorted(legs)}")) == legs

    by_user = {u: PHONES[login] for login, u in w.users.items()}
    log = w.queue_log(call_id)
    offers = [u for k, u in log if k == "offer"]
    answers = [u for k, u in log if k == "answer"]
    assert sorted(offers) == sorted(w.users.values()), log  # one offer to each agent
    assert len(answers) == 1 and by_user[answers[0]] == row.agent_endpoint, log
    assert not any(k == "offer_timeout" for k, _ in log), log
    # The two who lost the race were withdrawn, not charged with a missed offer.
    until(w.all_ready, timeout=15, what="all three agents ready again")
    assert all(a["missed"] == 0 for a in w.live_agents().values()), w.live_agents()
    assert w.missed_breaks() == []
    until(lambda: w.ringing_phones() == [] and w.agent_legs(call_id) == {}, timeout=10,
          what="no desk phone and no agent leg left")


def test_caller_leaving_while_three_phones_ring_hangs_up_all_three(world: World) -> None:
    w = world
    until(w.all_ready, timeout=20, what="all three agents ready")
    lab_cli(w.platform, "dialplan set global PHONE_ANSWER_DELAY 8")  # nobody answers in time
    try:
        caller = unique_caller()
        labcall.call(w.platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                           hangup_after=5))
        # the three phones ring at the same time
        until(lambda: len(w.ringing_phones()) == 3, timeout=10, what="three desk phones ringing")
        row = ended_record(w.platform, caller)
        assert row.answered_at is None and row.hangup_by == "caller"
        until(lambda: w.ringing_phones() == [] and w.agent_legs(row.call_id) == {}, timeout=10,
              what="every ringing desk phone and agent leg hung up")
        log = w.queue_log(row.call_id)
        assert [k for k, _ in log] == ["enter", "offer", "offer", "offer", "abandon"], log
        until(w.all_ready, timeout=15, what="all three agents ready again")
        assert all(a["missed"] == 0 for a in w.live_agents().values()), w.live_agents()
        assert w.missed_breaks() == []
    finally:
        lab_cli(w.platform, "dialplan set global PHONE_ANSWER_DELAY 0.5")
