"""Tags, retention policy and deletion of recordings: the SQL, callable from views and jobs.

**Deletion** removes the audio and the recording's metadata but keeps the call record: the
record is the call's history (reports, billing, the contact's history), the recording only
its audio. So the file is unlinked, ``call_record.recording_path``/``recording_duration_s``
become NULL, the ``call_recording`` rows and tag links go. No tombstone row: the audit
event (``recording.deleted``: who, why -- a user or the retention job -- which call, its
start and length) is the tombstone, in the table every security review reads already.
The row changes and the audit event commit together; the file is unlinked after the
commit (:func:`unlink`), so a failed commit never leaves a row pointing at nothing.
Paths are resolved inside the recordings directory only, as the download route does.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from controlplane.models import CallRecord
from controlplane.models.recording_sftp import RecordingSftp, RecordingUpload
from controlplane.models.recording_tags import (
    RETENTION_MAX_DAYS,
    TAG_MAX,
    RecordingPolicy,
    RecordingTag,
    RecordingTagLink,
)
from controlplane.models.recordings import CallRecording
from controlplane.security import audit

log = logging.getLogger(__name__)


class RecordingProblem(ValueError):
    """A tag or a setting that cannot be taken (the message says why)."""


def clean_tag(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise RecordingProblem("a tag needs a name")
    if len(name) > TAG_MAX:
        raise RecordingProblem(f"a tag has at most {TAG_MAX} characters")
    return name


def tags_of(s: Session, record_id: int) -> list[str]:
    return list(s.scalars(select(RecordingTag.name).join(
        RecordingTagLink, RecordingTagLink.tag_id == RecordingTag.id)
        .where(RecordingTagLink.record_id == record_id).order_by(RecordingTag.name)))


def add_tag(s: Session, tenant_id: int, record_id: int, raw: str) -> list[str]:
    """Tag the (tenant's, already checked) record; the tag is made on first use."""
    name = clean_tag(raw)
    tag = s.scalar(select(RecordingTag).where(RecordingTag.tenant_id == tenant_id,
                                              RecordingTag.name == name))
    if tag is None:
        tag = RecordingTag(tenant_id=tenant_id, name=name)
        s.add(tag)
        s.flush()
    if s.get(RecordingTagLink, (record_id, tag.id)) is None:
        s.add(RecordingTagLink(record_id=record_id, tag_id=tag.id))
        s.flush()
    return tags_of(s, record_id)


def remove_tag(s: Session, tenant_id: int, record_id: int, name: str) -> list[str]:
    """Untag the record; a tag no recording carries any more is dropped from the list."""
    tag = s.scalar(select(RecordingTag).where(RecordingTag.tenant_id == tenant_id,
                                              RecordingTag.name == " ".join(name.split())))
    if tag is not None:
        s.execute(delete(RecordingTagLink).where(RecordingTagLink.record_id == record_id,
                                                 RecordingTagLink.tag_id == tag.id))
        if s.scalar(select(RecordingTagLink.record_id)
                    .where(RecordingTagLink.tag_id == tag.id).limit(1)) is None:
            s.delete(tag)
        s.flush()
    return tags_of(s, record_id)


def retention_days(s: Session, tenant_id: int) -> int | None:
    policy = s.get(RecordingPolicy, tenant_id)
    return policy.retention_days if policy is not None else None


def set_retention(s: Session, tenant_id: int, days: int | None, *, actor: str,
                  source: str) -> None:
    if days is not None and not 1 <= days <= RETENTION_MAX_DAYS:
        raise RecordingProblem(f"between 1 and {RETENTION_MAX_DAYS} days, or empty")
    policy = s.get(RecordingPolicy, tenant_id)
    before = policy.retention_days if policy is not None else None
    if policy is None:
        policy = RecordingPolicy(tenant_id=tenant_id)
        s.add(policy)
    policy.retention_days = days
    audit.record(s, "recording.retention_changed", tenant_id=tenant_id, actor=actor,
                 source=source, detail={"before": before, "after": days})
    s.flush()


def resolve(recordings_dir: Path, path: str | None) -> Path | None:
    """``path`` inside the recordings directory (relative paths are relative to it)."""
    if not path:
        return None
    root = recordings_dir.resolve()
    full = (root / path).resolve()
    return full if full.is_relative_to(root) else None


def delete_recording(s: Session, recordings_dir: Path, record: CallRecord, *, actor: str,
                     source: str, reason: str) -> list[Path]:
    """Forget ``record``'s recording in ``s`` and audit it; returns the files to unlink
    once ``s`` has committed (:func:`unlink`)."""
    parts = list(s.scalars(select(CallRecording).where(CallRecording.call_id == record.call_id)))
    files = {p for p in [resolve(recordings_dir, record.recording_path),
                         *(resolve(recordings_dir, r.path) for r in parts)] if p is not None}
    audit.record(s, "recording.deleted", tenant_id=record.tenant_id, actor=actor,
                 source=source, detail={
                     "call_record_id": record.id, "call_id": record.call_id,
                     "started_at": record.started_at.isoformat(), "reason": reason,
                     "duration_s": record.recording_duration_s})
    for part in parts:
        s.delete(part)
    s.execute(delete(RecordingTagLink).where(RecordingTagLink.record_id == record.id))
    record.recording_path = None
    record.recording_duration_s = None
    s.flush()
    return sorted(files)


def unlink(files: list[Path]) -> None:
    for path in files:
        try:
            path.unlink(missing_ok=True)
        except OSError as err:  # the row is gone already: say so, do not fail the request
            log.warning("recording file %s not removed: %s", path, err)


def expired(s: Session, tenant_id: int, days: int, now: datetime,
            limit: int) -> list[CallRecord]:
    """The tenant's recorded calls that started more than ``days`` days before ``now``;
    while the tenant copies its recordings to SFTP, only those whose every recording is
    copied (nothing is deleted before the tenant's archive has it)."""
    stmt = select(CallRecord).where(CallRecord.tenant_id == tenant_id,
                                    CallRecord.recording_path.is_not(None),
                                    CallRecord.started_at < now - timedelta(days=days))
    if s.scalar(select(RecordingSftp.enabled).where(RecordingSftp.tenant_id == tenant_id)):
        uncopied = (select(CallRecording.call_id)
                    .outerjoin(RecordingUpload, RecordingUpload.recording_id == CallRecording.id)
                    .where(CallRecording.tenant_id == tenant_id,
                           RecordingUpload.uploaded_at.is_(None)))
        stmt = stmt.where(CallRecord.call_id.not_in(uncopied))
    return list(s.scalars(stmt.order_by(CallRecord.started_at).limit(limit)))
