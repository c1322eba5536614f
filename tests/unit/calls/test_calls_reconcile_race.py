"""A hang-up that arrives while a restarted daemon adopts its calls ends the call.

Found as the rare failure of the live restart test: the caller hung up just after the app
was registered again; the StasisEnd was handled before reconcile had loaded the stored call,
so it was dropped as one of an unknown call, and reconcile then adopted the call from a
channel list taken before the hang-up. The call never ended.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls import records
from controlplane.calls.machine import CallState, Phase
from controlplane.calls.service import CallService
from controlplane.config import load_settings
from controlplane.db import transaction
from controlplane.engine import events as ev
from controlplane.models import CallRecord

CALL = "1764762000.101"
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class SlowAri:
    """GET /channels answers only when the test says so (Asterisk's view at that moment)."""

    def __init__(self, channels: list[dict[str, Any]]) -> None:
        self.channels = channels
        self.release = asyncio.Event()
        self.requests: list[tuple[str, str]] = []

    async def get(self, path: str, **params: Any) -> Any:
        if path == "/channels":
            await self.release.wait()
            return self.channels
        if path == "/bridges":  # reconcile's sweep of orphan AMD objects (none here)
            return []
        raise AssertionError(f"unexpected GET {path}")

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        self.requests.append(("POST", path))
        return {}

    async def delete(self, path: str, **params: Any) -> Any:
        self.requests.append(("DELETE", path))
        return {}


def talking_call(factory: sessionmaker[Session], tmp_path: Path) -> None:
    state = CallState(call_id=CALL, phase=Phase.TALKING, tenant_id=None, direction="inbound",
                      caller="600100200", callee="48221000002", did="48221000002",
                      trunk="lab-carrier", agent_endpoint="demo-1002", started_at=T0,
                      prompt=None, dial="PJSIP/demo-1002", agent_alive=True,
                      answered_at=T0 + timedelta(seconds=1))
    records.save(factory, state, tmp_path)


def chan(id_: str) -> dict[str, Any]:
    return {"id": id_, "name": f"PJSIP/x-{id_}", "state": "Up"}


async def test_hangup_during_adoption_ends_the_call(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    talking_call(factory, tmp_path)
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    # Asterisk's list is taken before the caller hangs up: both legs still there.
    ari = SlowAri([chan(CALL), chan(f"{CALL}-agent")])
    calls = CallService(settings, ari, factory, rds)  # type: ignore[arg-type]

    # As the ARI client does on connect: reconcile's task first, then the events' tasks.
    adopting = asyncio.create_task(calls.reconcile())
    bye = T0 + timedelta(seconds=9)
    hangup = asyncio.create_task(calls.on_event(ev.StasisEnd(bye, ev.Channel(
        id=CALL, name="PJSIP/lab-carrier-1", state="Up", caller_number="600100200",
        caller_name="", exten=""))))
    await asyncio.sleep(0.05)  # both tasks are now waiting
    ari.release.set()
    await asyncio.wait_for(asyncio.gather(adopting, hangup), timeout=10)

    assert ("DELETE", f"/channels/{CALL}-agent") in ari.requests  # the agent is released
    await calls.records.flush()  # records are written behind the calls
    with transaction(factory) as s:
        row = s.scalar(select(CallRecord).where(CallRecord.call_id == CALL))
        assert row is not None
        assert (row.phase, row.hangup_by, row.ended_at) == ("ending", "caller", bye)
