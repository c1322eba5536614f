"""IVR pages: upload with errors in place, drafts, publish, rollback, DIDs, graph, roles, tenants."""

from __future__ import annotations

import io
import json
import re
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.ivr import did_store
from controlplane.ivr.http.flow_source import annotate, pretty_lines
from controlplane.models import Did, Role
from controlplane.models.acd import Queue
from controlplane.seed import DEMO_DOMAIN
from ivr_flows.validator import validate

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"
DEMO_DID = "48221000003"


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return doc


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def upload(client, csrf, doc: Any, *, name: str = "", action: str = "save"):  # type: ignore[no-untyped-def]
    body = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False)
    return client.post(
        "/ivr/upload",
        data={
            "csrf_token": csrf(client),
            "name": name,
            "action": action,
            "file": (io.BytesIO(body.encode("utf-8")), "flow.json"),
        },
        content_type="multipart/form-data",
    )


def post(client, csrf, path: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf(client), **form})


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(autouse=True)
def example_queues(settings, world):  # type: ignore[no-untyped-def]
    """The queues the example flows send callers to: publishing refuses a flow naming a
    queue the tenant does not have (controlplane.admin.references)."""
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        have = set(s.scalars(select(Queue.name).where(Queue.tenant_id == world.demo_tenant)))
        made = [Queue(tenant_id=world.demo_tenant, name=n)
                for n in ("sales", "support", "billing", "vip") if n not in have]
        s.add_all(made)
        s.flush()
        ids = [q.id for q in made]
    yield
    with transaction(factory) as s:
        s.execute(delete(Queue).where(Queue.id.in_(ids)))
    engine.dispose()


def test_roles_of_ivr_views(app: Flask) -> None:
    roles = {e: getattr(v, "centrala_roles", None) for e, v in app.view_functions.items()}
    for endpoint in ("ivr.index", "ivr.flow", "ivr.version", "ivr.graph"):
        assert roles[endpoint] == {Role.ADMIN, Role.SUPERVISOR}
    for endpoint in ("ivr.upload", "ivr.publish", "ivr.rollback", "ivr.bind_did"):
        assert roles[endpoint] == {Role.ADMIN}


def test_upload_invalid_flow_shows_every_error_next_to_its_line(client, login, csrf) -> None:
    login(ADMIN)
    name = unique("broken")
    doc = example("faq")
    doc["id"] = name
    doc["nodes"]["extra"] = {"type": "hangup"}
    doc["nodes"]["done"]["wat"] = 1
    doc["nodes"]["topics"]["timeout_s"] = -5
    doc["nodes"]["billing"]["next"] = "missing"
    expected = validate(doc, known_flows={name})
    assert len(expected) >= 4
    resp = upload(client, csrf, doc)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f"{len(expected)} errors" in page
    for error in expected:
        assert str(escape(error.message)) in page
        assert str(escape(error.hint)) in page
        assert f"<code>#{error.pointer}</code>" in page
    # In place: the row right after the offending line carries its error.
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    wat = next(i for i, row in enumerate(rows) if "&#34;wat&#34;: 1" in row)
    assert "unknown property" in rows[wat + 1] and "#/nodes/done/wat" in rows[wat + 1]
    assert name not in client.get("/ivr").get_data(as_text=True)  # nothing was saved


def test_upload_that_is_not_json_points_at_the_line(client, login, csrf) -> None:
    login(ADMIN)
    resp = upload(client, csrf, '{\n  "format_version": 1,\n  "id": oops\n}')
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "not valid JSON" in page and "line 3" in page
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    assert "oops" in rows[2] and "not valid JSON" in rows[3]


def test_validate_only_then_save_from_the_check_page(client, login, csrf) -> None:
    login(ADMIN)
    name = unique("checked")
    resp = upload(client, csrf, example("faq"), name=name, action="validate")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "valid" in page and 'value="save"' in page
    assert name not in client.get("/ivr").get_data(as_text=True)
    saved = post(
        client, csrf, "/ivr/upload", name=name, action="save", document=json.dumps(example("faq"))
    )
    assert saved.status_code == 302
    assert saved.headers["Location"] == f"/ivr/flows/{name}/v/1"


def test_draft_publish_rollback_and_did_binding(client, login, csrf, store, world) -> None:
    login(ADMIN)
    name = unique("menu")
    first, second = example("main_menu"), example("main_menu")
    second["description"] = "second version"
    assert upload(client, csrf, first, name=name).headers["Location"] == f"/ivr/flows/{name}/v/1"
    assert upload(client, csrf, second, name=name).headers["Location"] == f"/ivr/flows/{name}/v/2"
    page = client.get(f"/ivr/flows/{name}/v/2").get_data(as_text=True)
    assert "draft" in page and f"/ivr/flows/{name}/v/2/publish" in page

    assert post(client, csrf, f"/ivr/flows/{name}/v/1/publish").status_code == 302
    assert post(client, csrf, "/ivr/dids", did=DEMO_DID, flow=name).status_code == 302
    with store() as s:
        found = did_store.flow_for_did(s, DEMO_DID)
    assert found is not None and found[0].version == 1
    assert client.get(f"/ivr/flows/{name}").headers["Location"] == f"/ivr/flows/{name}/v/1"

    assert post(client, csrf, f"/ivr/flows/{name}/v/2/publish").status_code == 302
    with store() as s:
        found = did_store.flow_for_did(s, DEMO_DID)
    assert found is not None and found[0].version == 2
    page = client.get(f"/ivr/flows/{name}/v/2").get_data(as_text=True)
    assert "Roll back to v1" in page

    resp = post(client, csrf, f"/ivr/flows/{name}/rollback", version="1")
    assert resp.status_code == 302
    with store() as s:
        found = did_store.flow_for_did(s, DEMO_DID)
    assert found is not None and found[0].version == 1
    listing = client.get("/ivr").get_data(as_text=True)
    assert name in listing and DEMO_DID in listing

    # A third upload is a draft; rolling back to it is refused.
    third = example("main_menu")
    third["description"] = "third"
    upload(client, csrf, third, name=name)
    resp = post(client, csrf, f"/ivr/flows/{name}/rollback", version="3")
    assert resp.status_code == 409 and "never published" in resp.get_data(as_text=True)

    assert post(client, csrf, "/ivr/dids", did=DEMO_DID, flow="").status_code == 302
    with store() as s:
        assert did_store.flow_for_did(s, DEMO_DID) is None
        did = s.scalar(select(Did).where(Did.number == DEMO_DID))
        assert did is not None and did.tenant_id == world.demo_tenant


def test_graph_svg_has_every_node_and_labelled_edges(client, login, csrf) -> None:
    login(ADMIN)
    name = unique("graph")
    doc = example("main_menu")
    upload(client, csrf, doc, name=name)
    resp = client.get(f"/ivr/flows/{name}/v/1/graph.svg")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
    svg = ET.fromstring(resp.get_data(as_text=True))
    ns = "{http://www.w3.org/2000/svg}"
    nodes = {g.get("data-node") for g in svg.iter(f"{ns}g") if g.get("data-node")}
    assert nodes == set(doc["nodes"])
    texts = [t.text for t in svg.iter(f"{ns}text")]
    for node_id in doc["nodes"]:
        assert node_id in texts
    labels = {t.text for t in svg.iter(f"{ns}text") if t.get("class") == "edge-label"}
    assert {"1", "2", "3", "0", "fallback", "if #1", "else"} <= labels
    page = client.get(f"/ivr/flows/{name}/v/1").get_data(as_text=True)
    assert "<svg" in page and all(f'data-node="{n}"' in page for n in doc["nodes"])


def test_agent_cannot_see_or_change_ivr(client, login, csrf) -> None:
    login(AGENT1)
    assert client.get("/ivr").status_code == 403
    assert upload(client, csrf, example("faq")).status_code == 403
    assert post(client, csrf, "/ivr/dids", did=DEMO_DID, flow="").status_code == 403
    assert "/ivr" not in client.get("/calls/records").get_data(as_text=True)  # not in the menu


def test_supervisor_reads_but_cannot_change(client, login, csrf, login_form, app) -> None:
    login(ADMIN)
    name = unique("sup")
    upload(client, csrf, example("faq"), name=name)
    with app.test_client() as other:
        assert login_form(other, SUPERVISOR).status_code == 302
        listing = other.get("/ivr").get_data(as_text=True)
        assert name in listing and "Upload a flow" not in listing and "Bind" not in listing
        page = other.get(f"/ivr/flows/{name}/v/1")
        assert page.status_code == 200 and "/publish" not in page.get_data(as_text=True)
        assert post(other, csrf, f"/ivr/flows/{name}/v/1/publish").status_code == 403


def test_other_tenant_gets_404(client, login, csrf, login_form, app, store) -> None:
    login(ADMIN)
    name = unique("private")
    upload(client, csrf, example("faq"), name=name)
    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        assert name not in acme.get("/ivr").get_data(as_text=True)
        for path in (
            f"/ivr/flows/{name}",
            f"/ivr/flows/{name}/v/1",
            f"/ivr/flows/{name}/v/1/graph.svg",
        ):
            assert acme.get(path).status_code == 404, path
        assert post(acme, csrf, f"/ivr/flows/{name}/v/1/publish").status_code == 404
        assert post(acme, csrf, f"/ivr/flows/{name}/rollback", version="1").status_code == 404
        # The demo tenant's DID cannot be bound by Acme, not even to Acme's own flow.
        assert upload(acme, csrf, example("faq"), name="acme_faq").status_code == 302
        resp = post(acme, csrf, "/ivr/dids", did=DEMO_DID, flow="acme_faq")
        assert resp.status_code == 404
    with store() as s:
        did = s.scalar(select(Did).where(Did.number == DEMO_DID))
        assert did is not None and did.flow_id is None


def test_posts_need_the_csrf_token(client, login) -> None:
    login(ADMIN)
    resp = client.post("/ivr/dids", data={"did": DEMO_DID, "flow": ""})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)


@pytest.mark.parametrize("name", ["main_menu", "faq", "account_lookup", "language_switch"])
def test_pretty_lines_match_json_dumps_and_map_pointers(name: str) -> None:
    doc = example(name)
    lines, where = pretty_lines(doc)
    assert lines == json.dumps(doc, indent=2, ensure_ascii=False).splitlines()
    for node_id in doc["nodes"]:
        assert lines[where[f"/nodes/{node_id}"]].strip().startswith(f'"{node_id}": ')
    # A pointer to something missing lands on the nearest existing parent.
    annotated = annotate(doc, validate({**doc, "start": 5}))
    assert annotated.error_count >= 1
