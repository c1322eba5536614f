"""Tenants' uploaded prompts: converted once to what Asterisk plays best (8 kHz mono 16-bit).

A flow refers to an upload by name (``{"audio": "welcome"}``); the IVR plays it as
``sound:<path without .wav>``. Files live under
``<runtime>/platform/sounds/uploads/t<tenant>/`` (inside Asterisk's bind mount).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import soundfile
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.config import Settings
from controlplane.models import AudioUpload

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 600


class AudioRejected(ValueError):
    """The upload is not usable; the message says why."""


def uploads_dir(settings: Settings, tenant_id: int) -> Path:
    return settings.runtime_dir / "platform" / "sounds" / "uploads" / f"t{tenant_id}"


def upload(session: Session, settings: Settings, tenant_id: int, name: str, data: bytes) -> AudioUpload:
    """Convert ``data`` (WAV, FLAC, OGG, … anything sox reads) and store it as ``name``."""
    if not NAME_RE.match(name):
        raise AudioRejected(f"name {name!r}: use letters, digits, '-', '_' or '.', at most 64")
    if not data or len(data) > MAX_BYTES:
        raise AudioRejected(f"file must be between 1 byte and {MAX_BYTES // 1024 // 1024} MiB")
    target_dir = uploads_dir(settings, tenant_id)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{name}.wav"
    with tempfile.NamedTemporaryFile(suffix=".in", dir=target_dir) as raw:
        raw.write(data)
        raw.flush()
        tmp = target.with_suffix(".tmp.wav")
        proc = subprocess.run(["sox", raw.name, "-r", "8000", "-c", "1", "-b", "16", str(tmp)],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise AudioRejected(f"not an audio file sox can read: {proc.stderr.strip()[:200]}")
    info = soundfile.info(str(tmp))
    duration = info.frames / info.samplerate
    if duration > MAX_SECONDS:
        tmp.unlink()
        raise AudioRejected(f"{duration:.0f} s long; prompts are at most {MAX_SECONDS} s")
    tmp.chmod(0o644)
    tmp.replace(target)
    row = session.scalar(select(AudioUpload).where(AudioUpload.tenant_id == tenant_id,
                                                   AudioUpload.name == name))
    if row is None:
        row = AudioUpload(tenant_id=tenant_id, name=name, path=str(target), duration_s=duration)
        session.add(row)
    row.path, row.duration_s = str(target), round(duration, 3)
    session.flush()
    return row


def media_for(session: Session, tenant_id: int, name: str) -> str | None:
    """The ARI media URI of the tenant's upload ``name``; None when there is none."""
    row = session.scalar(select(AudioUpload).where(AudioUpload.tenant_id == tenant_id,
                                                   AudioUpload.name == name))
    if row is None or not Path(row.path).exists():
        return None
    return "sound:" + str(Path(row.path).with_suffix(""))


def exists(session: Session, tenant_id: int, name: str) -> bool:
    return session.scalar(select(AudioUpload.id).where(AudioUpload.tenant_id == tenant_id,
                                                       AudioUpload.name == name)) is not None
