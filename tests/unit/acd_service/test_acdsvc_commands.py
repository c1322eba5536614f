"""Agent commands panel → daemon: through a real Redis, the daemon's real command reader
and a real ``QueueService`` (recording connector, SQLite migrated with Alembic).

The panel side (``send_agent_command``, synchronous redis-py, blocking BLPOP) runs in a
thread, as it does in a Flask worker; the daemon side is ``controlplane.daemon._commands``
on the test's event loop, so the hook in the daemon is exercised, not only ``handle``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from acd_world import FakeConnector
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane import daemon
from controlplane.acd.commands import handle
from controlplane.acd.service import QueueService
from controlplane.bus import (
    COMMANDS_STREAM,
    REPLY_PREFIX,
    BadCommand,
    ControlPlaneNotAnswering,
    send_agent_command,
    send_reload,
)
from controlplane.db import transaction
from controlplane.models import PhoneEndpoint, Role, Tenant, User
from controlplane.models.acd import AgentBreakReason, AgentSessionAudit, Queue, QueueMember
from controlplane.security.command_guard import CommandGuard

BOSS = "boss@acme.example"


@pytest.fixture
def panel_redis(redis_port: int) -> Iterator[redis.Redis]:
    """The panel's client: synchronous, decoded, as ``web.services`` builds it."""
    client = redis.Redis(port=redis_port, decode_responses=True, socket_timeout=30)
    yield client
    client.close()


def seed(db: sessionmaker[Session]) -> dict[str, int]:
    """Tenant acme: agent a1 with phone ph-a1 in queue sales, supervisor boss (BOSS), an
    admin; break 1 is free, 2 needs approval, 9 is supervisor-only."""
    with transaction(db) as s:
        t = Tenant(domain="acme.example", name="Acme", licences=5)
        s.add(t)
        s.flush()
        a1 = User(tenant_id=t.id, login="a1", role=Role.AGENT, password_hash="x")
        boss = User(tenant_id=t.id, login="boss", role=Role.SUPERVISOR, password_hash="x")
        admin = User(tenant_id=t.id, login="admin", role=Role.ADMIN, password_hash="x")
        s.add_all([a1, boss, admin])
        s.flush()
        s.add(
            PhoneEndpoint(
                tenant_id=t.id, name="ph-a1", extension="1111", secret="s" * 16, user_id=a1.id
            )
        )
        q = Queue(tenant_id=t.id, name="sales", announce_every_s=None)
        s.add(q)
        s.flush()
        s.add(QueueMember(queue_id=q.id, user_id=a1.id))
        s.add(AgentBreakReason(tenant_id=t.id, code="1", kind="free", label="Coffee"))
        s.add(AgentBreakReason(tenant_id=t.id, code="2", kind="approval", label="Lunch"))
        s.add(AgentBreakReason(tenant_id=t.id, code="9", kind="supervisor", label="Coaching"))
        return {"tenant": t.id, "a1": a1.id, "boss": boss.id, "admin": admin.id}


@pytest.fixture
async def live(
    db: sessionmaker[Session], rds: aioredis.Redis
) -> AsyncIterator[tuple[QueueService, dict[str, int]]]:
    """A started QueueService and the daemon's command reader, blocked in XREAD."""
    ids = seed(db)
    svc = QueueService(db, rds, FakeConnector(), stats_interval_s=0)
    await svc.start()
    reader = asyncio.create_task(daemon._commands(rds, svc, guard=CommandGuard(db)))
    deadline = time.monotonic() + 10
    while not any(c.get("cmd") == "xread" for c in await rds.client_list()):
        assert not reader.done(), reader
        assert time.monotonic() < deadline, "the command reader never reached XREAD"
        await asyncio.sleep(0.02)
    yield svc, ids
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


async def send(panel: redis.Redis, ids: dict[str, int], command: str, **kw: Any) -> dict[str, Any]:
    """a1's own command, or (``by`` given) the supervisor's on a1, as the panel sends them."""
    actor = ids["boss"] if kw.get("by") else ids["a1"]
    return await asyncio.to_thread(
        partial(send_agent_command, actor_id=actor), panel, ids["tenant"], ids["a1"], command, **kw
    )


def board(panel: redis.Redis, ids: dict[str, int]) -> dict[str, Any]:
    raw = panel.hget(f"centrala:acd:{ids['tenant']}:agents", str(ids["a1"]))
    assert isinstance(raw, str), "agent not mirrored to Redis"
    data: dict[str, Any] = json.loads(raw)
    return data


async def test_login_ready_break_request_approve_round_trip(
    live: tuple[QueueService, dict[str, int]],
    panel_redis: redis.Redis,
    db: sessionmaker[Session],
) -> None:
    _, ids = live
    r = await send(panel_redis, ids, "login")
    assert (r["ok"], r["status"], r["code"]) == (True, "ready", "")
    assert board(panel_redis, ids)["endpoint"] == "ph-a1"  # the default phone
    r = await send(panel_redis, ids, "ready")  # already ready: the machine says so
    assert (r["ok"], r["code"], r["status"]) == (False, "refused", "ready")
    r = await send(panel_redis, ids, "break", reason="1")  # free: taken at once
    assert (r["ok"], r["status"], r["reason"]) == (True, "break", "1")
    r = await send(panel_redis, ids, "ready")
    assert (r["ok"], r["status"], r["reason"]) == (True, "ready", None)
    assert board(panel_redis, ids)["status"] == "ready"

    r = await send(panel_redis, ids, "break", reason="2")  # approval kind: only requested
    assert (r["ok"], r["status"], r["reason"]) == (True, "ready", None)
    assert board(panel_redis, ids)["pending_break"] == "2"

    r = await send(panel_redis, ids, "approve", by=BOSS)
    assert (r["ok"], r["status"], r["reason"]) == (True, "break", "2")
    state = board(panel_redis, ids)
    assert (state["status"], state["reason"], state["pending_break"]) == ("break", "2", None)

    with db() as s:
        rows = s.execute(
            select(AgentSessionAudit.action, AgentSessionAudit.by)
            .where(AgentSessionAudit.user_id == ids["a1"])
            .order_by(AgentSessionAudit.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("login", None),
        ("break_taken", None),
        ("break_requested", None),
        ("break_approved", BOSS),
    ]


async def test_refusals_come_back_as_results_not_timeouts(
    live: tuple[QueueService, dict[str, int]], panel_redis: redis.Redis
) -> None:
    _, ids = live
    await send(panel_redis, ids, "login")
    r = await send(panel_redis, ids, "break", reason="9")
    assert (r["ok"], r["code"], r["status"]) == (False, "refused", "ready")
    assert "supervisor" in r["message"]
    r = await send(panel_redis, ids, "deny", by=BOSS)
    assert (r["ok"], r["message"]) == (False, "no break request to deny")
    r = await send(panel_redis, ids, "force", reason="9", by=BOSS)
    assert (r["ok"], r["status"], r["reason"]) == (True, "break", "9")
    r = await send(panel_redis, ids, "logout", by=BOSS)
    assert (r["ok"], r["status"]) == (True, "logged_out")


async def test_a_command_naming_another_tenant_is_refused(
    live: tuple[QueueService, dict[str, int]], panel_redis: redis.Redis
) -> None:
    _, ids = live
    r = await asyncio.to_thread(
        partial(send_agent_command, actor_id=ids["a1"]), panel_redis, 999_999, ids["a1"], "login"
    )
    assert (r["ok"], r["code"]) == (False, "wrong_tenant")
    assert "999999" in r["message"]


async def test_a_malformed_command_gets_a_bad_command_reply(
    live: tuple[QueueService, dict[str, int]], panel_redis: redis.Redis
) -> None:
    _, ids = live
    reply = f"{REPLY_PREFIX}malformed"
    bad = {
        "cmd": "acd.agent",
        "tenant_id": ids["tenant"],
        "actor_id": ids["a1"],
        "user_id": "7",
        "command": "login",
        "reply": reply,
    }
    panel_redis.xadd(COMMANDS_STREAM, {"data": json.dumps(bad)})
    got = await asyncio.to_thread(panel_redis.blpop, [reply], 5)
    assert got is not None
    body = json.loads(got[1])
    assert body["code"] == "bad_command" and "'user_id'" in body["message"]


def test_panel_refuses_an_unknown_command_before_sending(panel_redis: redis.Redis) -> None:
    panel_redis.delete(COMMANDS_STREAM)
    with pytest.raises(BadCommand, match="unknown agent command 'dance'"):
        send_agent_command(panel_redis, 1, 1, "dance", actor_id=1)
    assert panel_redis.xlen(COMMANDS_STREAM) == 0


def test_timeout_when_nobody_handles(panel_redis: redis.Redis) -> None:
    panel_redis.delete(COMMANDS_STREAM)
    started = time.monotonic()
    with pytest.raises(ControlPlaneNotAnswering, match="control plane not answering"):
        send_agent_command(panel_redis, 1, 2, "login", timeout_s=0.3, actor_id=2)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.0
    ((_, fields),) = panel_redis.xrange(COMMANDS_STREAM)
    sent = json.loads(fields["data"])
    assert sent["cmd"] == "acd.agent" and sent["reply"].startswith(REPLY_PREFIX)
    assert {k: sent[k] for k in ("tenant_id", "actor_id", "user_id", "command", "reason", "by")} == {
        "tenant_id": 1,
        "actor_id": 2,
        "user_id": 2,
        "command": "login",
        "reason": None,
        "by": None,
    }


async def test_a_command_past_its_deadline_is_not_carried_out(
    db: sessionmaker[Session], rds: aioredis.Redis
) -> None:
    ids = seed(db)
    svc = QueueService(db, rds, FakeConnector(), stats_interval_s=0)
    reply = f"{REPLY_PREFIX}late"
    command = {
        "cmd": "acd.agent",
        "tenant_id": ids["tenant"],
        "user_id": ids["a1"],
        "command": "login",
        "reply": reply,
        "deadline": time.time() - 1,
    }
    body = await handle(command, svc, rds)
    assert (body["ok"], body["code"]) == (False, "expired")
    assert await rds.hget(f"centrala:acd:{ids['tenant']}:agents", str(ids["a1"])) is None
    assert json.loads((await rds.lpop(reply)) or b"{}")["code"] == "expired"


async def test_reply_expires_and_foreign_reply_keys_are_ignored(
    db: sessionmaker[Session], rds: aioredis.Redis
) -> None:
    ids = seed(db)
    svc = QueueService(db, rds, FakeConnector(), stats_interval_s=0)
    command = {
        "cmd": "acd.agent",
        "tenant_id": ids["tenant"],
        "user_id": ids["a1"],
        "command": "login",
        "reply": f"{REPLY_PREFIX}ttl",
    }
    assert (await handle(command, svc, rds))["ok"] is True
    assert 0 < await rds.ttl(f"{REPLY_PREFIX}ttl") <= 30
    body = await handle({**command, "command": "logout", "reply": "centrala:heartbeat"}, svc, rds)
    assert body["status"] == "logged_out"  # carried out, but nothing written to that key
    assert await rds.exists("centrala:heartbeat") == 0


async def test_reload_command_makes_the_daemon_read_new_queues(
    live: tuple[QueueService, dict[str, int]],
    panel_redis: redis.Redis,
    db: sessionmaker[Session],
) -> None:
    svc, ids = live

    async def names() -> set[str]:
        return {q["name"] for q in (await svc.snapshot(ids["tenant"]))["queues"]}

    assert await names() == {"sales"}
    with transaction(db) as s:
        s.add(Queue(tenant_id=ids["tenant"], name="support", announce_every_s=None))
    send_reload(panel_redis, ids["tenant"], actor_id=ids["admin"])
    deadline = time.monotonic() + 10
    while await names() != {"sales", "support"}:
        assert time.monotonic() < deadline, "the reload command was not carried out"
        await asyncio.sleep(0.05)
