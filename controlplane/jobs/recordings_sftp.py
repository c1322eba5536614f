"""RQ job: copy each tenant's finished recordings to its SFTP server.

:func:`copy_pending` goes through every tenant whose copy is on, takes at most ``batch`` of
its finished recordings (``call_recording`` done, file present) that have no successful
``recording_upload`` yet, oldest first, and sends them over one connection
(:mod:`controlplane.recordings.sftp`). Each result is committed at once: a crash loses at
most the file in flight, which the next run sends again (whole files only, renamed into
place). A failure stops that tenant's run, is written on the upload row (attempts, error)
and on the settings (``last_error``, shown on the page), and the next run retries.
Idempotent: a second run finds nothing to send. The daemon queues it every minute
(:mod:`controlplane.jobs.periodic`); the retention job keeps any recording not copied yet.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Tenant
from controlplane.models.recording_sftp import RecordingSftp, RecordingUpload
from controlplane.models.recordings import CallRecording
from controlplane.recordings import sftp

log = logging.getLogger(__name__)

BATCH = 200
EVERY_S = 60.0
JOB = "controlplane.jobs.recordings_sftp.copy_pending"
PREFIX = "recordings-sftp"


def pending(s: Session, tenant_id: int, limit: int) -> list[CallRecording]:
    """The tenant's finished recordings not copied yet, oldest first."""
    done = select(RecordingUpload.recording_id).where(
        RecordingUpload.tenant_id == tenant_id, RecordingUpload.uploaded_at.is_not(None))
    return list(s.scalars(select(CallRecording).where(
        CallRecording.tenant_id == tenant_id, CallRecording.status == "done",
        CallRecording.id.not_in(done)).order_by(CallRecording.id).limit(limit)))


def _target(conf: RecordingSftp) -> sftp.Target:
    return sftp.Target(conf.host, conf.port, conf.username, conf.host_key)


def _note(factory: sessionmaker[Session], tenant_id: int, rec_id: int, *, path: str = "",
          size: int | None = None, error: str = "") -> None:
    now = datetime.now(UTC)
    with transaction(factory) as s:
        row = s.get(RecordingUpload, rec_id)
        if row is None:
            row = RecordingUpload(recording_id=rec_id, tenant_id=tenant_id, attempts=0)
            s.add(row)
        row.attempts += 1
        row.error = error[:500]
        if not error:
            row.remote_path, row.size, row.uploaded_at = path, size, now
        conf = s.get(RecordingSftp, tenant_id)
        if conf is not None:
            conf.last_error = error[:500]
            if not error:
                conf.last_ok_at = now


def copy_tenant(factory: sessionmaker[Session], runtime_dir: Path, recordings_dir: Path,
                tenant_id: int, batch: int = BATCH, allow_private: bool = False) -> int:
    """Send the tenant's pending recordings; how many were sent."""
    with factory() as s:
        conf = s.get(RecordingSftp, tenant_id)
        if conf is None or not conf.enabled:
            return 0
        zone = ZoneInfo(s.scalar(select(Tenant.time_zone).where(Tenant.id == tenant_id))
                        or "Europe/Warsaw")
        todo = [(r.id, r.call_id, r.name, r.path, r.started_at) for r in pending(s, tenant_id, batch)]
        target, remote_dir = _target(conf), conf.remote_dir
    if not todo:
        return 0
    sent, current = 0, todo[0][0]  # the recording the error is written on
    try:
        with sftp.session(runtime_dir, tenant_id, target, allow_private) as client:
            for rec_id, call_id, name, path, started in todo:
                current = rec_id
                local = Path(path) if Path(path).is_absolute() else recordings_dir / path
                if not local.is_file():
                    _note(factory, tenant_id, rec_id, error=f"no file {local.name} on the platform")
                    continue
                remote = sftp.remote_path(remote_dir, started.astimezone(zone), call_id, name)
                size = sftp.upload(client, local, remote)
                _note(factory, tenant_id, rec_id, path=remote, size=size)
                sent += 1
    except sftp.SftpError as err:
        _note(factory, tenant_id, current, error=str(err))
        log.warning("recordings SFTP copy of tenant %s stopped: %s", tenant_id, err)
    return sent


def copy_pending(database_url: str | None = None, batch: int = BATCH) -> int:
    """Every tenant's pending recordings; how many were sent in all."""
    settings = load_settings()
    engine = make_engine(database_url or settings.database_url)
    try:
        factory = make_sessionmaker(engine)
        with factory() as s:
            tenants = list(s.scalars(select(RecordingSftp.tenant_id)
                                     .where(RecordingSftp.enabled.is_(True))))
        return sum(copy_tenant(factory, settings.runtime_dir, settings.recordings_dir, t, batch,
                               settings.sftp_allow_private) for t in tenants)
    finally:
        engine.dispose()
