"""Inbound routing is never stale: a change to a DID's flow reaches the very next call.

The daemon keeps parsed flows and calendars per process (``calls.routing_cache``); these
calls check that what decides a route is read again for every call: publishing a new
version, rebinding the DID to another flow, rolling back and unbinding, each written by
another process (as the panel and the ``ivr`` CLI do) just before the next call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from labtools import ended_record, unique_caller
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import Tenant
from controlplane.seed import DEMO_DOMAIN
from dialplan import labcall

pytestmark = pytest.mark.integration
DID = "48221000003"


def transfer_flow(flow_id: str, target: str) -> dict[str, Any]:
    """A flow that hands every caller to agent ``target`` at once."""
    return {
        "format_version": 1, "id": flow_id, "name": flow_id.title(), "start": "go",
        "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
        "nodes": {"go": {"type": "transfer", "to": "agent", "target": target}},
    }


@pytest.fixture
def store(platform) -> Iterator[Callable[[Callable[[Session, int], Any]], None]]:  # type: ignore[no-untyped-def]
    """Run a change in a transaction of this (test) process; unbinds the DID at the end."""
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)

    def change(fn: Callable[[Session, int], Any]) -> None:
        with transaction(factory) as s:
            tenant = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
            fn(s, tenant)

    yield change
    change(lambda s, t: did_store.bind_did(s, t, DID, None))
    engine.dispose()


def publish(flow_id: str, target: str) -> Callable[[Session, int], None]:
    def do(s: Session, tenant: int) -> None:
        version = flow_store.save_draft(s, tenant, flow_id, transfer_flow(flow_id, target))
        flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant)
    return do


def agent_of_next_call(platform) -> str | None:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller, dtmf="",
                                                     hangup_after=6))
    return ended_record(platform, caller).agent_endpoint  # type: ignore[no-any-return]


def test_the_next_call_follows_publish_rebind_rollback_and_unbind(platform, store) -> None:  # type: ignore[no-untyped-def]
    store(publish("route-a", "1001"))
    store(lambda s, t: did_store.bind_did(s, t, DID, "route-a"))
    assert agent_of_next_call(platform) == "demo-1001"
    store(publish("route-a", "1002"))  # a new version of the bound flow
    assert agent_of_next_call(platform) == "demo-1002"
    store(publish("route-b", "1003"))
    store(lambda s, t: did_store.bind_did(s, t, DID, "route-b"))  # the DID to another flow
    assert agent_of_next_call(platform) == "demo-1003"
    store(lambda s, t: did_store.bind_did(s, t, DID, "route-a"))
    store(lambda s, t: flow_store.rollback(s, flow_store.get_flow(s, t, "route-a").id, 1,
                                          tenant_id=t))
    assert agent_of_next_call(platform) == "demo-1001"
