"""Fixtures of the live ACD tests: a migrated SQLite per test, a real Redis, a fake clock."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from acd_world import Clock
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import make_engine, make_sessionmaker
from controlplane.migrate import upgrade


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database at the Alembic head, built once and copied per test."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(migrated_db: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    path = tmp_path / "acd.db"
    shutil.copy(migrated_db, path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
async def rds(redis_port: int) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis(port=redis_port)
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> Clock:
    return Clock()
