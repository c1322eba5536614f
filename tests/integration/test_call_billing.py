"""What the carrier bills, on live calls: the platform's answer, apart from the agent's.

A carrier call into an IVR DID whose flow only plays a prompt and hangs up is answered by
the platform: the record says when, and bills the time it was up, although no agent ever
answered (``answered_at`` empty, ``billsec_s`` 0: the agent's). The lab's caller records
from its answer to the hang-up, which gives the carrier's side of the same duration.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers import duration_s, until
from labtools import ended_record, unique_caller
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import Tenant
from controlplane.seed import DEMO_DOMAIN
from dialplan import labcall

pytestmark = pytest.mark.integration
DID = "48221000003"

PROMPT_ONLY: dict[str, Any] = {
    "format_version": 1, "id": "prompt_only", "name": "Closed", "start": "say",
    "settings": {"language": "en-US", "voice": "en", "max_duration_s": 60},
    "nodes": {
        "say": {"type": "play", "prompt": {"sound": "hello-world"}, "next": "again"},
        "again": {"type": "play", "prompt": {"sound": "hello-world"}, "next": "bye"},
        "bye": {"type": "hangup"},
    },
}


@pytest.fixture
def prompt_only(platform) -> Iterator[None]:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        version = flow_store.save_draft(s, tenant.id, PROMPT_ONLY["id"], PROMPT_ONLY)
        flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
        did_store.bind_did(s, tenant.id, DID, PROMPT_ONLY["id"])
        tenant_id = tenant.id
    yield
    with transaction(factory) as s:
        did_store.bind_did(s, tenant_id, DID, None)
    engine.dispose()


def test_an_ivr_that_only_plays_a_prompt_bills_the_time_it_was_up(platform, prompt_only) -> None:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    lab_id = labcall.call(platform.settings, labcall.CallSpec(
        did=DID, caller_id=caller, hangup_after=40))  # the platform hangs up long before
    row = ended_record(platform, caller, timeout=60)

    assert row.answered_at is None and row.agent_endpoint is None and row.billsec_s == 0.0
    assert row.platform_answered_at is not None and row.ended_at is not None
    assert row.started_at <= row.platform_answered_at < row.ended_at
    up = (row.ended_at - row.platform_answered_at).total_seconds()
    assert row.carrier_billsec_s == pytest.approx(up, abs=0.01)
    assert 1.0 < row.carrier_billsec_s < 30  # two prompts, then the flow's hang-up
    # the carrier's side: the lab caller recorded from its answer to the hang-up
    mixed, _ = labcall.recordings(platform.settings, lab_id)
    until(lambda: mixed.exists() and duration_s(mixed) > 0.5, timeout=15,
          what="the lab caller's recording")
    assert row.carrier_billsec_s == pytest.approx(duration_s(mixed), abs=1.5)
