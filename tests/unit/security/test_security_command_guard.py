"""The daemon re-checks every command (``controlplane.security.command_guard``): a real
database (SQLite and PostgreSQL), a real Redis, the daemon's real command reader."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane import daemon
from controlplane.bus import ADMIN_STREAM, PANEL_STREAM
from controlplane.db import transaction
from controlplane.models import CallRecord, PhoneEndpoint, Role, Tenant, User
from controlplane.models.security import SecurityEvent
from controlplane.security.command_guard import CommandGuard


@dataclass
class World:
    a: int  # tenant ids
    b: int
    admin_a: int  # user ids
    sup_a: int
    agent_a: int
    agent_b: int
    idle_a: int  # deactivated


def seed(db: sessionmaker[Session]) -> World:
    with transaction(db) as s:
        ta, tb = Tenant(domain="a.example", name="A"), Tenant(domain="b.example", name="B")
        s.add_all([ta, tb])
        s.flush()
        users = [User(tenant_id=t.id, login=login, role=role, password_hash="x", active=active)
                 for t, login, role, active in ((ta, "admin", Role.ADMIN, True),
                                                (ta, "sup", Role.SUPERVISOR, True),
                                                (ta, "agent", Role.AGENT, True),
                                                (tb, "agent", Role.AGENT, True),
                                                (ta, "idle", Role.ADMIN, False))]
        s.add_all(users)
        s.flush()
        s.add(PhoneEndpoint(tenant_id=ta.id, name="ph-a", extension="1001", secret="s" * 16,
                            user_id=users[2].id))
        s.add(CallRecord(call_id="call-b", tenant_id=tb.id, direction="inbound",
                         caller_channel="call-b", started_at=_now()))
        return World(ta.id, tb.id, *(u.id for u in users))


def _now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime.now(UTC)


def events(db: sessionmaker[Session]) -> list[SecurityEvent]:
    with db() as s:
        return list(s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "command.refused")
                              .order_by(SecurityEvent.id)))


async def test_allowed_commands_leave_no_trace(factory: sessionmaker[Session]) -> None:
    w = seed(factory)
    guard = CommandGuard(factory)
    own = {"cmd": "acd.agent", "tenant_id": w.a, "actor_id": w.agent_a, "user_id": w.agent_a,
           "command": "login"}
    checked = await guard.check(PANEL_STREAM, own)
    assert checked.verdict.ok and checked.actor == "agent@a.example"
    approve = {**own, "actor_id": w.sup_a, "command": "approve"}
    assert (await guard.check(PANEL_STREAM, approve)).actor == "sup@a.example"
    assert (await guard.check(ADMIN_STREAM, {"cmd": "dialer.place"})).verdict.ok  # trusted
    assert events(factory) == []


async def test_a_command_for_another_tenants_agent_is_refused_and_audited(
        factory: sessionmaker[Session]) -> None:
    w = seed(factory)
    forged = {"cmd": "acd.agent", "tenant_id": w.a, "actor_id": w.sup_a, "user_id": w.agent_b,
              "command": "force", "reason": "1", "reply": "centrala:reply:x"}
    checked = await CommandGuard(factory).check(PANEL_STREAM, forged)
    assert not checked.verdict.ok and checked.verdict.code == "foreign_object"
    (ev,) = events(factory)
    assert ev.severity == "warning" and ev.tenant_id == w.a and ev.actor == "sup@a.example"
    assert ev.source == f"redis {PANEL_STREAM}"
    assert ev.detail["code"] == "foreign_object" and ev.detail["user_id"] == w.agent_b
    assert ev.detail["command"] == "force" and "another tenant" in str(ev.detail["reason"])
    assert "reply" not in ev.detail


@pytest.mark.parametrize(("change", "code"), [
    ({"actor_id": 99999}, "unknown_user"),
    ({"tenant_id": "b"}, "wrong_tenant"),
    ({"actor_id": "idle"}, "inactive_user"),
    ({"cmd": "acd.reload", "actor_id": "sup"}, "forbidden"),
    ({"cmd": "dialer.place", "number": "1001234", "caller_id": "48221000001"}, "not_on_stream"),
    ({"actor_id": None}, "bad_command"),
])
async def test_refusals_by_the_database(factory: sessionmaker[Session], change: dict[str, Any],
                                        code: str) -> None:
    w = seed(factory)
    names = {"idle": w.idle_a, "sup": w.sup_a, "b": w.b}
    command = {"cmd": "acd.agent", "tenant_id": w.a, "actor_id": w.agent_a,
               "user_id": w.agent_a, "command": "ready"}
    command.update({k: names.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    checked = await CommandGuard(factory).check(PANEL_STREAM, command)
    assert checked.verdict.code == code, checked
    (ev,) = events(factory)
    assert ev.detail["code"] == code


async def test_a_forged_tenant_that_does_not_exist_is_still_audited(
        factory: sessionmaker[Session]) -> None:
    seed(factory)
    checked = await CommandGuard(factory).check(PANEL_STREAM, {"cmd": "acd.reload",
                                                               "tenant_id": 424242,
                                                               "actor_id": 424242})
    assert checked.verdict.code == "unknown_user"
    (ev,) = events(factory)
    assert ev.tenant_id is None and ev.detail["tenant_id"] == 424242
    assert ev.actor == "user id 424242"


async def test_garbage_on_either_stream_is_refused(factory: sessionmaker[Session]) -> None:
    seed(factory)
    guard = CommandGuard(factory)
    for stream in (PANEL_STREAM, ADMIN_STREAM):
        assert (await guard.check(stream, ["acd.reload"])).verdict.code == "bad_command"
        assert (await guard.check(stream, None)).verdict.code == "bad_command"
    assert len(events(factory)) == 4


# ---- the daemon's reader: refused commands are answered and never carried out ----

@dataclass
class Recorder:
    """Stands in for the ACD and the dialer: records what the reader hands on."""

    done: list[tuple[str, Any]] = field(default_factory=list)

    async def reload(self, tenant_id: int) -> None:
        self.done.append(("reload", tenant_id))

    async def agent_command(self, tenant_id: int, user_id: int, command: str,
                            reason: str | None = None, *, by: str | None = None,
                            workstation: str | None = None) -> Any:
        self.done.append(("agent", (tenant_id, user_id, command, by)))
        return type("R", (), {"ok": True, "status": "ready", "reason": None, "code": "",
                              "message": ""})()

    def submit(self, command: dict[str, Any]) -> None:
        self.done.append(("place", command["number"]))


@pytest.fixture
async def reader(factory: sessionmaker[Session], redis_port: int
                 ) -> AsyncIterator[tuple[aioredis.Redis, Recorder, World]]:
    w = seed(factory)
    rds = aioredis.Redis(port=redis_port)
    await rds.delete(PANEL_STREAM, ADMIN_STREAM)
    rec = Recorder()
    task = asyncio.create_task(daemon._commands(rds, rec, rec, guard=CommandGuard(factory)))  # type: ignore[arg-type]
    deadline = time.monotonic() + 10
    while not any(c.get("cmd") == "xread" for c in await rds.client_list()):
        assert not task.done() and time.monotonic() < deadline, "reader not started"
        await asyncio.sleep(0.02)
    yield rds, rec, w
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await rds.aclose()


async def _send(rds: aioredis.Redis, stream: str, command: dict[str, Any]) -> None:
    await rds.xadd(stream, {"data": json.dumps(command)})


async def _wait(what: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := await what()):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
    return got


async def test_reader_answers_a_refusal_and_carries_out_only_what_is_allowed(
        reader: tuple[aioredis.Redis, Recorder, World], factory: sessionmaker[Session]) -> None:
    rds, rec, w = reader
    # a supervisor of A forces a break on B's agent: refused, answered, not carried out
    await _send(rds, PANEL_STREAM, {"cmd": "acd.agent", "tenant_id": w.a, "actor_id": w.sup_a,
                                    "user_id": w.agent_b, "command": "force", "reason": "1",
                                    "reply": "centrala:reply:t1", "deadline": time.time() + 30})
    _, raw = await _wait(lambda: rds.blpop(["centrala:reply:t1"], timeout=1))
    reply = json.loads(raw)
    assert reply["ok"] is False and reply["code"] == "not_found"  # to the user: as if missing
    assert reply["message"] == f"refused by the control plane: no user {w.agent_b}"
    # a forged dialer.place on the panel stream: refused; the same on the admin stream: placed
    await _send(rds, PANEL_STREAM, {"cmd": "dialer.place", "number": "1001111"})
    await _send(rds, ADMIN_STREAM, {"cmd": "dialer.place", "number": "1002222"})
    # an allowed supervisor command: carried out with the verified "by", not the entry's
    await _send(rds, PANEL_STREAM, {"cmd": "acd.agent", "tenant_id": w.a, "actor_id": w.sup_a,
                                    "user_id": w.agent_a, "command": "approve",
                                    "by": "ceo@b.example", "reply": "centrala:reply:t2"})
    await _wait(lambda: rds.blpop(["centrala:reply:t2"], timeout=1))
    await _wait(lambda: asyncio.sleep(0, result=len(rec.done) >= 2))
    assert sorted(rec.done) == [("agent", (w.a, w.agent_a, "approve", "sup@a.example")),
                                ("place", "1002222")]  # two streams: no order between them
    assert [e.detail["code"] for e in events(factory)] == ["foreign_object", "not_on_stream"]
