"""Reconcile routes a caller no call knows (its StasisStart died with the old daemon), and
nobody else: not the caller of a call it has just ended, nor one whose record ended.

Found in the live test of a restart under load: agents hung up while the daemon was down,
reconcile ended those calls, and their caller channels — still in the list taken at the
start — were routed again as new calls, answered twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls import records
from controlplane.calls.machine import CallState, Phase
from controlplane.calls.service import CallService
from controlplane.config import load_settings
from controlplane.engine import events as ev

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
TALKING, ENDED, STRANGER = "1764762000.1", "1764762000.2", "1764762000.3"


def caller(id_: str) -> dict[str, Any]:
    return {"id": id_, "name": f"PJSIP/lab-carrier-{id_}", "state": "Up",
            "caller": {"number": "600100200"},
            "dialplan": {"context": "from-trunk", "exten": "48221000002", "app_name": "Stasis",
                         "app_data": "centrala,inbound,48221000002,1,lab-carrier,127.0.0.1:5070"}}


class Ari:
    """Asterisk after the restart: three callers in the app; the talking call's agent is gone.
    Hanging up a caller sends its StasisEnd, as Asterisk does."""

    def __init__(self) -> None:
        self.calls: CallService | None = None
        self.ends: list[asyncio.Task[None]] = []

    async def get(self, path: str, **params: Any) -> Any:
        return {"/channels": [caller(TALKING), caller(ENDED), caller(STRANGER)],
                "/bridges": []}[path]

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        return {}

    async def delete(self, path: str, **params: Any) -> Any:
        channel = path.removeprefix("/channels/")
        if self.calls is not None and channel == TALKING:
            gone = ev.StasisEnd(T0 + timedelta(seconds=9), ev.Channel(
                id=channel, name="", state="Up", caller_number="", caller_name="", exten=""))
            self.ends.append(asyncio.create_task(self.calls.on_event(gone)))
        return {}


def state(call_id: str, **kw: Any) -> CallState:
    return CallState(call_id=call_id, tenant_id=None, direction="inbound", caller="600100200",
                     callee="48221000002", did="48221000002", trunk="lab-carrier",
                     agent_endpoint="demo-1002", started_at=T0, prompt=None,
                     dial="PJSIP/demo-1002", **kw)


async def test_only_the_caller_nobody_knows_is_routed_again(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    records.save(factory, state(TALKING, phase=Phase.TALKING, agent_alive=True,
                                answered_at=T0 + timedelta(seconds=1)), tmp_path)
    records.save(factory, state(ENDED, phase=Phase.ENDED, caller_alive=False,
                                ended_at=T0 + timedelta(seconds=5)), tmp_path)
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    ari = Ari()
    calls = CallService(settings, ari, factory, rds)  # type: ignore[arg-type]
    ari.calls = calls
    routed: list[str] = []
    real_dispatch = calls.router.dispatch

    async def dispatch(event: ev.Event) -> None:
        if isinstance(event, ev.StasisStart):
            routed.append(event.channel.id)
        else:
            await real_dispatch(event)

    calls.router.dispatch = dispatch  # type: ignore[method-assign]
    try:
        await calls.reconcile()
        await asyncio.gather(*ari.ends)
    finally:
        await calls.records.close()
    assert ari.ends, "reconcile did not end the call whose agent was gone"
    assert TALKING not in calls.calls
    assert routed == [STRANGER]
