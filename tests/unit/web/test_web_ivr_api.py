"""IVR flows over ``/api/v1/ivr-flows``: list, read, versions, upload (400 with each
pointer), publish (409 for a missing queue or sub-flow, with its pointer), rollback,
roles, tenants, and an audit row for every change."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Role
from controlplane.models.acd import Queue
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN
from ivr_flows.validator import validate

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


def flow(name: str, queue: str, sub: str | None = None) -> dict[str, Any]:
    nodes: dict[str, Any] = {
        "hello": {"type": "play", "prompt": {"sound": "hello-world"},
                  "next": "sub" if sub else "q"},
        "q": {"type": "queue", "queue": queue},
    }
    if sub:
        nodes["sub"] = {"type": "subflow", "flow": sub, "next": "q"}
    return {"format_version": 1, "id": name, "name": name, "start": "hello", "nodes": nodes}


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    with transaction(factory) as s:
        s.execute(delete(Queue).where(Queue.name.like("apiq-%")))
    engine.dispose()


def call(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def test_roles_of_ivr_api_views(app) -> None:  # type: ignore[no-untyped-def]
    roles = {e: getattr(v, "centrala_roles", None) for e, v in app.view_functions.items()}
    for endpoint in ("ivr_api.api_list", "ivr_api.api_get", "ivr_api.api_version"):
        assert roles[endpoint] == {Role.ADMIN, Role.SUPERVISOR}
    for endpoint in ("ivr_api.api_create", "ivr_api.api_publish", "ivr_api.api_rollback"):
        assert roles[endpoint] == {Role.ADMIN}


def test_upload_publish_rollback_read_and_audit(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name, queue = f"api_{uuid.uuid4().hex[:8]}", f"apiq-{uuid.uuid4().hex[:6]}"
    sub = f"apisub_{uuid.uuid4().hex[:8]}"
    assert call(client, csrf, "POST", f"/api/v1/ivr-flows?name={sub}",
                flow(sub, queue)).status_code == 201  # a draft only: not publishable as sub
    made = call(client, csrf, "POST", "/api/v1/ivr-flows", flow(name, queue, sub))
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["version"]["version"] == 1
    assert made.get_json()["version"]["author"] == "admin"
    # The same document again is that version, not a copy.
    again = call(client, csrf, "POST", "/api/v1/ivr-flows", flow(name, queue, sub))
    assert again.status_code == 200 and again.get_json()["version"]["version"] == 1

    # Publishing: every missing reference (queue, unpublished sub-flow) with its pointer.
    refused = call(client, csrf, "POST", f"/api/v1/ivr-flows/{name}/versions/1/publish")
    assert refused.status_code == 409, refused.get_json()
    error = refused.get_json()["error"]
    assert error["id"] == "unresolved_references"
    pointers = {e["pointer"] for e in error["details"]["errors"]}
    assert pointers == {"/nodes/q/queue", "/nodes/sub/flow"}
    assert any(f"queue {queue!r} does not exist" in e["message"]
               for e in error["details"]["errors"])

    with transaction(store) as s:
        s.add(Queue(tenant_id=world.demo_tenant, name=queue))
    assert call(client, csrf, "POST", "/api/v1/ivr-flows", flow(name, queue)).status_code == 201
    assert call(client, csrf, "POST", f"/api/v1/ivr-flows/{name}/versions/2/publish"
                ).status_code == 200
    assert call(client, csrf, "POST", "/api/v1/ivr-flows",
                {**flow(name, queue), "description": "v3"}).status_code == 201
    published = call(client, csrf, "POST", f"/api/v1/ivr-flows/{name}/versions/3/publish")
    assert published.get_json()["version"]["current"] is True

    listed = {f["name"]: f for f in client.get("/api/v1/ivr-flows").get_json()["flows"]}
    assert listed[name]["published_version"] == 3
    assert listed[name]["draft_versions"] == [1]
    assert listed[sub]["published_version"] is None

    # Rollback to 2; to the never-published 1 is a conflict.
    assert call(client, csrf, "POST", f"/api/v1/ivr-flows/{name}/rollback",
                {"version": 2}).status_code == 200
    never = call(client, csrf, "POST", f"/api/v1/ivr-flows/{name}/rollback", {"version": 1})
    assert never.status_code == 409
    one = client.get(f"/api/v1/ivr-flows/{name}").get_json()["flow"]
    assert one["published_version"] == 2
    assert [(v["version"], v["status"], v["current"]) for v in one["versions"]] == [
        (1, "draft", False), (2, "published", True), (3, "published", False)]
    assert all(v["author"] == "admin" and v["created_at"] for v in one["versions"])
    source = client.get(f"/api/v1/ivr-flows/{name}/versions/2").get_json()["version"]
    assert source["document"] == flow(name, queue)
    assert client.get(f"/api/v1/ivr-flows/{name}/versions/9").status_code == 404

    with store() as s:
        kinds = [(e.kind, e.detail["version"]) for e in s.scalars(
            select(SecurityEvent).where(SecurityEvent.tenant_id == world.demo_tenant)
            .order_by(SecurityEvent.id)) if e.kind.startswith("ivr.flow.")
            and e.detail.get("flow") == name]
    assert kinds == [("ivr.flow.saved", 1), ("ivr.flow.saved", 1), ("ivr.flow.saved", 2),
                     ("ivr.flow.published", 2), ("ivr.flow.saved", 3),
                     ("ivr.flow.published", 3), ("ivr.flow.rolled_back", 2)]


def test_malformed_flow_is_400_with_the_validator_pointers(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name = f"bad_{uuid.uuid4().hex[:8]}"
    doc = flow(name, "sales")
    doc["nodes"]["q"]["wat"] = 1
    doc["nodes"]["hello"]["next"] = "missing"
    expected = validate(doc, known_flows={name})
    resp = call(client, csrf, "POST", "/api/v1/ivr-flows", doc)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["id"] == "invalid_flow"
    got = [(e["pointer"], e["message"]) for e in error["details"]["errors"]]
    assert got == [(e.pointer, e.message) for e in expected]
    assert name not in {f["name"] for f in client.get("/api/v1/ivr-flows").get_json()["flows"]}
    # No id and no name; not an object at all.
    assert call(client, csrf, "POST", "/api/v1/ivr-flows", {"nodes": {}}).status_code == 400
    assert call(client, csrf, "POST", "/api/v1/ivr-flows", [1, 2]).status_code == 400


def test_roles_and_tenants(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name = f"mine_{uuid.uuid4().hex[:8]}"
    assert call(client, csrf, "POST", "/api/v1/ivr-flows", flow(name, "sales")).status_code == 201
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(SUPERVISOR)
    assert client.get(f"/api/v1/ivr-flows/{name}").status_code == 200
    assert call(client, csrf, "POST", f"/api/v1/ivr-flows/{name}/versions/1/publish"
                ).status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(AGENT1)
    assert client.get("/api/v1/ivr-flows").status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME_ADMIN)
    assert client.get(f"/api/v1/ivr-flows/{name}").status_code == 404
    assert name not in {f["name"] for f in client.get("/api/v1/ivr-flows").get_json()["flows"]}
    assert call(client, csrf, "POST", f"/api/v1/ivr-flows/{name}/rollback",
                {"version": 1}).status_code == 404
