"""The daemon's supervision service against a recording ARI fake and a real database:
a supervisor picks an agent, their phone is rung, the mode is applied on answer, a switch
does not redial, the call's end tears the session down, and every step is audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls.machine import CallState, Phase
from controlplane.db import transaction
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import Executor
from controlplane.models import PhoneEndpoint, Role, SecurityEvent, Tenant, User
from controlplane.models.supervision import SupervisionSession
from controlplane.supervision import orphans
from controlplane.supervision.exceptions import NothingToSupervise
from controlplane.supervision.service import SupervisionService

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


class Recorder:
    app = "centrala"

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.listing: dict[str, list[dict[str, Any]]] = {"/channels": [], "/bridges": []}
        self.gone: set[str] = set()

    async def get(self, path: str, **params: Any) -> Any:
        return self.listing.get(path)

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        self.requests.append(("POST", path, params))
        return {}

    async def delete(self, path: str, **params: Any) -> Any:
        self.requests.append(("DELETE", path, params))
        if path in self.gone:
            raise AriError("DELETE", path, 404, "Channel not found")  # quietly ignored
        return {}


def _world(factory: sessionmaker[Session]) -> dict[str, int]:
    with transaction(factory) as s:
        t1, t2 = Tenant(domain="one.example", name="One"), Tenant(domain="two.example", name="Two")
        s.add_all([t1, t2])
        s.flush()
        boss = User(tenant_id=t1.id, login="boss", role=Role.SUPERVISOR, password_hash="x")
        agent = User(tenant_id=t1.id, login="ag", role=Role.AGENT, password_hash="x")
        stranger = User(tenant_id=t2.id, login="ag2", role=Role.AGENT, password_hash="x")
        s.add_all([boss, agent, stranger])
        s.flush()
        s.add_all([PhoneEndpoint(tenant_id=t1.id, name="one-200", extension="200", secret="x",
                                 user_id=boss.id, kind="desk"),
                   PhoneEndpoint(tenant_id=t1.id, name="one-201", extension="201", secret="x",
                                 user_id=agent.id, kind="desk"),
                   PhoneEndpoint(tenant_id=t2.id, name="two-201", extension="201", secret="x",
                                 user_id=stranger.id, kind="desk")])
        return {"t1": t1.id, "t2": t2.id, "boss": boss.id, "agent": agent.id,
                "stranger": stranger.id}


def _call(call_id: str, tenant_id: int, endpoint: str) -> CallState:
    return CallState(call_id=call_id, phase=Phase.TALKING, tenant_id=tenant_id,
                     direction="inbound", caller="48600", callee="48221", did="48221",
                     trunk="lab", agent_endpoint=endpoint, started_at=NOW, prompt=None,
                     dial=None, agent_alive=True, answered_at=NOW)


def _channel(cid: str) -> ev.Channel:
    return ev.Channel(cid, f"PJSIP/{cid}", "Up", "", "", "")


@pytest.fixture
def world(factory: sessionmaker[Session]) -> tuple[SupervisionService, Recorder, dict[str, int]]:
    ids = _world(factory)
    ari = Recorder()
    calls = SimpleNamespace(engine=Executor(ari), db=factory, end_hooks=[], calls={
        "c1": _call("c1", ids["t1"], "one-201"), "c2": _call("c2", ids["t2"], "two-201")})
    service = SupervisionService(SimpleNamespace(ari_app="centrala"), calls)  # type: ignore[arg-type]
    return service, ari, ids


def _paths(ari: Recorder) -> list[tuple[str, str, dict[str, Any]]]:
    out, ari.requests = ari.requests, []
    return out


def test_listen_then_whisper_then_the_call_ends(world) -> None:  # type: ignore[no-untyped-def]
    service, ari, ids = world

    async def scenario() -> None:
        got = await service.carry_out({"tenant_id": ids["t1"], "actor_id": ids["boss"],
                                       "action": "start", "target": f"agent:{ids['agent']}",
                                       "mode": "listen"}, "boss@one.example")
        sid = got["session_id"]
        assert got["ok"] and got["call_id"] == "c1"
        (method, path, params), = _paths(ari)
        assert (method, path) == ("POST", "/channels")
        assert params["endpoint"] == "PJSIP/one-200" and params["app"] == "centrala-sv"
        assert params["channelId"] == f"sv{sid}-sv-phone"

        await service.on_event(ev.StasisStart(NOW, _channel(f"sv{sid}-sv-phone"), ()))
        sent = _paths(ari)
        assert ("POST", f"/channels/sv{sid}-sv-phone/mute", {"direction": "in"}) in sent
        snoop = [p for p in sent if p[1] == "/channels/c1-agent/snoop"]
        assert snoop and snoop[0][2]["spy"] == "both" and "whisper" not in snoop[0][2]

        await service.carry_out({"tenant_id": ids["t1"], "actor_id": ids["boss"],
                                 "action": "mode", "target": f"session:{sid}",
                                 "mode": "whisper"}, "boss@one.example")
        sent = _paths(ari)
        assert not any(p[1] == "/channels" for p in sent)  # never redialled
        assert ("DELETE", f"/channels/sv{sid}-sv-snoop1", {"reason": "normal"}) in sent
        snoop = [p for p in sent if p[1] == "/channels/c1-agent/snoop"]
        assert snoop[0][2]["whisper"] == "out" and snoop[0][2]["snoopId"] == f"sv{sid}-sv-snoop2"
        # the old snoop's end is not the call's end
        await service.on_event(ev.ChannelDestroyed(NOW, _channel(f"sv{sid}-sv-snoop1"), 16, ""))
        await asyncio.sleep(0.05)
        assert sid in service.sessions

        ari.gone.add(f"/channels/sv{sid}-sv-snoop2")  # went with the agent leg: no matter
        for prefix, hook in service.calls.end_hooks:  # the call service: c1 ended
            if "c1".startswith(prefix):
                hook("c1", None, 16)
        for _ in range(100):
            if sid not in service.sessions and service._tasks == set():
                break
            await asyncio.sleep(0.02)
        sent = _paths(ari)
        assert [p[1] for p in sent if p[0] == "DELETE"] == [
            f"/channels/sv{sid}-sv-snoop2", f"/channels/sv{sid}-sv-phone",
            f"/bridges/sv{sid}-sv-bridge"]
        assert not any("c1" in p[1] and p[0] == "DELETE" for p in sent)  # the call's own: untouched

    asyncio.run(scenario())
    with service.db() as s:
        row = s.scalars(select(SupervisionSession)).one()
        assert (row.state, row.modes, row.end_reason) == ("ended", "listen,whisper", "call_ended")
        assert row.agent_id == ids["agent"] and row.supervisor_id == ids["boss"]
        kinds = [e.kind for e in s.scalars(select(SecurityEvent).order_by(SecurityEvent.id))
                 if e.kind.startswith("supervision.")]
        assert kinds == ["supervision.start", "supervision.mode", "supervision.end"]


def test_another_tenants_agent_or_call_is_never_supervised(world) -> None:  # type: ignore[no-untyped-def]
    service, ari, ids = world
    for target in (f"agent:{ids['stranger']}", "call:c2", "call:nope"):
        with pytest.raises(NothingToSupervise):
            asyncio.run(service.carry_out({"tenant_id": ids["t1"], "actor_id": ids["boss"],
                                           "action": "start", "target": target,
                                           "mode": "listen"}, "boss@one.example"))
    assert ari.requests == []


def test_a_restart_sweeps_sessions_it_does_not_hold(world) -> None:  # type: ignore[no-untyped-def]
    service, ari, ids = world
    asyncio.run(service.carry_out({"tenant_id": ids["t1"], "actor_id": ids["boss"],
                                   "action": "start", "target": "call:c1", "mode": "barge"},
                                  "boss@one.example"))
    service.sessions.clear()  # a new daemon: nothing live, the row and the objects left
    service.supervisors.clear()
    ari.listing = {"/channels": [{"id": "sv1-sv-phone"}, {"id": "sv1-sv-snoop1"}, {"id": "c1"},
                                 {"id": "c1-agent"}],
                   "/bridges": [{"id": "sv1-sv-bridge"}, {"id": "c1-bridge"}]}
    ari.requests = []
    asyncio.run(orphans.sweep(service))
    assert [(m, p) for m, p, _ in ari.requests] == [
        ("DELETE", "/channels/sv1-sv-phone"), ("DELETE", "/channels/sv1-sv-snoop1"),
        ("DELETE", "/bridges/sv1-sv-bridge")]
    with service.db() as s:
        row = s.scalars(select(SupervisionSession)).one()
        assert (row.state, row.end_reason) == ("ended", "restart")
