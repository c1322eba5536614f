"""The agent desktop on a live call: a lab caller dials a queue DID, the agent's lab desk
phone answers; while they talk, the agent's interaction card (``/api/v1/agents/me/
interaction``) names the caller and the queue; then the agent wraps the call up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import until
from labtools import (
    agents_on_phones,
    ended_record,
    latest_status,
    log_agents,
    panel_login,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane import stack
from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Tenant, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.desktop import CallDisposition, CallWrapup
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DIDS, DEMO_DOMAIN
from dialplan import labcall
from web import create_app

pytestmark = pytest.mark.integration
DID = "48221000003"
PHONES = {"dk1": "demo-1003"}
PASSWORD = "agent desktop live test"


@pytest.fixture
def desk_queue(platform) -> Iterator[dict[str, int]]:  # type: ignore[no-untyped-def]
    """Agent dk1 (a panel password) on desk phone demo-1003, queue ``deskq`` → DID, and a
    disposition ``sold``; all put back afterwards."""
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant_id, PHONES)
        s.get(User, users["dk1"]).password_hash = hash_password(PASSWORD)
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == "deskq"))
        queue = Queue(tenant_id=tenant_id, name="deskq", strategy="linear", ring_timeout_s=10,
                      announce_every_s=None)
        s.add(queue)
        s.flush()
        s.add(QueueMember(queue_id=queue.id, user_id=users["dk1"], penalty=0))
        did = s.scalar(select(Did).where(Did.number == DID))
        did.phone_endpoint_id, did.flow_id, did.queue_id = None, None, queue.id
        s.execute(delete(CallDisposition).where(CallDisposition.tenant_id == tenant_id,
                                                CallDisposition.code == "sold"))
        s.add(CallDisposition(tenant_id=tenant_id, code="sold", label="Sold"))
    reload_acd(platform, tenant_id)
    yield users
    log_agents(platform, PHONES.values(), users, "*53", "logged_out")
    with transaction(factory) as s:
        did = s.scalar(select(Did).where(Did.number == DID))
        did.queue_id = None
        did.phone_endpoint_id = s.scalar(select(PhoneEndpoint.id).where(
            PhoneEndpoint.extension == DEMO_DIDS[DID], PhoneEndpoint.tenant_id == tenant_id))
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == "deskq"))
        s.execute(delete(CallDisposition).where(CallDisposition.tenant_id == tenant_id,
                                                CallDisposition.code == "sold"))
    factory.kw["bind"].dispose()


def test_the_card_shows_the_caller_and_queue_and_the_call_is_wrapped_up(platform, desk_queue) -> None:  # type: ignore[no-untyped-def]
    labcall.phone_dials(platform.settings, PHONES["dk1"], "*50", hangup_after=3)
    until(lambda: latest_status(platform, desk_queue["dk1"]) not in (None, "logged_out"),
          timeout=30, what="dk1 logged in")
    log_agents(platform, PHONES.values(), desk_queue, "*51", "ready")
    app = create_app(config={"TESTING": True}, settings=platform.settings)
    with app.test_client() as client:
        assert panel_login(client, f"dk1@{DEMO_DOMAIN}", PASSWORD).status_code == 302
        caller = unique_caller()
        lab_id = labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                                  hangup_after=30))

        def talking() -> dict | None:
            call = client.get("/api/v1/agents/me/interaction").get_json()["call"]
            return call if call and call["status"] == "talking" else None

        try:
            call = until(talking, timeout=30, what="the card to show the answered call")
            assert call["number"] == caller
            assert call["number_national"] == f"{caller[2:5]} {caller[5:8]} {caller[8:]}"
            assert call["queue"] == "deskq"
            assert call["did"] == DID and call["wait_s"] is not None and call["wait_s"] >= 0
            resp = client.post(f"/api/v1/calls/{call['call_id']}/wrap-up",
                               json={"disposition": "sold", "note": "live test"},
                               headers={"X-CSRF-Token": _csrf(client)})
            assert resp.status_code == 200, resp.get_data(as_text=True)
        finally:
            labcall.hangup(stack.lab_instance(platform.settings), lab_id)
        row = ended_record(platform, caller)
        assert row.queue == "deskq" and row.agent_endpoint == "demo-1003"
        until(lambda: client.get("/api/v1/agents/me/interaction").get_json()["call"] is None,
              timeout=15, what="the card to clear after the hang-up")
    with session_factory(platform)() as s:
        wrap = s.scalar(select(CallWrapup).where(CallWrapup.call_id == row.call_id))
        assert wrap is not None and wrap.disposition_code == "sold" and wrap.note == "live test"
    app.extensions["centrala"].close()


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    with client.session_transaction() as sess:
        return str(sess["csrf"])
