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

from controlplane.acd import outputs as out
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
    """Records every order as a tuple (``("offer", call, phone, timeout)``, …);
    ``fail_offers_to`` makes a ``RingAgent`` to those phones raise."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[out.CallOrder] = field(default_factory=list)
    fail_offers_to: set[str] = field(default_factory=set)

    async def send(self, order: out.CallOrder) -> None:
        self.orders.append(order)
        match order:
            case out.RingAgent(call_id, endpoint, timeout_s):
                self.calls.append(("offer", call_id, endpoint, timeout_s))
                if endpoint in self.fail_offers_to:
                    raise ConnectionError("originate refused")
            case out.WithdrawOffer(call_id, endpoint, reason):
                self.calls.append(("cancel_offer", call_id, endpoint, reason))
            case out.ConnectAgent(call_id, endpoint, record):
                self.calls.append(("connect", call_id, endpoint, record))
            case out.AnnouncePosition(call_id, position, ewt_s):
                self.calls.append(("announce", call_id, position, ewt_s))
            case out.LeaveQueue(call_id, outcome):
                self.calls.append(("leave", call_id, outcome, order.where))
            case out.LeaveForCallback(call_id, queue_name):
                self.calls.append(("leave", call_id, "callback_requested", f"callback:{queue_name}"))

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

