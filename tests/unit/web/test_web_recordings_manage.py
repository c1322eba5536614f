"""Recordings: tags (API and page), deletion with audit (file and metadata go, the call
record stays), the tenant's retention setting; supervisors and administrators only."""

from __future__ import annotations

import uuid
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import CallRecord
from controlplane.models.recording_tags import RecordingPolicy, RecordingTag
from controlplane.models.recordings import CallRecording
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
DAY = datetime(2033, 4, 2, 9, 0, tzinfo=UTC)


def api(client: Any, csrf: Any, method: str, path: str, body: Any = None) -> Any:
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def wav(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))


@pytest.fixture
def recorded(app: Flask, world: Any) -> Iterator[tuple[int, Path]]:
    """A recorded call of agent1 with its file and Asterisk's metadata row."""
    svc = app.extensions["centrala"]
    key = uuid.uuid4().hex[:8]
    path = svc.settings.recordings_dir / f"rmanage-{key}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    wav(path)
    with transaction(svc.sessions) as s:
        row = CallRecord(call_id=f"rmanage-{key}", tenant_id=world.demo_tenant,
                         direction="inbound", status="ended", caller="+48600999888",
                         callee="1001", caller_channel="PJSIP/x", started_at=DAY,
                         ended_at=DAY + timedelta(seconds=9), agent_endpoint=world.agent1_endpoint,
                         recording_path=path.name, recording_duration_s=0.1)
        s.add(row)
        s.flush()
        s.add(CallRecording(tenant_id=world.demo_tenant, call_id=row.call_id, name=key,
                            path=str(path), policy="always", status="done"))
        record_id = row.id
    yield record_id, path
    with transaction(svc.sessions) as s:
        s.execute(delete(CallRecord).where(CallRecord.id == record_id))
        s.execute(delete(RecordingTag).where(RecordingTag.name.like("t-%")))
    path.unlink(missing_ok=True)


def test_tags_added_found_and_removed(client: Any, login: Any, csrf: Any,
                                      recorded: tuple[int, Path]) -> None:
    record_id, _path = recorded
    login(SUPERVISOR)
    url = f"/api/v1/recordings/{record_id}/tags"
    assert api(client, csrf, "POST", url, {"tag": "t-complaint"}).get_json() == {
        "tags": ["t-complaint"]}
    assert api(client, csrf, "POST", url, {"tag": "  t-training "}).get_json()["tags"] == [
        "t-complaint", "t-training"]
    api(client, csrf, "POST", url, {"tag": "t-training"})  # twice is once
    listed = client.get("/api/v1/recordings", query_string={"tag": "t-training"}).get_json()
    assert [r["id"] for r in listed["recordings"]] == [record_id]
    assert listed["recordings"][0]["tags"] == ["t-complaint", "t-training"]
    gone = api(client, csrf, "DELETE", f"{url}/t-training")
    assert gone.get_json() == {"tags": ["t-complaint"]}
    bad = api(client, csrf, "POST", url, {"tag": "x" * 41})
    assert bad.status_code == 400
    # the page's forms
    page = client.post(f"/recordings/{record_id}/tags?back=tag%3Dt-complaint",
                       data={"tag": "t-page", "csrf_token": csrf(client)})
    assert page.status_code == 302 and page.headers["Location"].endswith(
        "/recordings?tag=t-complaint")
    listed = client.get("/recordings", query_string={"tag": "t-page"})
    assert f'id="rec-{record_id}"' in listed.text


def test_agents_may_not_tag_or_delete(client: Any, login: Any, csrf: Any,
                                      recorded: tuple[int, Path]) -> None:
    record_id, path = recorded
    login(AGENT1)  # their own call, still not theirs to change
    assert api(client, csrf, "POST", f"/api/v1/recordings/{record_id}/tags",
               {"tag": "t-x"}).status_code == 403
    assert api(client, csrf, "DELETE", f"/api/v1/recordings/{record_id}").status_code == 403
    assert path.exists()


def test_other_tenant_cannot_touch(client: Any, login: Any, csrf: Any,
                                   recorded: tuple[int, Path]) -> None:
    record_id, path = recorded
    login("boss@acme.example")
    assert api(client, csrf, "DELETE", f"/api/v1/recordings/{record_id}").status_code == 404
    assert api(client, csrf, "POST", f"/api/v1/recordings/{record_id}/tags",
               {"tag": "t-x"}).status_code == 404
    assert path.exists()


def test_delete_removes_file_and_metadata_keeps_record_and_audits(
        client: Any, login: Any, csrf: Any, app: Flask, world: Any,
        recorded: tuple[int, Path]) -> None:
    record_id, path = recorded
    login(ADMIN)
    api(client, csrf, "POST", f"/api/v1/recordings/{record_id}/tags", {"tag": "t-del"})
    resp = api(client, csrf, "DELETE", f"/api/v1/recordings/{record_id}")
    assert resp.status_code == 200, resp.get_json()
    assert not path.exists()
    with app.extensions["centrala"].sessions() as s:
        row = s.get(CallRecord, record_id)
        assert row is not None and row.recording_path is None
        assert s.scalar(select(CallRecording).where(CallRecording.call_id == row.call_id)) is None
        event = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "recording.deleted")
                          .order_by(SecurityEvent.id.desc())).first()
        assert event is not None and event.tenant_id == world.demo_tenant
        assert event.actor == ADMIN and event.detail["call_record_id"] == record_id
        assert event.detail["reason"] == "user"
    assert client.get(f"/api/v1/recordings/{record_id}").status_code == 404
    assert api(client, csrf, "DELETE", f"/api/v1/recordings/{record_id}").status_code == 404


def test_retention_setting(client: Any, login: Any, csrf: Any, app: Flask, world: Any) -> None:
    login(ADMIN)
    try:
        assert client.get("/api/v1/recordings/retention").get_json() == {"retention_days": None}
        assert api(client, csrf, "PUT", "/api/v1/recordings/retention",
                   {"retention_days": 30}).status_code == 200
        assert client.get("/api/v1/recordings/retention").get_json() == {"retention_days": 30}
        assert api(client, csrf, "PUT", "/api/v1/recordings/retention",
                   {"retention_days": 0}).status_code == 400
        page = client.post("/recordings/retention",
                           data={"retention_days": "", "csrf_token": csrf(client)})
        assert page.status_code == 302
        assert client.get("/api/v1/recordings/retention").get_json() == {"retention_days": None}
        assert client.post("/recordings/retention", data={
            "retention_days": "abc", "csrf_token": csrf(client)}).status_code == 400
        with app.extensions["centrala"].sessions() as s:
            kinds = s.scalars(select(SecurityEvent.detail).where(
                SecurityEvent.kind == "recording.retention_changed",
                SecurityEvent.tenant_id == world.demo_tenant)).all()
        assert {"before": 30, "after": None} in kinds
        login(SUPERVISOR)
        assert api(client, csrf, "PUT", "/api/v1/recordings/retention",
                   {"retention_days": 5}).status_code == 403
    finally:
        with transaction(app.extensions["centrala"].sessions) as s:
            s.execute(delete(RecordingPolicy).where(RecordingPolicy.tenant_id == world.demo_tenant))
