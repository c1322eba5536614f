"""RQ job: a ZIP of selected recordings, with its progress in ``recording_export``.

The panel writes the export row (the ids it checked are in the user's scope) and leaves
the job in the outbox (its Redis user may not touch RQ's keys; the control plane queues
it within seconds, as for contact imports). :func:`build_zip` writes each recording into
``<runtime>/exports/recordings-<id>.zip`` (stored, not deflated: WAV barely compresses and
the job stays cheap) and commits ``done`` after each file, which the page's progress bar
polls (``GET /api/v1/recordings/exports/<id>``). The ZIP is written under a temporary name
and renamed when complete, so a download never sees half a file. Past ``expires_at``
(:data:`KEEP_S`) the download is refused and the next export removes the file (the file
handling is :mod:`controlplane.jobs.file_exports`, shared with the long reports).
Idempotent: a finished export is not rebuilt.
"""

from __future__ import annotations

import logging
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs import file_exports
from controlplane.models import CallRecord
from controlplane.models.recording_tags import RecordingExport
from controlplane.recordings.store import resolve

log = logging.getLogger(__name__)

KEEP_S = file_exports.KEEP_S
JOB_TIMEOUT_S = 3600
exports_dir = file_exports.exports_dir


def zip_path(runtime_dir: Path, export_id: int) -> Path:
    return exports_dir(runtime_dir) / f"recordings-{export_id}.zip"


def build_zip(export_id: int, database_url: str | None = None,
              runtime_dir: str | None = None) -> int:
    """Build the export's ZIP; returns how many recordings it holds."""
    settings = load_settings()
    if runtime_dir:
        settings = settings.with_runtime(Path(runtime_dir))
    runtime, recordings = settings.runtime_dir, settings.recordings_dir
    engine = make_engine(database_url or settings.database_url)
    try:
        factory = make_sessionmaker(engine)
        with transaction(factory) as s:
            export = s.get(RecordingExport, export_id)
            if export is None or export.state == "done":
                return export.done if export is not None else 0
            export.state, export.done = "running", 0
            tenant_id = export.tenant_id
            ids = [int(i) for i in export.record_ids.split(",") if i]
        folder = exports_dir(runtime)
        folder.mkdir(parents=True, exist_ok=True)
        file_exports.sweep(folder, "recordings-*.zip*", datetime.now(UTC))
        target = zip_path(runtime, export_id)
        done = 0
        try:
            with file_exports.written(target) as partial, \
                    zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as zf:
                for record_id in ids:
                    with factory() as s:  # the tenant's, still recorded (not deleted since)
                        record = s.scalar(select(CallRecord).where(
                            CallRecord.id == record_id, CallRecord.tenant_id == tenant_id))
                    path = resolve(recordings, record.recording_path) if record else None
                    if record is not None and path is not None and path.is_file():
                        stamp = record.started_at.strftime("%Y%m%d-%H%M%S")
                        caller = "".join(c for c in record.caller if c.isalnum() or c == "+")
                        zf.write(path, f"{stamp}-call-{record.id}-{caller or 'unknown'}.wav")
                    done += 1
                    with transaction(factory) as s:
                        s.get(RecordingExport, export_id).done = done  # type: ignore[union-attr]
        except OSError as err:
            with transaction(factory) as s:
                row = s.get(RecordingExport, export_id)
                if row is not None:
                    row.state, row.error = "failed", str(err)[:500]
            raise
        with transaction(factory) as s:
            row = s.get(RecordingExport, export_id)
            if row is not None:
                row.state, row.file_name = "done", target.name
    finally:
        engine.dispose()
    log.info("recordings export %s: %d recordings", export_id, done)
    return done
