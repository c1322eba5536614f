"""A migrated database (SQLite file or the session's real PostgreSQL) with two tenants and DIDs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.models import Did, Role, Tenant, User


@dataclass(frozen=True)
class Tenants:
    a: int
    b: int
    a_user: int
    a_did: str
    b_did: str


@pytest.fixture
def tenants(factory: sessionmaker[Session]) -> Tenants:
    with transaction(factory) as s:
        a = Tenant(domain="a.example", name="A")
        b = Tenant(domain="b.example", name="B")
        s.add_all([a, b])
        s.flush()
        user = User(tenant_id=a.id, login="admin", role=Role.ADMIN, password_hash="x")
        s.add_all(
            [
                user,
                Did(tenant_id=a.id, number="48221000001"),
                Did(tenant_id=a.id, number="48221000002"),
                Did(tenant_id=b.id, number="48331000001"),
            ]
        )
        s.flush()
        return Tenants(a.id, b.id, user.id, "48221000001", "48331000001")
