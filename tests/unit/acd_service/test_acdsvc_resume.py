"""Waiting calls keep their place across a control-plane restart (real Redis, real SQLite).

A restarted daemon re-enqueues the calls it adopts with ``resume=True``; the queue
service rebuilds each one's first arrival, queue entry time, priority and skills from
the queue log, so the serving order and the maximum wait are those before the restart.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis
from acd_world import Clock, login, make, queue_log, seed
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.interactions import Interaction
from controlplane.acd.queue_machine import enter_detail, parse_enter_detail


def test_enter_detail_round_trips_priority_and_skills() -> None:
    i = Interaction("c", "voice", 0.0, 2.5, {"pl": 3, "de": 1})  # type: ignore[arg-type]
    assert parse_enter_detail(enter_detail(i)) == (2.5, {"de": 1, "pl": 3})
    assert parse_enter_detail("") == (0.0, {})
    assert parse_enter_detail("p=x;s=bad,ok:2") == (0.0, {"ok": 2})


async def test_restart_keeps_order_priority_and_entry_time(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "linear", "max_wait_s": 100}}, {"sales": ("a1",)})
    svc, _ = make(db, rds, clock)
    await svc.enqueue("old", w.tenant, "sales", priority=0, caller="+48600000001")
    clock.now += 10
    await svc.enqueue("vip", w.tenant, "sales", priority=5)
    clock.now += 10
    await svc.enqueue("new", w.tenant, "sales", priority=0, skills={"pl": 2})  # a1 lacks it
    clock.now += 30  # the daemon dies here; 50 s since "old" arrived

    svc2, conn2 = make(db, rds, clock)
    await svc2.start()
    # re-adopted in an order unlike arrival: the queue log decides, not this order
    for call in ("new", "old", "vip"):
        await svc2.enqueue(call, w.tenant, "sales", resume=True)
    t = svc2._tenants[w.tenant]
    assert t.queued["old"].entered_at == t.queued["old"].interaction.arrived_at
    assert clock.now - t.queued["old"].entered_at == 50
    assert t.queued["vip"].interaction.priority == 5
    assert dict(t.queued["new"].interaction.skills) == {"pl": 2}
    assert [k for k, _ in queue_log(db, "old")] == ["enter"]  # not entered twice
    assert conn2.calls == []  # no agent yet; hold music is the call side's (reconcile.py)

    await login(svc2, w, "a1")  # vip first (priority), then old before new (arrival)
    offers = [c[1] for c in conn2.named("offer")]
    assert offers == ["vip"]
    await svc2.caller_left("vip")  # the ring is withdrawn; the next in line is offered
    assert [c[1] for c in conn2.named("offer")] == ["vip", "old"]

    clock.now += 50  # 100 s after "old" arrived: its maximum wait is over, "new" has 30 s left
    await svc2.tick()
    leaves = {c[1] for c in conn2.named("leave")}
    assert "old" in leaves and "new" not in leaves


async def test_resume_of_a_call_the_log_does_not_know_joins_at_the_end(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    svc, _ = make(db, rds, clock)
    await svc.enqueue("c1", w.tenant, "sales", resume=True)
    t = svc._tenants[w.tenant]
    assert t.queued["c1"].entered_at == clock.now
    assert [k for k, _ in queue_log(db, "c1")] == ["enter"]


async def test_the_queues_callback_key_requests_a_callback_other_keys_do_not(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"callback_key": "5"}, "plain": {}}, {"sales": ("a1",)})
    svc, conn = make(db, rds, clock)
    await svc.enqueue("c1", w.tenant, "sales", caller="+48600000001")
    await svc.enqueue("c2", w.tenant, "plain", caller="+48600000002")
    assert not await svc.dtmf("c1", "4")
    assert not await svc.dtmf("c2", "5")  # "plain" has no callback key
    assert not await svc.dtmf("nobody", "5")
    assert await svc.dtmf("c1", "5")
    assert conn.named("leave") == [("leave", "c1", "callback_requested", "callback:sales")]
    assert [k for k, _ in queue_log(db, "c1")] == ["enter", "callback"]
    assert not await svc.dtmf("c1", "5")  # it left the queue


async def test_redis_losing_its_data_while_running_is_mirrored_again(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1", "a2")})
    svc, _ = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.enqueue("c1", w.tenant, "sales")
    await svc.tick()
    key = f"centrala:acd:{w.tenant}"
    assert await rds.hlen(f"{key}:agents") == 2
    await rds.flushall()  # Redis restarted empty; nothing changed in the ACD meanwhile
    await svc.tick()
    assert await rds.hlen(f"{key}:agents") == 2
    assert await rds.hexists(f"{key}:waiting", "c1")  # the waiting list is back too
    agents = {k.decode(): json.loads(v) for k, v in (await rds.hgetall(f"{key}:agents")).items()}
    assert sorted(a["status"] for a in agents.values()) == ["ready", "reserved"]


async def test_recording_on_demand_only_where_the_queue_says_so(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"od": {"recording": "on_demand"}, "rec": {"recording": "always"}},
             {"od": ("a1",), "rec": ("a2",)})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.enqueue("c1", w.tenant, "od")
    await svc.enqueue("c2", w.tenant, "rec")
    assert not await svc.record_on_demand("c1")  # ringing, not connected yet
    await svc.offer_answered("c1", "ph-a1")
    await svc.offer_answered("c2", "ph-a2")
    assert ("connect", "c1", "ph-a1", False) in conn.calls  # on demand: not from the answer
    assert ("connect", "c2", "ph-a2", True) in conn.calls
    assert await svc.record_on_demand("c1")
    assert not await svc.record_on_demand("c2")  # records always: nothing to ask for
    assert not await svc.record_on_demand("unknown")


async def test_a_phone_busy_outside_the_queues_is_not_offered_until_free(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {"strategy": "linear"}}, {"sales": ("a1", "a2")})
    svc, conn = make(db, rds, clock)
    await login(svc, w, "a1", "a2")
    await svc.phone_in_use("ph-a1", 1)  # a1 took a direct call on the desk phone
    await svc.phone_in_use("ph-a2", 1)  # a2 is on a preview call
    await svc.enqueue("c1", w.tenant, "sales")
    assert conn.named("offer") == []
    await svc.phone_in_use("ph-a2", 0)  # a2 hung up: the waiting call goes to a2 at once
    assert conn.named("offer") == [("offer", "c1", "ph-a2", 20.0)]


async def test_a_cancel_a_library_swallowed_still_stops_the_loop() -> None:
    import asyncio

    import pytest

    from controlplane.live import raise_if_cancelled

    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:  # redis-py, in effect: it becomes ConnectionError
                rounds += 1
            raise_if_cancelled()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert rounds == 1
