"""After a restart, waiting calls are queued again in their order of arrival, whatever order
the database returns them in (an agent freed during reconcile gets the longest-waiting)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls import records
from controlplane.calls.machine import CallState, Enqueue, Phase
from controlplane.calls.service import CallService
from controlplane.config import load_settings

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Ari:
    def __init__(self, channels: list[str]) -> None:
        self.channels = [{"id": c, "name": f"PJSIP/x-{c}", "state": "Up"} for c in channels]

    async def get(self, path: str, **params: Any) -> Any:
        return {"/channels": self.channels, "/bridges": []}[path]

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        return {}

    async def delete(self, path: str, **params: Any) -> Any:
        return {}


def queued(call_id: str, started: datetime) -> CallState:
    return CallState(call_id=call_id, phase=Phase.QUEUED, tenant_id=None, direction="inbound",
                     caller="600100200", callee="48221000002", did="48221000002",
                     trunk="lab-carrier", agent_endpoint=None, started_at=started,
                     prompt=None, dial=None, queue="sales")


async def test_waiting_calls_are_queued_again_in_arrival_order(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    # Stored newest first: the database's own order is not the arrival order.
    arrivals = {f"c{i}": T0 + timedelta(seconds=i) for i in range(5)}
    for call_id in sorted(arrivals, reverse=True):
        records.save(factory, queued(call_id, arrivals[call_id]), tmp_path)
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    calls = CallService(settings, Ari(list(arrivals)), factory, rds)  # type: ignore[arg-type]
    enqueued: list[str] = []

    async def to_queue(cmd: Enqueue) -> None:
        enqueued.append(cmd.call_id)

    calls.queue.tell = to_queue  # type: ignore[method-assign,assignment]
    await asyncio.wait_for(calls.reconcile(), timeout=10)
    await calls.records.close()  # its thread's database connection goes back before teardown
    assert enqueued == sorted(arrivals, key=arrivals.__getitem__)
