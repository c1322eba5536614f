"""On (re)connecting, the AMI client re-reads Asterisk's contacts (``PJSIPShowContacts``):
each goes to the ACD and the Redis hash as an event would, and hash entries of AORs that
have no contact any more are dropped. A fake manager answers the action (the real
Asterisk reply is met in tests/integration/test_contacts_resync.py); Redis is real."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis

from controlplane.bus import CONTACTS_KEY
from controlplane.engine.ami import AmiClient

REPLY = [
    {"Response": "Success", "EventList": "start", "Message": "A listing of Contacts follows"},
    {"Event": "ContactList", "ObjectType": "contact", "Aor": "demo-1001",
     "ObjectName": "demo-1001;@abc", "Endpoint": "demo-1001", "Status": "Reachable",
     "Uri": "sip:demo-1001@127.0.0.1:5070"},
    {"Event": "ContactList", "ObjectType": "contact", "Aor": "demo-1002",
     "ObjectName": "demo-1002;@fed", "Endpoint": "demo-1002", "Status": "NonQualified",
     "Uri": "sip:demo-1002@127.0.0.1:5074"},
    {"Event": "ContactList", "ObjectType": "contact", "Aor": "",
     "ObjectName": "demo-1002;@def", "Endpoint": "demo-1002", "Status": "Unreachable",
     "Uri": "sip:demo-1002@127.0.0.1:5072"},
    {"Event": "ContactListComplete", "EventList": "Complete", "ListItems": "3"},
]


class FakeManager:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send_action(self, action: dict[str, str]) -> Any:
        self.sent.append(action)
        return REPLY


def test_contacts_are_re_read_and_stale_ones_dropped(redis_port: int) -> None:
    seen: list[tuple[str, str, str]] = []

    async def on_contact(aor: str, status: str, uri: str) -> None:
        seen.append((aor, status, uri))

    async def run() -> dict[str, str]:
        r = aioredis.Redis(port=redis_port, decode_responses=True)
        try:
            await r.delete(CONTACTS_KEY)
            await r.hset(CONTACTS_KEY, mapping={"demo-1003": "Reachable",  # gone meanwhile
                                                "demo-1001": "Removed"})
            client = AmiClient("127.0.0.1", 1, "u", "p", r, on_contact=on_contact)
            manager = FakeManager()
            client.manager = manager  # type: ignore[assignment]
            assert await client.resync_contacts() == 3
            assert manager.sent == [{"Action": "PJSIPShowContacts"}]
            return dict(await r.hgetall(CONTACTS_KEY))
        finally:
            await r.aclose()

    assert asyncio.run(run()) == {"demo-1001": "Reachable", "demo-1002": "NonQualified"}
    assert seen == [("demo-1001", "Reachable", "sip:demo-1001@127.0.0.1:5070"),
                    ("demo-1002", "NonQualified", "sip:demo-1002@127.0.0.1:5074"),
                    ("demo-1002", "Unreachable", "sip:demo-1002@127.0.0.1:5072")]


def test_a_hash_lost_with_redis_is_re_read(redis_port: int) -> None:
    """Redis restarted empty: the watchdog's check re-reads Asterisk's contacts, once."""
    async def run() -> tuple[bool, bool, bool, dict[str, str], int]:
        r = aioredis.Redis(port=redis_port, decode_responses=True)
        try:
            await r.delete(CONTACTS_KEY)
            client = AmiClient("127.0.0.1", 1, "u", "p", r)
            manager = FakeManager()
            client.manager = manager  # type: ignore[assignment]
            nothing_known = await client.restore_lost_contacts()  # knows no contact yet
            await client.resync_contacts()
            intact = await client.restore_lost_contacts()  # the hash is there
            await r.delete(CONTACTS_KEY)  # what a Redis restarted empty looks like
            lost = await client.restore_lost_contacts()
            return nothing_known, intact, lost, dict(await r.hgetall(CONTACTS_KEY)), len(manager.sent)
        finally:
            await r.aclose()

    nothing_known, intact, lost, after, sent = asyncio.run(run())
    assert (nothing_known, intact, lost) == (False, False, True)
    assert after == {"demo-1001": "Reachable", "demo-1002": "NonQualified"}
    assert sent == 2  # the first resync and the one after the loss
