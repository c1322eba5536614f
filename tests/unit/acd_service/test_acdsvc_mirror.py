"""The incremental Redis mirror of the waiting list: after every operation the hash holds
exactly what a full rewrite would write, while unchanged entries are neither re-encoded
nor re-sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis.asyncio as aioredis
from acd_world import Clock, login, make, seed  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import live_report
from controlplane.acd.live_report import Reports


async def _hash(rds: aioredis.Redis, key: str) -> dict[str, Any]:
    return {k.decode(): json.loads(v) for k, v in (await rds.hgetall(key)).items()}


async def test_waiting_hash_always_equals_a_full_rewrite(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1", "a2")})
    svc, _ = make(db, rds, clock)
    key = f"centrala:acd:{w.tenant}:waiting"
    await rds.hset(key, "stale", "{}")  # left by an earlier process: the first mirror clears it

    async def same_as_full() -> None:
        t = svc.registry.tenants[w.tenant]
        fresh = Reports(svc.registry, 900.0).waiting_json(t, clock.now)  # no cache
        assert await _hash(rds, key) == {k: json.loads(v) for k, v in fresh.items()}

    await login(svc, w, "a1")
    for cid in ("c1", "c2", "c3"):
        clock.now += 1
        await svc.enqueue(cid, w.tenant, "sales", caller=f"+4860010020{cid[-1]}")
        await same_as_full()
    assert set(await _hash(rds, key)) == {"c1", "c2", "c3"}
    await svc.offer_answered("c1", w.phone("a1"))  # c1 leaves the waiting list
    await same_as_full()
    await svc.caller_left("c2")  # c3 moves up to position 1
    await same_as_full()
    assert (await _hash(rds, key))["c3"]["position"] == 1
    await login(svc, w, "a2")
    clock.now += 3
    await svc.tick()
    await same_as_full()


async def test_unchanged_entries_are_not_encoded_again(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    svc, _ = make(db, rds, clock)
    for cid in ("c1", "c2", "c3"):
        await svc.enqueue(cid, w.tenant, "sales")
    encoded: list[Any] = []
    real = live_report.json.dumps
    monkeypatch.setattr(live_report.json, "dumps", lambda o, **kw: encoded.append(o) or real(o))
    await svc.enqueue("c4", w.tenant, "sales")  # nobody staffed: only c4 is new
    assert [e["position"] for e in encoded] == [4]


async def test_redis_losing_its_data_rewrites_every_entry(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> None:
    w = seed(db, {"sales": {}}, {"sales": ("a1",)})
    svc, _ = make(db, rds, clock)
    await svc.tick()  # writes the sentinel
    await svc.enqueue("c1", w.tenant, "sales")
    await svc.enqueue("c2", w.tenant, "sales")
    await rds.flushall()
    await svc.tick()
    assert set(await _hash(rds, f"centrala:acd:{w.tenant}:waiting")) == {"c1", "c2"}
