"""Fixtures shared by the call service's unit tests (the database and Redis server come
from ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis


@pytest.fixture
async def rds(redis_port: int) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client of the session's real Redis, emptied for each test."""
    client = aioredis.Redis(port=redis_port)
    await client.flushall()
    yield client
    await client.aclose()
