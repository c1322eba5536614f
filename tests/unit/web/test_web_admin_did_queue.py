"""A DID routed straight to a queue (issue 12 item 10): exactly one of phone, queue and
flow; the queue must be the tenant's; a queue a DID routes to cannot be deleted (409
naming the DID); the form offers the queue, in English and Polish."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Did, Tenant
from controlplane.models.acd import Queue
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    with transaction(factory) as s:  # what the tests made: DIDs 4898…, queues t-did-…
        s.execute(delete(Did).where(Did.number.like("4898%")))
        s.execute(delete(Queue).where(Queue.name.like("t-did-%")))
    engine.dispose()


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def fields(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    err = resp.get_json()["error"]
    assert err["id"] == "invalid_form", err
    return {e["field"]: e["message"] for e in err["details"]["errors"]}


def other_tenants_queue(store) -> int:  # type: ignore[no-untyped-def]
    with transaction(store) as s:
        tenant = s.scalar(select(Tenant.id).where(Tenant.domain != DEMO_DOMAIN).order_by(Tenant.id))
        assert tenant is not None
        queue = Queue(tenant_id=tenant, name="t-did-foreign")
        s.add(queue)
        s.flush()
        return queue.id


def test_a_did_routes_to_a_queue_that_cannot_then_be_deleted(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    made_q = api(client, csrf, "POST", "/api/v1/queues", {"name": "t-did-sales"})
    assert made_q.status_code == 201, made_q.get_json()
    qid = made_q.get_json()["queue"]["id"]
    foreign = other_tenants_queue(store)
    wrong = api(client, csrf, "POST", "/api/v1/dids", {"number": "48980000001", "queue_id": foreign})
    assert wrong.status_code == 422 and str(foreign) in fields(wrong)["queue_id"]
    both = api(client, csrf, "POST", "/api/v1/dids", {"number": "48980000001", "queue_id": qid,
                                                      "flow_id": 1})
    assert both.status_code == 422 and "exactly one" in " ".join(fields(both).values())
    made = api(client, csrf, "POST", "/api/v1/dids", {"number": "48980000001", "queue_id": qid})
    assert made.status_code == 201, made.get_json()
    did = made.get_json()["did"]
    assert (did["target"], did["queue_id"], did["queue"]) == ("queue", qid, "t-did-sales")
    assert "Queue t-did-sales" in client.get("/admin/dids?q=4898").get_data(as_text=True)
    used = api(client, csrf, "DELETE", f"/api/v1/queues/{qid}")
    assert used.status_code == 409, used.get_json()
    assert used.get_json()["error"]["details"]["used_by"] == ["DID 48980000001"]
    # switching the DID away from the queue frees it
    moved = api(client, csrf, "PUT", f"/api/v1/dids/{did['id']}", {"queue_id": None, "flow_id": None})
    assert moved.status_code == 422  # no target left: refused, still on the queue
    assert api(client, csrf, "DELETE", f"/api/v1/dids/{did['id']}").status_code == 200
    assert api(client, csrf, "DELETE", f"/api/v1/queues/{qid}").status_code == 200


def test_the_form_routes_to_a_queue(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    qid = api(client, csrf, "POST", "/api/v1/queues", {"name": "t-did-form"}).get_json()["queue"]["id"]
    page = client.get("/admin/dids/new").get_data(as_text=True)
    assert 'value="queue"' in page and f'<option value="{qid}"' in page
    saved = client.post("/admin/dids/new", data={
        "csrf_token": csrf(client), "number": "48980000002", "target": "queue",
        "queue_id": str(qid), "phone_id": "", "flow_id": "", "trunk_id": "",
        "prompt": "sound:hello-world"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with store() as s:
        row = s.scalar(select(Did).where(Did.number == "48980000002"))
        assert row is not None and (row.queue_id, row.phone_endpoint_id, row.flow_id) == (qid, None, None)
    edit = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'value="queue" checked' in edit
    # the queue radio with no queue picked: the field is named
    bad = client.post("/admin/dids/new", data={
        "csrf_token": csrf(client), "number": "48980000003", "target": "queue", "queue_id": "",
        "prompt": "sound:hello-world"})
    assert bad.status_code == 422


def test_the_queue_choice_speaks_polish(client, login, store, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    page = client.get("/admin/dids/new").get_data(as_text=True)
    assert "Kieruj do kolejki" in page and "Route to a queue" not in page
