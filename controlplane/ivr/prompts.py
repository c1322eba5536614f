"""A tenant's uploaded prompts (what flows play as ``{"audio": name}``): list, upload,
delete, each change audited, for the panel, the API and the CLI.

:mod:`controlplane.audio_store` checks and converts the file (size, length, sox) and keeps
it where Asterisk reads it; this module adds the rules that concern the tenant's other
objects and who did what: a prompt a published flow plays cannot be deleted (409 naming
the flows, :func:`controlplane.admin.references.refuse_if_used`), and uploading a name
again replaces the recording (the flows that play it play the new one).

Functions flush but never commit: the caller owns the transaction. The file of a deleted
prompt is removed once the row is gone (a failed commit leaves an orphan file, never a row
without its file).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane import audio_store
from controlplane.admin import references
from controlplane.config import Settings
from controlplane.ivr.changes import Actor
from controlplane.ivr.exceptions import IvrStoreError
from controlplane.models import AudioUpload
from controlplane.security import audit


class PromptNotFound(IvrStoreError):
    status = 404
    error_id = "not_found"


@dataclass(frozen=True)
class Prompt:
    """One prompt as the pages and the API show it."""

    name: str
    duration_s: float
    used_by: tuple[str, ...]  # published flows that play it

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "duration_s": self.duration_s, "used_by": list(self.used_by)}


def listing(s: Session, tenant_id: int) -> list[Prompt]:
    rows = s.scalars(select(AudioUpload).where(AudioUpload.tenant_id == tenant_id)
                     .order_by(AudioUpload.name))
    return [Prompt(r.name, float(r.duration_s or 0),
                   tuple(references.flows_using(s, tenant_id, audio=r.name))) for r in rows]


def row(s: Session, tenant_id: int, name: str) -> AudioUpload:
    found = s.scalar(select(AudioUpload).where(AudioUpload.tenant_id == tenant_id,
                                               AudioUpload.name == name))
    if found is None or not Path(found.path).exists():
        raise PromptNotFound(f"no prompt named {name[:64]!r}")
    return found


def upload(s: Session, settings: Settings, tenant_id: int, name: str, data: bytes,
           actor: Actor) -> Prompt:
    """Convert and store ``data`` as prompt ``name`` (AudioRejected says why not)."""
    replaced = s.scalar(select(AudioUpload.id).where(AudioUpload.tenant_id == tenant_id,
                                                     AudioUpload.name == name)) is not None
    stored = audio_store.upload(s, settings, tenant_id, name, data)
    audit.record(s, "ivr.prompt.uploaded", tenant_id=tenant_id, actor=actor.address,
                 source=actor.source, detail={"prompt": name, "replaced": replaced,
                                              "duration_s": stored.duration_s})
    return Prompt(name, float(stored.duration_s),
                  tuple(references.flows_using(s, tenant_id, audio=name)))


def delete(s: Session, tenant_id: int, name: str, actor: Actor) -> Path:
    """Delete prompt ``name`` unless a published flow plays it; returns its file, for the
    caller to remove after the commit (:func:`remove_file`)."""
    found = row(s, tenant_id, name)
    references.refuse_if_used(s, tenant_id, "audio", name)
    path = Path(found.path)
    s.delete(found)
    audit.record(s, "ivr.prompt.deleted", tenant_id=tenant_id, actor=actor.address,
                 source=actor.source, detail={"prompt": name})
    s.flush()
    return path


def remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)
