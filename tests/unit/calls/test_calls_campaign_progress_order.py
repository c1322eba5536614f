"""A campaign call's progress writes reach Redis in the order they were made: the final
delete never lands before an earlier write (which would leave a finished attempt behind, as
the live restart test once saw)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from controlplane.calls.campaign_glue import PROGRESS_KEY, CampaignCalls


class SlowRedis:
    """The first HSET is held until the test lets it go; every command is logged on arrival."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.log: list[tuple[str, str]] = []
        self.first = True

    async def hset(self, key: str, field: str, value: str) -> None:
        assert key == PROGRESS_KEY
        if self.first:
            self.first = False
            await self.release.wait()
        self.log.append(("hset", value))

    async def hdel(self, key: str, field: str) -> None:
        self.log.append(("hdel", field))


async def test_the_delete_waits_for_the_writes_before_it() -> None:
    redis = SlowRedis()
    glue: Any = CampaignCalls.__new__(CampaignCalls)  # only the write queue is exercised
    glue.calls = SimpleNamespace(redis=redis)
    glue._tasks, glue._writes = set(), {}
    first = glue._queue_write("c1", "one")
    second = glue._queue_write("c1", "two")
    done = glue._queue_write("c1", None)
    await asyncio.sleep(0)  # let every task start: all but the first must wait their turn
    assert redis.log == []
    redis.release.set()
    await asyncio.wait_for(asyncio.gather(first, second, done), timeout=5)
    assert redis.log == [("hset", "one"), ("hset", "two"), ("hdel", "c1")]
    assert glue._writes == {}  # nothing kept once the call's writes are done
