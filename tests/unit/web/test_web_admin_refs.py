"""Cross-object validation (issue 12 item 10): a flow naming a queue or sub-flow the tenant
does not have is not published (every missing reference with its JSON pointer); a queue a
published flow uses is not deleted (409 naming the flow)."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models.acd import Queue
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"


def flow(queue: str, sub: str | None = None) -> dict[str, Any]:
    nodes: dict[str, Any] = {
        "hello": {"type": "play", "prompt": {"sound": "hello-world"},
                  "next": "sub" if sub else "q"},
        "q": {"type": "queue", "queue": queue},
    }
    if sub:
        nodes["sub"] = {"type": "subflow", "flow": sub, "next": "q"}
    return {"format_version": 1, "id": "refs", "name": "refs", "start": "hello", "nodes": nodes}


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    with transaction(factory) as s:
        s.execute(delete(Queue).where(Queue.name.like("refq-%")))
    engine.dispose()


def upload(client, csrf, doc: Any, name: str):  # type: ignore[no-untyped-def]
    return client.post("/ivr/upload", data={
        "csrf_token": csrf(client), "name": name, "action": "save",
        "file": (io.BytesIO(json.dumps(doc).encode()), "flow.json")},
        content_type="multipart/form-data")


def publish(client, csrf, name: str, number: int = 1):  # type: ignore[no-untyped-def]
    return client.post(f"/ivr/flows/{name}/v/{number}/publish", data={"csrf_token": csrf(client)})


def test_publishing_a_flow_naming_a_missing_queue_is_refused_with_its_pointer(
        client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    name, queue = f"refs_{uuid.uuid4().hex[:8]}", f"refq-{uuid.uuid4().hex[:6]}"
    sub = f"sub_{uuid.uuid4().hex[:8]}"  # a sub-flow that exists, as a draft only
    faq = json.loads((EXAMPLES / "faq.json").read_text(encoding="utf-8"))
    assert upload(client, csrf, faq, sub).status_code == 302
    # A draft may name a queue that does not exist yet...
    made = upload(client, csrf, flow(queue, sub=sub), name)
    assert made.status_code == 302, made.get_data(as_text=True)[-2000:]
    # ...publishing it may not: every missing reference, with its JSON pointer.
    resp = publish(client, csrf, name)
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "/nodes/q/queue" in page and "/nodes/sub/flow" in page, page
    assert f"queue {queue!r} does not exist".replace("'", "&#39;") in page
    assert client.get(f"/ivr/flows/{name}/v/1").status_code == 200
    # The queue created, a version without the sub-flow publishes.
    with transaction(store) as s:
        s.add(Queue(tenant_id=world.demo_tenant, name=queue))
    assert upload(client, csrf, flow(queue), name).status_code == 302
    assert publish(client, csrf, name, 2).status_code == 302
    # Now the queue is used by a published flow: it cannot be deleted (409, which flow).
    with store() as s:
        qid = s.scalar(select(Queue.id).where(Queue.name == queue))
    resp = client.delete(f"/api/v1/queues/{qid}", headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["id"] == "in_use" and err["details"]["used_by"] == [f"IVR flow {name}"]
    page = client.post(f"/queues/{qid}/delete", data={"csrf_token": csrf(client)})
    assert page.status_code == 409
    with store() as s:
        assert s.get(Queue, qid) is not None
