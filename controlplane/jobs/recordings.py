"""RQ job: check a finished call's recording and store its real duration on the record.

Takes an id, not an object (STYLE.md §7); idempotent and safe to retry. A verified recording
is a ``recording.ready`` webhook event, written in the same transaction.
"""

from __future__ import annotations

import soundfile
from sqlalchemy import select

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import CallRecord
from controlplane.models.recordings import CallRecording
from controlplane.webhooks import outbox as webhook_outbox


def verify_recording(call_id: str, database_url: str | None = None) -> float | None:
    """Return the recording's duration in seconds (None when missing or unreadable)."""
    url = database_url or load_settings().database_url
    engine = make_engine(url)
    try:
        factory = make_sessionmaker(engine)
        with transaction(factory) as s:
            row = s.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
            if row is None or not row.recording_path:
                return None
            metadata = s.scalars(select(CallRecording).where(CallRecording.call_id == call_id))
            try:
                info = soundfile.info(row.recording_path)
            except (RuntimeError, OSError):  # missing or not a WAV
                row.recording_duration_s = None
                for rec in metadata:
                    rec.status = "missing"
                return None
            row.recording_duration_s = round(info.frames / info.samplerate, 3)
            for rec in metadata:  # what Asterisk wrote, not what the clock said
                rec.duration_s, rec.status = row.recording_duration_s, "done"
            # webhooks: the same change, in the same transaction (the outbox); one event per
            # call however often the job runs
            webhook_outbox.emit(s, "recording.ready", row.tenant_id, {
                "call_id": call_id, "call_record_id": row.id,
                "duration_s": row.recording_duration_s}, key=(call_id,))
            return row.recording_duration_s
    finally:
        engine.dispose()
