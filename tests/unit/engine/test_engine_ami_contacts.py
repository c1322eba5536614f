"""The contacts hash per AOR: reachable while any contact is, whatever order the events
come in (a webphone's new contact registers before its old one is removed)."""

from __future__ import annotations

import asyncio
from typing import Any

from controlplane.bus import CONTACTS_KEY
from controlplane.engine.ami import AmiClient


class FakeRedis:
    def __init__(self) -> None:
        self.hash: dict[str, str] = {}

    async def hset(self, key: str, field: str, value: str) -> None:
        assert key == CONTACTS_KEY
        self.hash[field] = value


def test_old_contact_removed_after_the_new_one_registered() -> None:
    redis: Any = FakeRedis()
    ami = AmiClient("127.0.0.1", 1, "u", "p", redis=redis)

    async def events() -> None:
        await ami._contact("demo-web-1", "Created", "sip:a@127.0.0.1:40001;transport=ws")
        await ami._contact("demo-web-1", "Created", "sip:b@127.0.0.1:40002;transport=ws")
        await ami._contact("demo-web-1", "Removed", "sip:a@127.0.0.1:40001;transport=ws")
        assert redis.hash["demo-web-1"] == "Created"
        await ami._contact("demo-web-1", "Reachable", "sip:b@127.0.0.1:40002;transport=ws")
        assert redis.hash["demo-web-1"] == "Reachable"
        await ami._contact("demo-web-1", "Removed", "sip:b@127.0.0.1:40002;transport=ws")
        assert redis.hash["demo-web-1"] == "Removed"  # no contact left
        await ami._contact("demo-1001", "Unreachable", "sip:x@127.0.0.1:5061")
        assert redis.hash["demo-1001"] == "Unreachable"

    asyncio.run(events())
