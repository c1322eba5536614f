"""The retention job: recordings older than the tenant's ``retention_days`` are deleted (file
and metadata; the call record stays), audited as the system; others' and newer ones stay;
a tenant without a policy keeps everything; the hourly enqueue is once per hour."""

from __future__ import annotations

import uuid
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from rq import Queue
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.jobs.recordings_retention import enqueue_hourly, purge_expired
from controlplane.models import CallRecord, Tenant
from controlplane.models.recording_tags import RecordingPolicy
from controlplane.models.security import SecurityEvent

NOW = datetime(2034, 6, 1, 12, 0, tzinfo=UTC)


def _wav(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(160))


@pytest.fixture
def aged(app: Flask, world: Any) -> Iterator[dict[str, tuple[int, Path]]]:
    """Polska (30 days): old (40 days), young (10 days); Acme (no policy): ancient (400 days).
    Not the demo tenant: its shared records (2025, read by other tests) would expire too."""
    svc = app.extensions["centrala"]
    root = svc.settings.recordings_dir
    root.mkdir(parents=True, exist_ok=True)
    out: dict[str, tuple[int, Path]] = {}
    with transaction(svc.sessions) as s:
        polska = s.scalar(select(Tenant.id).where(Tenant.domain == "polska.example"))
        assert polska is not None
        for key, tenant, age in (("old", polska, 40), ("young", polska, 10),
                                 ("ancient", world.acme_tenant, 400)):
            path = root / f"retention-{key}-{uuid.uuid4().hex[:6]}.wav"
            _wav(path)
            started = NOW - timedelta(days=age)
            row = CallRecord(call_id=f"retention-{key}-{path.stem}", tenant_id=tenant,
                             direction="inbound", status="ended", caller="+48600000001",
                             callee="1001", caller_channel="PJSIP/r", started_at=started,
                             ended_at=started + timedelta(seconds=5), recording_path=path.name)
            s.add(row)
            s.flush()
            out[key] = (row.id, path)
        s.add(RecordingPolicy(tenant_id=polska, retention_days=30))
    yield out
    with transaction(svc.sessions) as s:
        s.execute(delete(RecordingPolicy).where(RecordingPolicy.tenant_id == polska))
        s.execute(delete(CallRecord).where(CallRecord.id.in_([i for i, _ in out.values()])))
    for _id, path in out.values():
        path.unlink(missing_ok=True)


def test_expired_recordings_are_deleted_and_audited(app: Flask, settings: Any, world: Any,
                                                    aged: dict[str, tuple[int, Path]]) -> None:
    kwargs = {"database_url": settings.database_url, "now": NOW.isoformat(),
              "recordings_dir": str(settings.recordings_dir)}
    assert purge_expired(**kwargs) == 1
    old, young, ancient = aged["old"], aged["young"], aged["ancient"]
    assert not old[1].exists() and young[1].exists() and ancient[1].exists()
    with app.extensions["centrala"].sessions() as s:
        assert s.get(CallRecord, old[0]).recording_path is None  # type: ignore[union-attr]
        assert s.get(CallRecord, young[0]).recording_path  # type: ignore[union-attr]
        # the newest (SQLite reuses the ids of rows other tests deleted)
        event = s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind == "recording.deleted",
            SecurityEvent.detail["call_record_id"].as_integer() == old[0])
            .order_by(SecurityEvent.id.desc())).first()
        assert event is not None
        assert (event.actor, event.source) == ("system", "retention")
    assert purge_expired(**kwargs) == 0  # idempotent


def test_hourly_enqueue_is_once_per_hour(app: Flask, redis_client: redis.Redis,
                                         redis_port: int) -> None:
    queue = Queue("default", connection=redis.Redis(port=redis_port))
    factory = app.extensions["centrala"].sessions
    enqueue_hourly(queue, factory, NOW)
    enqueue_hourly(queue, factory, NOW + timedelta(minutes=30))
    assert len(queue) == 1
    enqueue_hourly(queue, factory, NOW + timedelta(hours=1))
    assert len(queue) == 2
    assert queue.jobs[0].func_name == "controlplane.jobs.recordings_retention.purge_expired"
