"""A migrated database (SQLite file or the session's real PostgreSQL) with two tenants,
an agent and a queue in tenant A, and a campaign of tenant A."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import store
from controlplane.db import transaction
from controlplane.models import Queue, Role, Tenant, User


@dataclass(frozen=True)
class World:
    a: int
    b: int
    agent: int
    campaign: int


@pytest.fixture
def world(factory: sessionmaker[Session]) -> World:
    with transaction(factory) as s:
        a = Tenant(domain="a.example", name="A")
        b = Tenant(domain="b.example", name="B")
        s.add_all([a, b])
        s.flush()
        agent = User(tenant_id=a.id, login="agent1", role=Role.AGENT, password_hash="x")
        s.add_all([agent, Queue(tenant_id=a.id, name="sales")])
        s.flush()
        campaign = store.create_campaign(s, a.id, "spring", queue="sales")
        return World(a.id, b.id, agent.id, campaign.id)
