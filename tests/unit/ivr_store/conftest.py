"""A migrated database (SQLite file or the session's real PostgreSQL) with two tenants and DIDs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.migrate import upgrade
from controlplane.models import Did, Role, Tenant, User


@dataclass(frozen=True)
class Tenants:
    a: int
    b: int
    a_user: int
    a_did: str
    b_did: str


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ivr.db'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    with engine.begin() as conn:  # a clean schema per test
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade(db_url)
    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


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
