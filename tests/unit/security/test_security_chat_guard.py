"""The guard's database facts for chat commands (real database): the chat's tenant, status
and agent, a transfer target queue's tenant; a visitor's command passes without a user."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import PANEL_STREAM
from controlplane.db import transaction
from controlplane.models import Role, Tenant, User
from controlplane.models.acd import Queue
from controlplane.models.chat import Chat
from controlplane.security.command_guard import CommandGuard


def seed(db: sessionmaker[Session]) -> dict[str, int]:
    with transaction(db) as s:
        ta, tb = Tenant(domain="ca.example", name="A"), Tenant(domain="cb.example", name="B")
        s.add_all([ta, tb])
        s.flush()
        agent = User(tenant_id=ta.id, login="agent", role=Role.AGENT, password_hash="x")
        other = User(tenant_id=ta.id, login="other", role=Role.AGENT, password_hash="x")
        qa, qb = Queue(tenant_id=ta.id, name="www"), Queue(tenant_id=tb.id, name="www")
        s.add_all([agent, other, qa, qb])
        s.flush()
        waiting = Chat(tenant_id=ta.id, public_id="p-wait", queue_id=qa.id)
        held = Chat(tenant_id=ta.id, public_id="p-held", queue_id=qa.id, status="active",
                    agent_user_id=agent.id)
        s.add_all([waiting, held])
        s.flush()
        return {"a": ta.id, "agent": agent.id, "other": other.id, "qa": qa.id, "qb": qb.id,
                "waiting": waiting.id, "held": held.id}


async def test_chat_commands_checked_against_the_chat_row(
        factory: sessionmaker[Session]) -> None:
    w = seed(factory)
    guard = CommandGuard(factory)

    async def ok(body: dict[str, object]) -> tuple[bool, str]:
        v = (await guard.check(PANEL_STREAM, {"tenant_id": w["a"], **body})).verdict
        return v.ok, v.code

    assert await ok({"cmd": "chat.enqueue", "actor_id": None, "chat_id": w["waiting"]}) == (
        True, "")
    assert await ok({"cmd": "chat.enqueue", "actor_id": None, "chat_id": w["held"]}) == (
        False, "forbidden")
    assert await ok({"cmd": "chat.end", "actor_id": w["agent"], "chat_id": w["held"]}) == (
        True, "")
    assert await ok({"cmd": "chat.end", "actor_id": w["other"], "chat_id": w["held"]}) == (
        False, "forbidden")
    transfer = {"cmd": "chat.transfer", "actor_id": w["agent"], "chat_id": w["held"]}
    assert await ok({**transfer, "target": f"queue:{w['qa']}"}) == (True, "")
    assert await ok({**transfer, "target": f"queue:{w['qb']}"}) == (False, "foreign_object")
    assert await ok({**transfer, "target": f"agent:{w['other']}"}) == (True, "")
