"""The live ACD's test world: a tenant with agents, phones and queues in a real database,
a recording connector (the ARI seam), a fake clock. Shared by tests/unit/acd_service/."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.service import QueueService
from controlplane.db import transaction
from controlplane.models import PhoneEndpoint, Role, Tenant, User
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember

T0 = 1_800_000_000.0


def until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(step)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeConnector:
    """Records every command; ``fail_offers_to`` makes ``offer`` raise for those phones."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    fail_offers_to: set[str] = field(default_factory=set)

    async def offer(self, call_id: str, agent_endpoint: str, timeout_s: float) -> None:
        self.calls.append(("offer", call_id, agent_endpoint, timeout_s))
        if agent_endpoint in self.fail_offers_to:
            raise ConnectionError("originate refused")

    async def cancel_offer(self, call_id: str, agent_endpoint: str, reason: str) -> None:
        self.calls.append(("cancel_offer", call_id, agent_endpoint, reason))

    async def connect(self, call_id: str, agent_endpoint: str, record: bool) -> None:
        self.calls.append(("connect", call_id, agent_endpoint, record))

    async def start_moh(self, call_id: str) -> None:
        self.calls.append(("start_moh", call_id))

    async def stop_moh(self, call_id: str) -> None:
        self.calls.append(("stop_moh", call_id))

    async def announce(self, call_id: str, position: int, ewt_s: float) -> None:
        self.calls.append(("announce", call_id, position, ewt_s))

    async def leave(self, call_id: str, outcome: str, destination: str | None) -> None:
        self.calls.append(("leave", call_id, outcome, destination))

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == name]


@dataclass
class World:
    tenant: int
    users: dict[str, int]  # login → user id
    queues: dict[str, int]  # name → queue id

    def phone(self, login: str) -> str:
        return f"ph-{login}"


def seed(
    db: sessionmaker[Session],
    queues: dict[str, dict[str, Any]],
    members: dict[str, tuple[str, ...]],
    agents: tuple[str, ...] = ("a1", "a2", "a3"),
    licences: int = 10,
) -> World:
    """A tenant with agents (each with a phone ``ph-<login>``) and queues."""
    with transaction(db) as s:
        t = Tenant(domain="acme.example", name="Acme", licences=licences)
        s.add(t)
        s.flush()
        users = {}
        for login in agents:
            u = User(tenant_id=t.id, login=login, role=Role.AGENT, password_hash="x")
            s.add(u)
            s.flush()
            users[login] = u.id
            s.add(
                PhoneEndpoint(
                    tenant_id=t.id,
                    name=f"ph-{login}",
                    extension=login[-1] * 4,
                    secret="s" * 16,
                    user_id=u.id,
                )
            )
        s.add(PhoneEndpoint(tenant_id=t.id, name="ph-spare", extension="9999", secret="s" * 16))
        qids = {}
        for name, kw in queues.items():
            kw = dict(kw)
            overflow = kw.pop("overflow_to", None)
            q = Queue(tenant_id=t.id, name=name, announce_every_s=None, **kw)
            if overflow is not None:
                q.overflow_queue_id = qids[overflow]
            s.add(q)
            s.flush()
            qids[name] = q.id
            for n, login in enumerate(members.get(name, ())):
                s.add(QueueMember(queue_id=q.id, user_id=users[login], penalty=n))
    return World(t.id, users, qids)


async def login(svc: QueueService, w: World, *logins: str) -> None:
    for name in logins:
        r = await svc.agent_command(w.tenant, w.users[name], "login")
        assert r.ok, r


def status(svc: QueueService, w: World, name: str) -> str:
    a = svc._tenants[w.tenant].agents[str(w.users[name])]
    return f"{a.status}:{a.reason}" if a.reason else str(a.status)


def status_log(db: sessionmaker[Session], uid: int) -> list[tuple[str, str, str | None]]:
    with db() as s:
        rows = s.scalars(
            select(AgentStatusLog).where(AgentStatusLog.user_id == uid).order_by(AgentStatusLog.id)
        )
        return [(r.from_status, r.to_status, r.reason) for r in rows]


def queue_log(db: sessionmaker[Session], call_id: str) -> list[tuple[str, int | None]]:
    with db() as s:
        rows = s.scalars(
            select(QueueLog).where(QueueLog.interaction_id == call_id).order_by(QueueLog.id)
        )
        return [(r.kind, r.user_id) for r in rows]


def make(
    db: sessionmaker[Session], rds: aioredis.Redis, clock: Clock
) -> tuple[QueueService, FakeConnector]:
    conn = FakeConnector()
    return QueueService(db, rds, conn, clock, stats_interval_s=0), conn

