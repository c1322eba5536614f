"""The live ACD service against a real Redis and a real SQLite migrated with Alembic.

The connector (the ARI side) is a recording fake: it is the seam the call
service implements and tests live. Time is a fake clock driven by the tests.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import redis.asyncio as aioredis
from acd_world import (  # noqa: E402
    Clock,
    FakeConnector,
    login,
    make,
    queue_log,
    seed,
    status,
    status_log,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.outputs import CallOrder, LeaveForCallback, RingAgent
from controlplane.acd.service import CommandResult, UnknownQueue
from controlplane.db import transaction
from controlplane.models.acd import (
    AgentBreakReason,
    AgentSessionAudit,
    QueueLog,
)

# ---- routing per strategy ----


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [("linear", "a2"), ("longest_idle", "a1"), ("fewest_calls", "a1")],
)
async def test_enqueue_with_two_ready_agents_offers_per_strategy(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock, strategy: str, expected: str
) -> None:
    # a2 is first in the member order; a1 logged in (became ready) earlier
    w = seed(db, {"sales": {"strategy": strategy}}, {"sales": ("a2", "a1")})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1")
    clock.now += 5
    await login(svc, w, "a2")
    await svc.enqueue("c1", w.tenant, "sales", caller="+48600100200")
    # no hold-music order: the call machine starts it when it queues the call (StartMoh)
    assert [c[0] for c in conn.calls] == ["offer"]
    assert conn.named("offer") == [("offer", "c1", w.phone(expected), 20.0)]
    assert status(svc, w, expected) == "reserved"


async def test_offer_failed_reoffers_to_the_next_agent(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "linear"}}, {"sales": ("a1", "a2")})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.enqueue("c1", w.tenant, "sales")
    await svc.offer_ringing("c1", "ph-a1")
    assert status(svc, w, "a1") == "ringing"
    clock.now += 3
    await svc.offer_failed("c1", "ph-a1", "busy")
    assert [c[2] for c in conn.named("offer")] == ["ph-a1", "ph-a2"]
    assert status(svc, w, "a1") == "ready" and status(svc, w, "a2") == "reserved"
    assert svc._tenants[w.tenant].agents[str(w.users["a1"])].missed == 1


async def test_ring_timeout_on_tick_cancels_and_reoffers(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "linear", "ring_timeout_s": 10}}, {"sales": ("a1", "a2")})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.enqueue("c1", w.tenant, "sales")
    clock.now += 10
    await svc.tick()
    assert ("cancel_offer", "c1", "ph-a1", "timeout") in conn.calls
    assert conn.named("offer")[-1] == ("offer", "c1", "ph-a2", 10.0)
    # the hang-up of the cancelled leg comes back as offer_failed: ignored, no second miss
    await svc.offer_failed("c1", "ph-a1", "cancelled")
    assert svc._tenants[w.tenant].agents[str(w.users["a1"])].missed == 1
    assert status(svc, w, "a2") == "reserved"


async def test_a_failing_originate_is_fed_back_and_the_next_agent_is_offered(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "linear"}}, {"sales": ("a1", "a2")})
    svc, conn = make(db, rds, clock)
    conn.fail_offers_to.add("ph-a1")
    await login(svc, w, "a1", "a2")
    await svc.enqueue("c1", w.tenant, "sales")
    assert [c[2] for c in conn.named("offer")] == ["ph-a1", "ph-a2"]
    assert status(svc, w, "a1") == "ready" and status(svc, w, "a2") == "reserved"


@pytest.mark.parametrize(
    ("policy", "record"), [("always", True), ("never", False), ("on_demand", False)]
)
async def test_answer_connects_with_the_recording_policy(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock, policy: str, record: bool
) -> None:
    w = seed(db, {"sales": {"recording": policy}}, {"sales": ("a1",)})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue("c1", w.tenant, "sales")
    clock.now += 4
    await svc.offer_answered("c1", "ph-a1")
    assert conn.calls[-1] == ("connect", "c1", "ph-a1", record)  # the call machine stops MOH
    assert status(svc, w, "a1") == "on_call"
    events = [json.loads(e[1][b"data"]) for e in await rds.xrange("centrala:events")]
    on_demand = [e for e in events if e["type"] == "queue.record_on_demand"]
    assert len(on_demand) == (policy == "on_demand")
    uid = w.users["a1"]
    assert queue_log(db, "c1") == [("enter", None), ("offer", uid), ("answer", uid)]


async def test_ring_all_answer_cancels_the_other_phones(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "ring_all"}}, {"sales": ("a1", "a2")})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.enqueue("c1", w.tenant, "sales")
    assert sorted(c[2] for c in conn.named("offer")) == ["ph-a1", "ph-a2"]
    await svc.offer_answered("c1", "ph-a2")
    assert ("cancel_offer", "c1", "ph-a1", "answered_elsewhere") in conn.calls
    assert status(svc, w, "a1") == "ready" and status(svc, w, "a2") == "on_call"
    assert svc._tenants[w.tenant].agents[str(w.users["a1"])].missed == 0


async def test_caller_left_while_ringing_cancels_the_offer_without_a_miss(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue("c1", w.tenant, "sales")
    await svc.offer_ringing("c1", "ph-a1")
    clock.now += 2
    await svc.caller_left("c1")
    assert ("cancel_offer", "c1", "ph-a1", "caller_left") in conn.calls
    a1 = svc._tenants[w.tenant].agents[str(w.users["a1"])]
    assert (a1.status, a1.missed) == ("ready", 0)
    assert [k for k, _ in queue_log(db, "c1")] == ["enter", "offer", "abandon"]
    assert await rds.hlen(f"centrala:acd:{w.tenant}:waiting") == 0


async def test_call_ended_starts_wrap_up_then_ready_after_wrap_up_s(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"wrap_up_s": 15}}, {"sales": ("a1",)})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue("c1", w.tenant, "sales")
    await svc.offer_ringing("c1", "ph-a1")
    await svc.offer_answered("c1", "ph-a1")
    clock.now += 60
    await svc.call_ended("c1")
    assert status(svc, w, "a1") == "wrap_up"
    clock.now += 14
    await svc.tick()
    assert status(svc, w, "a1") == "wrap_up"
    await svc.enqueue("c2", w.tenant, "sales")  # waits: the agent is wrapping up
    assert [c[1] for c in conn.named("offer")] == ["c1"]
    clock.now += 1
    await svc.tick()
    assert status(svc, w, "a1") == "reserved"  # ready, and at once offered the waiting call
    assert conn.named("offer")[-1][1] == "c2"
    assert status_log(db, w.users["a1"]) == [
        ("logged_out", "ready", None),
        ("ready", "reserved", None),
        ("reserved", "ringing", None),
        ("ringing", "on_call", None),
        ("on_call", "wrap_up", None),
        ("wrap_up", "ready", None),
        ("ready", "reserved", None),
    ]
    assert [k for k, _ in queue_log(db, "c1")] == ["enter", "offer", "answer", "end"]


async def test_max_wait_overflows_to_the_overflow_queue(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(
        db,
        {"backup": {}, "sales": {"max_wait_s": 30, "overflow_to": "backup"}},
        {"sales": ("a1",), "backup": ("a2",)},
    )
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.agent_command(w.tenant, w.users["a1"], "break", "1")
    await login(svc, w, "a2")
    await svc.agent_command(w.tenant, w.users["a2"], "break", "1")
    await svc.enqueue("c1", w.tenant, "sales")
    clock.now += 29
    await svc.tick()
    assert not conn.named("offer")
    await svc.agent_command(w.tenant, w.users["a2"], "ready")  # a backup agent, not in sales
    assert not conn.named("offer")
    clock.now += 1
    await svc.tick()
    assert conn.named("offer") == [("offer", "c1", "ph-a2", 20.0)]
    assert not conn.named("leave")
    with db() as s:
        rows = s.execute(
            select(QueueLog.kind, QueueLog.queue_id)
            .where(QueueLog.interaction_id == "c1")
            .order_by(QueueLog.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("enter", w.queues["sales"]),
        ("overflow", w.queues["sales"]),
        ("enter", w.queues["backup"]),
        ("offer", w.queues["backup"]),
    ]


async def test_max_wait_without_overflow_queue_leaves(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"max_wait_s": 30}}, {"sales": ("a1",)})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.agent_command(w.tenant, w.users["a1"], "break", "1")
    await svc.enqueue("c1", w.tenant, "sales")
    clock.now += 30
    await svc.tick()
    assert conn.calls[-1] == ("leave", "c1", "max_wait", None)
    await svc.agent_command(w.tenant, w.users["a1"], "ready")
    assert not conn.named("offer")


async def test_no_agents_logged_in_leave_or_wait(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(
        db,
        {"closed": {"no_agents": "leave"}, "patient": {"no_agents": "wait"}},
        {"closed": ("a1",), "patient": ("a1",)},
    )
    svc, conn = make(db, rds, clock)
    await svc.enqueue("c1", w.tenant, "closed")
    assert conn.calls == [("leave", "c1", "no_agents", None)]
    await svc.enqueue("c2", w.tenant, "patient")
    clock.now += 5
    await svc.tick()
    assert conn.calls[1:] == []  # c2 waits (its hold music is the call machine's)
    await login(svc, w, "a1")
    assert conn.named("offer") == [("offer", "c2", "ph-a1", 20.0)]
    with pytest.raises(UnknownQueue):
        await svc.enqueue("c3", w.tenant, "nope")


async def test_an_unreachable_phone_is_never_offered(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "linear"}}, {"sales": ("a1", "a2")})
    svc, conn = make(db, rds, clock)
    await svc.contact_status("ph-a1", "Unreachable", "sip:a1@10.0.0.1")  # before login
    await login(svc, w, "a1")
    await svc.enqueue("c1", w.tenant, "sales")
    clock.now += 60
    await svc.tick()
    assert not conn.named("offer")
    await login(svc, w, "a2")
    assert [c[2] for c in conn.named("offer")] == ["ph-a2"]
    await svc.caller_left("c1")
    await svc.contact_status("ph-a2", "Unreachable")
    await svc.enqueue("c2", w.tenant, "sales")
    assert [c[2] for c in conn.named("offer")] == ["ph-a2"]
    await svc.contact_status("ph-a1", "Reachable", "sip:a1@10.0.0.1")
    assert conn.named("offer")[-1] == ("offer", "c2", "ph-a1", 20.0)


async def test_feature_codes_change_agent_state_and_write_the_status_log(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    svc, _ = make(db, rds, clock)
    assert await svc.feature_code("ph-a1", "*51") == "sound:beeperr"  # not logged in
    assert await svc.feature_code("ph-a1", "*50") == "sound:agent-loginok"
    assert await svc.feature_code("ph-a1", "*50") == "sound:agent-alreadyon"
    clock.now += 10
    assert await svc.feature_code("ph-a1", "*527") == "sound:beep"
    assert status(svc, w, "a1") == "break:7"
    clock.now += 10
    assert await svc.feature_code("ph-a1", "*51") == "sound:beep"
    assert await svc.feature_code("ph-a1", "*53") == "sound:agent-loggedoff"
    assert await svc.feature_code("ph-a1", "*99") == "sound:pbx-invalid"
    assert await svc.feature_code("ph-spare", "*50") == "sound:agent-incorrect"  # no agent
    assert await svc.feature_code("ph-unknown", "*50") == "sound:agent-incorrect"
    assert status_log(db, w.users["a1"]) == [
        ("logged_out", "ready", None),
        ("ready", "break", "7"),
        ("break", "ready", None),
        ("ready", "logged_out", None),
    ]


async def test_login_beyond_the_licences_is_refused(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1", "a2")}, licences=1)
    svc, _ = make(db, rds, clock)
    await login(svc, w, "a1")
    r = await svc.agent_command(w.tenant, w.users["a2"], "login")
    assert r == CommandResult(False, "logged_out", None, "licence_limit", r.message)
    assert "licences" in r.message
    await svc.agent_command(w.tenant, w.users["a1"], "logout")
    await login(svc, w, "a2")  # the licence was released


async def test_a_new_service_on_the_same_redis_sees_the_same_agents(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"wrap_up_s": 30}}, {"sales": ("a1", "a2", "a3")})
    svc, _ = make(db, rds, clock)
    await login(svc, w, "a1", "a2", "a3")
    await svc.agent_command(w.tenant, w.users["a2"], "break", "4")
    await svc.enqueue("c1", w.tenant, "sales")  # a1 (longest idle) is reserved
    await svc.offer_answered("c1", "ph-a1")
    await svc.call_ended("c1")
    before = {n: status(svc, w, n) for n in ("a1", "a2", "a3")}
    assert before == {"a1": "wrap_up", "a2": "break:4", "a3": "ready"}

    svc2, _ = make(db, rds, clock)
    await svc2.start()
    assert {n: status(svc2, w, n) for n in before} == before
    clock.now += 30
    await svc2.tick()  # the restored wrap-up still ends on time
    assert status(svc2, w, "a1") == "ready"

    await rds.flushall()  # Redis lost everything: rebuilt from the status log
    svc3, _ = make(db, rds, clock)
    await svc3.start()
    assert {n: status(svc3, w, n) for n in before} == {
        "a1": "ready",
        "a2": "break:4",
        "a3": "ready",
    }
    r = await svc3.agent_command(w.tenant, w.users["a2"], "login")
    assert r.code == "already"  # the session came back with the agent


async def test_live_state_and_stats_are_mirrored_to_redis(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    svc, _ = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue("c1", w.tenant, "sales", priority=1)
    await svc.enqueue("c2", w.tenant, "sales")
    clock.now += 7
    await svc.tick()
    waiting = {
        k.decode(): json.loads(v)
        for k, v in (await rds.hgetall(f"centrala:acd:{w.tenant}:waiting")).items()
    }
    assert waiting["c1"]["phase"] == "offered" and waiting["c2"]["position"] == 2
    agent = json.loads(await rds.hget(f"centrala:acd:{w.tenant}:agents", str(w.users["a1"])))
    assert (agent["status"], agent["endpoint"]) == ("reserved", "ph-a1")
    stats = [json.loads(e[1][b"data"]) for e in await rds.xrange("centrala:events")]
    stats = [e for e in stats if e["type"] == "queue.stats"]
    assert stats and stats[-1]["tenant_id"] == w.tenant
    (q,) = stats[-1]["queues"]
    assert (q["name"], q["waiting"], q["longest_wait_s"], q["entered"]) == ("sales", 2, 7.0, 2)
    assert stats[-1]["agents"] == {"reserved": 1}
    snap = await svc.snapshot(w.tenant)
    assert snap["queues"][0]["waiting"] == 2


async def test_a_connector_calling_back_inline_does_not_deadlock(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "linear"}}, {"sales": ("a1", "a2")})
    svc, conn = make(db, rds, clock)

    class Busy(FakeConnector):
        async def send(self, order: CallOrder) -> None:
            await super().send(order)
            if isinstance(order, RingAgent) and order.agent_endpoint == "ph-a1":
                # the phone answered busy at once
                await svc.offer_failed(order.call_id, order.agent_endpoint, "busy")

    svc.publisher.connector = busy = Busy()
    await login(svc, w, "a1", "a2")
    await asyncio.wait_for(svc.enqueue("c1", w.tenant, "sales"), timeout=5)
    assert [c[2] for c in busy.named("offer")] == ["ph-a1", "ph-a2"]
    assert status(svc, w, "a2") == "reserved"


async def test_concurrent_operations_keep_each_calls_commands_in_order(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "ring_all"}}, {"sales": ("a1", "a2", "a3")})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1", "a2", "a3")
    calls = [f"c{n}" for n in range(12)]
    await asyncio.gather(*(svc.enqueue(c, w.tenant, "sales") for c in calls))
    await asyncio.gather(*(svc.caller_left(c) for c in calls))
    for c in calls:
        mine = [x[0] for x in conn.calls if x[1] == c]
        assert not mine or mine[0] == "offer"
        offers = [i for i, x in enumerate(mine) if x == "offer"]
        cancels = [i for i, x in enumerate(mine) if x == "cancel_offer"]
        assert len(offers) == len(cancels) and all(
            o < k for o, k in zip(offers, cancels, strict=True)
        )
    assert {status(svc, w, n) for n in ("a1", "a2", "a3")} == {"ready"}


async def test_approval_break_and_supervisor_force(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    with transaction(db) as s:
        s.add(AgentBreakReason(tenant_id=w.tenant, code="2", kind="approval"))
        s.add(AgentBreakReason(tenant_id=w.tenant, code="9", kind="supervisor"))
    svc, _ = make(db, rds, clock)
    await login(svc, w, "a1")
    uid = w.users["a1"]
    r = await svc.agent_command(w.tenant, uid, "break", "9")
    assert (r.ok, r.code) == (False, "refused") and "supervisor" in r.message
    r = await svc.agent_command(w.tenant, uid, "break", "5")
    assert not r.ok and "unknown break reason" in r.message
    assert await svc.feature_code("ph-a1", "*522") == "sound:beep"  # requested, still ready
    assert status(svc, w, "a1") == "ready"
    r = await svc.agent_command(w.tenant, uid, "approve", by="boss@acme.example")
    assert (r.ok, r.status, r.reason) == (True, "break", "2")
    await svc.agent_command(w.tenant, uid, "ready")
    r = await svc.agent_command(w.tenant, uid, "force", "9", by="boss@acme.example")
    assert (r.ok, r.status, r.reason) == (True, "break", "9")
    with db() as s:
        actions = list(
            s.scalars(
                select(AgentSessionAudit.action)
                .where(AgentSessionAudit.user_id == uid)
                .order_by(AgentSessionAudit.id)
            )
        )
    assert actions == ["login", "break_requested", "break_approved", "break_forced"]


async def test_callback_request_leaves_the_queue(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    # the real path of a callback request: the caller presses the queue's callback key
    w = seed(db, {"sales": {"callback_key": "5"}}, {"sales": ("a1",)})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1")
    await svc.enqueue("c1", w.tenant, "sales")
    assert await svc.dtmf("c1", "5")
    assert conn.calls[-2:] == [
        ("cancel_offer", "c1", "ph-a1", "callback"),
        ("leave", "c1", "callback_requested", "callback:sales"),
    ]
    assert conn.orders[-1] == LeaveForCallback("c1", "sales")
    assert status(svc, w, "a1") == "ready"


async def test_run_ticks_until_cancelled(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    svc, _ = make(db, rds, clock)
    task = asyncio.create_task(svc.run(interval_s=0.01))
    for _ in range(200):
        if await rds.exists(f"centrala:acd:{w.tenant}:stats"):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stats = json.loads(await rds.get(f"centrala:acd:{w.tenant}:stats"))
    assert stats["type"] == "queue.stats" and stats["queues"][0]["name"] == "sales"


class _FailOnce:
    """The service's Redis client, whose next transaction fails as a pooled connection does
    right after Redis restarted ("Connection closed by server")."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client, self.failed = client, False

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.client, name)

    def pipeline(self, transaction: bool = True):  # type: ignore[no-untyped-def]
        pipe = self.client.pipeline(transaction=transaction)
        if not self.failed:
            self.failed = True

            async def fail() -> None:
                raise aioredis.ConnectionError("Connection closed by server.")
            pipe.execute = fail  # type: ignore[method-assign]
        return pipe


async def test_a_failed_mirror_write_is_made_good_by_the_next(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    """Redis restarted empty: the loss is seen, but the rewrite fails on a stale connection.
    The next tick writes every agent again (not only those that changed since)."""
    w = seed(db, {"sales": {}}, {"sales": ("a1", "a2")})
    svc, _ = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.tick()  # the sentinel is written
    key = f"centrala:acd:{w.tenant}:agents"
    assert await rds.hlen(key) == 2
    await rds.flushall()
    svc.publisher.redis = _FailOnce(rds)  # type: ignore[assignment]
    await svc.tick()  # loss seen, the rewrite fails
    assert await rds.hlen(key) == 0
    await svc.tick()  # nothing changed since, yet everything is written again
    agents = {k.decode(): json.loads(v)["status"] for k, v in (await rds.hgetall(key)).items()}
    assert agents == {str(w.users["a1"]): "ready", str(w.users["a2"]): "ready"}
