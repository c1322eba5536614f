"""Recordings over ``/api/v1/recordings``: list with filters and pages, metadata, audio,
with the call records' scope (tenant; an agent only their own calls)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import CallRecord, User
from controlplane.models.recordings import CallRecording
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
AGENT2 = f"agent2@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
DAY = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)  # far from the shared records' days


@pytest.fixture
def queued(app: Flask, world: Any) -> Iterator[list[int]]:
    """Three recorded calls on 2031-05-06/07: two for agent1 (queues sales, support), one
    for agent2 (sales); one with Asterisk's recording metadata."""
    factory = app.extensions["centrala"].sessions
    rows = [
        CallRecord(call_id=f"rec-api-{i}", tenant_id=world.demo_tenant, direction="inbound",
                   status="ended", caller=f"+4870000{i:04d}", callee="1001", did="48221000009",
                   caller_channel=f"PJSIP/rec-api-{i}",
                   started_at=DAY + timedelta(hours=12 * i),
                   ended_at=DAY + timedelta(hours=12 * i, seconds=30), queue=queue,
                   agent_endpoint=endpoint, recording_path=f"rec-api-{i}.wav",
                   recording_duration_s=25.0)
        for i, (queue, endpoint) in enumerate([("sales", world.agent1_endpoint),
                                               ("support", world.agent1_endpoint),
                                               ("sales", world.agent2_endpoint)])
    ]
    with transaction(factory) as s:
        s.add_all(rows)
        s.flush()
        s.add(CallRecording(tenant_id=world.demo_tenant, call_id="rec-api-0", name="rec-api-0",
                            path="rec-api-0.wav", policy="always", queue="sales",
                            started_at=DAY, status="done", duration_s=25.0))
        ids = [r.id for r in rows]
    yield ids
    with transaction(factory) as s:
        s.execute(delete(CallRecording).where(CallRecording.call_id.like("rec-api-%")))
        s.execute(delete(CallRecord).where(CallRecord.id.in_(ids)))


def listing(client: Any, **params: Any) -> dict[str, Any]:
    resp = client.get("/api/v1/recordings", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    body: dict[str, Any] = resp.get_json()
    return body


def test_list_filters_and_pages(client: Any, login: Any, world: Any, queued: list[int],
                                app: Flask) -> None:
    login(ADMIN)
    days = {"from": "2031-05-06", "to": "2031-05-07"}
    body = listing(client, **days)
    assert [r["id"] for r in body["recordings"]] == list(reversed(queued))
    assert body["total"] == 3
    assert listing(client, **days, queue="sales")["total"] == 2
    with app.extensions["centrala"].sessions() as s:
        agent1 = s.scalar(select(User.id).where(User.tenant_id == world.demo_tenant,
                                                User.login == "agent1"))
    assert [r["id"] for r in listing(client, **days, agent=agent1)["recordings"]] == [
        queued[1], queued[0]]
    assert [r["id"] for r in listing(client, **days, number="+48700000002")["recordings"]] == [
        queued[2]]
    assert listing(client, **{"from": "2031-05-06T10:00:00Z", "to": "2031-05-06"})["total"] == 1
    paged = listing(client, **days, per_page=2, page=2)
    assert ([r["id"] for r in paged["recordings"]], paged["pages"]) == ([queued[0]], 2)
    # Only calls with a recording: the shared demo day has one (and one whose path is bad).
    everything = listing(client, per_page=200)
    ids = {r["id"] for r in everything["recordings"]}
    assert world.demo_recording in ids and world.demo_records[1] not in ids
    assert world.acme_recording not in ids
    first = next(r for r in body["recordings"] if r["id"] == queued[0])
    assert first["queue"] == "sales" and first["agent_name"] and first["duration_s"] == 25.0
    assert first["parts"][0]["policy"] == "always"
    assert first["audio_url"] == f"/api/v1/recordings/{queued[0]}/audio"
    bad = client.get("/api/v1/recordings", query_string={"from": "yesterday"})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["parameter"] == "from"


def test_metadata_and_audio_with_the_pages_checks(client: Any, login: Any, world: Any) -> None:
    login(AGENT1)
    meta = client.get(f"/api/v1/recordings/{world.demo_recording}").get_json()["recording"]
    assert meta["id"] == world.demo_recording and meta["agent_endpoint"] == world.agent1_endpoint
    with client.get(meta["audio_url"]) as resp:
        assert resp.status_code == 200 and resp.mimetype == "audio/wav"
        assert resp.data == world.demo_recording_bytes
    assert client.get(f"/api/v1/recordings/{world.demo_records[1]}").status_code == 404


@pytest.mark.parametrize("who, record", [
    (ACME_ADMIN, "demo_recording"), (ADMIN, "acme_recording"), (AGENT2, "demo_recording"),
])
def test_out_of_scope_is_404(client: Any, login: Any, world: Any, who: str, record: str) -> None:
    login(who)
    rid = getattr(world, record)
    assert client.get(f"/api/v1/recordings/{rid}").status_code == 404
    with client.get(f"/api/v1/recordings/{rid}/audio") as resp:
        assert resp.status_code == 404 and b"RIFF" not in resp.data
    assert rid not in {r["id"] for r in listing(client, per_page=200)["recordings"]}


def test_a_path_outside_the_recordings_dir_is_not_served(client: Any, login: Any,
                                                         world: Any) -> None:
    login(ADMIN)
    with client.get(f"/api/v1/recordings/{world.outside_recording}/audio") as resp:
        assert resp.status_code == 404 and b"RIFF" not in resp.data
