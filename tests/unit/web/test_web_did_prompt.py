"""The DID greeting (``prompt``) plays only before a phone rings: the form shows it only
for a phone target (static JS; without JS all fields show and the server ignores it for a
queue or flow), and the API refuses it for a queue or flow target, naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Did, PhoneEndpoint
from controlplane.models.acd import Queue
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    with transaction(factory) as s:
        s.execute(delete(Did).where(Did.number.like("48970%")))
        s.execute(delete(Queue).where(Queue.name.like("t-prompt-%")))
    engine.dispose()


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def _queue_and_phone(store, world) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with transaction(store) as s:
        queue = Queue(tenant_id=world.demo_tenant, name="t-prompt-q")
        s.add(queue)
        s.flush()
        phone = s.scalar(select(PhoneEndpoint.id).where(
            PhoneEndpoint.tenant_id == world.demo_tenant).order_by(PhoneEndpoint.id))
        assert phone is not None
        return queue.id, phone


def test_the_api_refuses_a_greeting_for_a_queue_target(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    qid, phone = _queue_and_phone(store, world)
    login(ADMIN)
    refused = api(client, csrf, "POST", "/api/v1/dids",
                  {"number": "48970000001", "queue_id": qid, "prompt": "sound:beep"})
    assert refused.status_code == 400, refused.get_json()
    error = refused.get_json()["error"]
    assert error["details"]["field"] == "prompt"
    assert "only before a phone rings" in error["message"]
    made = api(client, csrf, "POST", "/api/v1/dids", {"number": "48970000001", "queue_id": qid})
    assert made.status_code == 201, made.get_json()
    did_id = made.get_json()["did"]["id"]
    assert api(client, csrf, "PUT", f"/api/v1/dids/{did_id}",
               {"prompt": "sound:beep"}).status_code == 400
    # Switching to a phone with a greeting is fine; so is a greeting on a phone DID.
    switched = api(client, csrf, "PUT", f"/api/v1/dids/{did_id}",
                   {"queue_id": None, "phone_id": phone, "prompt": "sound:beep"})
    assert switched.status_code == 200, switched.get_json()
    assert api(client, csrf, "PUT", f"/api/v1/dids/{did_id}",
               {"prompt": "sound:hello-world"}).status_code == 200


def test_the_form_shows_the_greeting_for_a_phone_only(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    qid, _phone = _queue_and_phone(store, world)
    login(ADMIN)
    page = client.get("/admin/dids/new").get_data(as_text=True)
    assert 'id="did-prompt"' in page and "did_form.js" in page and 'id="did-form"' in page
    with client.get("/static/did_form.js") as script:
        assert script.status_code == 200 and b'name === "target"' in script.data
    # Without JS the field is posted for a queue target too: ignored, not stored.
    saved = client.post("/admin/dids/new", data={
        "csrf_token": csrf(client), "number": "48970000002", "target": "queue",
        "queue_id": str(qid), "phone_id": "", "flow_id": "", "trunk_id": "",
        "prompt": "sound:beep"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with store() as s:
        row = s.scalar(select(Did).where(Did.number == "48970000002"))
        assert row is not None and row.queue_id == qid and row.prompt != "sound:beep"
