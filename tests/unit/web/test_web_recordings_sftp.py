"""Recordings copied to the tenant's SFTP server (a real OpenSSH server on loopback).

The admin sees the platform's public key, saves the server, tests the connection (which
pins the host key it shows), turns copying on; the job sends every finished recording
whole into a folder of its day in the tenant's zone, once; retention keeps what is not
copied yet; a server showing another host key gets nothing; bad input is a 400 naming the
field, and only admins see any of it."""

from __future__ import annotations

import shutil
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
from controlplane.jobs import recordings_sftp
from controlplane.models import CallRecord, Tenant
from controlplane.models.recording_sftp import RecordingSftp, RecordingUpload
from controlplane.models.recording_tags import RecordingPolicy
from controlplane.models.recordings import CallRecording
from controlplane.recordings import store
from tests.sftplab import running_sshd

pytestmark = pytest.mark.skipif(shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists(),
                                reason="openssh-server is not installed (scripts/bootstrap.sh)")
ADMIN = "szef@polska.example"
AGENT = "agentka@polska.example"
STARTED = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)  # 2 July 00:30 in Warsaw


def _wav(path: Path, frames: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(2 * frames))


@pytest.fixture
def recorded(app: Flask) -> Iterator[dict[str, Any]]:
    """Two finished recordings and one still recording, of the Polska tenant."""
    svc = app.extensions["centrala"]
    root = svc.settings.recordings_dir
    root.mkdir(parents=True, exist_ok=True)
    made: dict[str, Any] = {"paths": [], "calls": []}
    with transaction(svc.sessions) as s:
        tenant = s.scalar(select(Tenant.id).where(Tenant.domain == "polska.example"))
        for i, status in enumerate(("done", "done", "recording")):
            path = root / f"sftp-{i}-{uuid.uuid4().hex[:6]}.wav"
            _wav(path, 8000 * (i + 1))
            call_id = f"sftp-call-{path.stem}"
            s.add(CallRecord(call_id=call_id, tenant_id=tenant, direction="inbound",
                             status="ended", caller="+48600000002", callee="1001",
                             caller_channel="PJSIP/s", started_at=STARTED,
                             ended_at=STARTED + timedelta(seconds=5), recording_path=path.name))
            s.flush()
            s.add(CallRecording(tenant_id=tenant, call_id=call_id, name=path.stem,
                                path=str(path), policy="always", started_at=STARTED,
                                status=status))
            made["paths"].append(path)
            made["calls"].append(call_id)
        made["tenant"] = tenant
    yield made
    with transaction(svc.sessions) as s:
        s.execute(delete(RecordingSftp).where(RecordingSftp.tenant_id == made["tenant"]))
        s.execute(delete(RecordingPolicy).where(RecordingPolicy.tenant_id == made["tenant"]))
        s.execute(delete(CallRecord).where(CallRecord.call_id.in_(made["calls"])))
    for path in made["paths"]:
        path.unlink(missing_ok=True)


def _copy(app: Flask) -> int:
    svc = app.extensions["centrala"]
    return recordings_sftp.copy_tenant(svc.sessions, svc.settings.runtime_dir,
                                       svc.settings.recordings_dir, recorded_tenant(app),
                                       allow_private=True)


def recorded_tenant(app: Flask) -> int:
    with app.extensions["centrala"].sessions() as s:
        return int(s.scalar(select(Tenant.id).where(Tenant.domain == "polska.example")))


def test_recordings_reach_the_tenants_sftp_server_whole_and_once(  # type: ignore[no-untyped-def]
        app: Flask, client, login, csrf, recorded, tmp_path: Path, monkeypatch) -> None:
    # the test server is on loopback: allowed here only (settings are frozen; restored after)
    monkeypatch.setitem(app.extensions["centrala"].settings.__dict__, "sftp_allow_private", True)
    login(ADMIN)
    headers = {"X-CSRF-Token": csrf(client)}
    conf = client.get("/api/v1/recordings/sftp").get_json()
    assert conf["public_key"].startswith("ssh-ed25519 ") and conf["enabled"] is False
    key_file = app.extensions["centrala"].settings.runtime_dir / "sftp" / f"tenant-{recorded['tenant']}.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    with running_sshd(tmp_path / "sshd") as sshd:
        body = {"enabled": False, "host": "127.0.0.1", "port": sshd.port,
                "username": sshd.user, "remote_dir": str(sshd.root / "nagrania")}
        assert client.put("/api/v1/recordings/sftp", json=body, headers=headers).status_code == 200
        # copying cannot start before the host key is confirmed
        early = client.put("/api/v1/recordings/sftp", json={**body, "enabled": True}, headers=headers)
        assert early.status_code == 409
        refused = client.post("/api/v1/recordings/sftp/test", headers=headers).get_json()
        assert refused["ok"] is False and "authorized_keys" in refused["message"]
        assert refused["host_key_fingerprint"].startswith("SHA256:")  # pinned all the same
        sshd.authorize(conf["public_key"])
        ok = client.post("/api/v1/recordings/sftp/test", headers=headers).get_json()
        assert ok["ok"] is True, ok
        assert client.put("/api/v1/recordings/sftp", json={**body, "enabled": True},
                          headers=headers).get_json()["waiting"] == 2
        # retention keeps what is not copied yet
        with transaction(app.extensions["centrala"].sessions) as s:
            s.add(RecordingPolicy(tenant_id=recorded["tenant"], retention_days=1))
        with app.extensions["centrala"].sessions() as s:
            assert store.expired(s, recorded["tenant"], 1, datetime.now(UTC), 100) == []
        assert _copy(app) == 2
        day = sshd.root / "nagrania" / "2026" / "07" / "02"  # the tenant's (Warsaw) day
        copied = sorted(day.iterdir())
        assert [p.suffix for p in copied] == [".wav", ".wav"]  # no .part left
        for local in recorded["paths"][:2]:
            remote = next(p for p in copied if local.stem in p.name)
            assert remote.read_bytes() == local.read_bytes()
        assert _copy(app) == 0  # once
        with app.extensions["centrala"].sessions() as s:
            expired = store.expired(s, recorded["tenant"], 1, datetime.now(UTC), 100)
            assert sorted(r.call_id for r in expired) == sorted(recorded["calls"][:2])
            rows = list(s.scalars(select(RecordingUpload).where(
                RecordingUpload.tenant_id == recorded["tenant"])))
            assert all(r.uploaded_at and r.size and not r.error for r in rows) and len(rows) == 2
        state = client.get("/api/v1/recordings/sftp").get_json()
        assert state["waiting"] == 0 and state["last_ok_at"] and not state["last_error"]
        html = client.get("/recordings/sftp").get_data(as_text=True)
        assert "Nagrania na Twoim serwerze SFTP" in html and conf["public_key"] in html
        assert ok["host_key_fingerprint"] in html
    # another server on the same address and port, with another host key, gets nothing
    with running_sshd(tmp_path / "other") as other:
        with transaction(app.extensions["centrala"].sessions) as s:
            row = s.get(RecordingSftp, recorded["tenant"])
            row.port = other.port  # as if the server had been replaced behind the name
            done = s.scalars(select(CallRecording).where(
                CallRecording.call_id == recorded["calls"][2])).one()
            done.status = "done"
        other.authorize(conf["public_key"])
        assert _copy(app) == 0
        assert not any(other.root.rglob("*.wav"))
        state = client.get("/api/v1/recordings/sftp").get_json()
        assert "host key changed" in state["last_error"]
    with transaction(app.extensions["centrala"].sessions) as s:
        s.execute(delete(RecordingUpload).where(RecordingUpload.tenant_id == recorded["tenant"]))


def test_sftp_settings_refuse_bad_input_and_non_admins(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    headers = {"X-CSRF-Token": csrf(client)}
    good = {"enabled": False, "host": "sftp.example.com", "port": 22, "username": "archiwum",
            "remote_dir": "nagrania"}
    for field, value in (("host", "bad host"), ("username", "ja kowalski"),
                         ("remote_dir", "../etc"), ("port", 70000)):
        resp = client.put("/api/v1/recordings/sftp", json={**good, field: value}, headers=headers)
        assert resp.status_code == 400 and field in resp.get_data(as_text=True), (field, resp.json)
    # a private address is refused unless the platform allows it
    assert client.put("/api/v1/recordings/sftp", json={**good, "host": "10.1.2.3"},
                      headers=headers).status_code == 200
    result = client.post("/api/v1/recordings/sftp/test", headers=headers).get_json()
    assert result["ok"] is False and "private address" in result["message"]
    login(AGENT)
    assert client.get("/api/v1/recordings/sftp").status_code == 403
    assert client.get("/recordings/sftp").status_code == 403
