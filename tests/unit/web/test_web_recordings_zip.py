"""ZIP of a selection: the API makes an export row and leaves the RQ job in the outbox; a
real RQ worker (in process, burst, on the test Redis) builds it; progress reaches total; the
ZIP's WAVs open with soundfile; the export is its creator's, tenant-scoped, and expires."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import soundfile
from flask import Flask
from rq import Queue, SimpleWorker
from sqlalchemy import delete, select, update

from controlplane.db import transaction
from controlplane.models.outbox import JobOutbox
from controlplane.models.recording_tags import RecordingExport
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT2 = f"agent2@{DEMO_DOMAIN}"


def api(client: Any, csrf: Any, method: str, path: str, body: Any = None) -> Any:
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def test_zip_of_a_selection(client: Any, login: Any, csrf: Any, app: Flask, world: Any,
                            settings: Any, redis_client: redis.Redis, redis_port: int,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    factory = app.extensions["centrala"].sessions
    login(ADMIN)
    # the demo recording, one of another tenant (dropped), one without a file (dropped)
    resp = api(client, csrf, "POST", "/api/v1/recordings/exports",
               {"ids": [world.demo_recording, world.acme_recording, world.demo_records[1]]})
    assert resp.status_code == 202, resp.get_json()
    export = resp.get_json()["export"]
    assert (export["state"], export["total"], export["done"]) == ("queued", 1, 0)
    try:
        with factory() as s:
            job = s.scalar(select(JobOutbox).where(
                JobOutbox.job_id == f"recordings-zip-{export['id']}"))
            assert job is not None and job.func.endswith("recordings_zip.build_zip")
            args = list(job.args)
        # what the control plane's drain does, then a real worker
        monkeypatch.setenv("CENTRALA_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(settings.runtime_dir))
        connection = redis.Redis(port=redis_port)
        queue = Queue("default", connection=connection)
        queue.enqueue_call(job.func, args=args)
        SimpleWorker([queue], connection=connection).work(burst=True)
        status = client.get(f"/api/v1/recordings/exports/{export['id']}").get_json()["export"]
        assert (status["state"], status["done"], status["total"]) == ("done", 1, 1)
        with client.get(status["download_url"]) as got:
            assert got.status_code == 200
            assert got.headers["Content-Type"] == "application/zip"
            data = got.data
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            assert len(names) == 1 and names[0].endswith(f"call-{world.demo_recording}"
                                                         f"-+48600000000.wav")
            info = soundfile.info(io.BytesIO(zf.read(names[0])))
            assert (info.samplerate, info.channels) == (8000, 1) and info.frames == 1600
        # someone else's export is not found; an expired one neither
        login(AGENT2)
        assert client.get(f"/api/v1/recordings/exports/{export['id']}").status_code == 404
        assert client.get(status["download_url"]).status_code == 404
        login(ADMIN)
        with transaction(factory) as s:
            s.execute(update(RecordingExport).where(RecordingExport.id == export["id"])
                      .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        assert client.get(status["download_url"]).status_code == 404
    finally:
        with transaction(factory) as s:
            s.execute(delete(JobOutbox).where(JobOutbox.job_id.like("recordings-zip-%")))
            s.execute(delete(RecordingExport))


def test_zip_refuses_what_the_user_may_not_see(client: Any, login: Any, csrf: Any,
                                               world: Any) -> None:
    login(AGENT2)  # the demo recording is on agent1's phone
    resp = api(client, csrf, "POST", "/api/v1/recordings/exports",
               {"ids": [world.demo_recording]})
    assert resp.status_code == 400
    assert api(client, csrf, "POST", "/api/v1/recordings/exports",
               {"ids": []}).status_code == 400
