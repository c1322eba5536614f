"""Tenants' uploaded prompts: converted once to what Asterisk plays best (8 kHz mono 16-bit).

A flow refers to an upload by name (``{"audio": "welcome"}``); the IVR plays it as
``sound:<path without .wav>``. Files live under
``<runtime>/platform/sounds/uploads/t<tenant>/`` (inside Asterisk's bind mount).

Theory of operation: an upload is checked in the order of what each check costs.
Size first; then the duration is read from the file's header (libsndfile, or
``sox --info`` for what libsndfile cannot open), so a file with no samples or
longer than :data:`MAX_SECONDS` is refused before anything is decoded. Only then
does sox convert it, under a timeout, into a temporary file next to the target;
the result is checked again (a header can lie) and renamed into place. Every
temporary file is removed whatever happens.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import soundfile
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.config import Settings
from controlplane.ivr.exceptions import AudioRejected as AudioRejected
from controlplane.models import AudioUpload

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 600
CONVERT_TIMEOUT_S = 60.0  # sox converts a 10-minute prompt in well under a second
PROBE_TIMEOUT_S = 10.0


def uploads_dir(settings: Settings, tenant_id: int) -> Path:
    return settings.runtime_dir / "platform" / "sounds" / "uploads" / f"t{tenant_id}"


def probe_seconds(path: Path, timeout_s: float = PROBE_TIMEOUT_S) -> float:
    """The duration ``path`` declares, read without decoding it; :class:`AudioRejected` if
    neither libsndfile nor sox can read it."""
    try:
        info = soundfile.info(str(path))
        if info.samplerate > 0:
            return float(info.frames / info.samplerate)
    except (RuntimeError, soundfile.LibsndfileError):
        pass  # MP3 on old libsndfile, AMR, …: ask sox
    try:
        proc = subprocess.run(["sox", "--info", "-D", str(path)], capture_output=True,
                              text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise AudioRejected(f"reading the file's length took over {timeout_s:.0f} s") from None
    try:
        return float(proc.stdout.strip())
    except ValueError:
        raise AudioRejected(
            f"not an audio file sox can read: {proc.stderr.strip()[:200]}"
        ) from None


def _check_length(seconds: float) -> None:
    if not seconds > 0:
        raise AudioRejected("the file holds no audio samples")
    if seconds > MAX_SECONDS:
        raise AudioRejected(f"{seconds:.0f} s long; prompts are at most {MAX_SECONDS} s")


def convert(source: Path, target: Path, timeout_s: float = CONVERT_TIMEOUT_S) -> None:
    """sox ``source`` into 8 kHz mono 16-bit WAV ``target``; :class:`AudioRejected` on
    failure or after ``timeout_s`` (sox is killed). ``target`` exists only on success."""
    try:
        proc = subprocess.run(
            ["sox", str(source), "-r", "8000", "-c", "1", "-b", "16", str(target)],
            capture_output=True, text=True, timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        target.unlink(missing_ok=True)
        raise AudioRejected(f"converting took over {timeout_s:g} s; send a shorter file") from None
    if proc.returncode != 0:
        target.unlink(missing_ok=True)
        raise AudioRejected(f"not an audio file sox can read: {proc.stderr.strip()[:200]}")


def upload(session: Session, settings: Settings, tenant_id: int, name: str, data: bytes, *,
           timeout_s: float = CONVERT_TIMEOUT_S) -> AudioUpload:
    """Check, convert and store ``data`` (WAV, FLAC, OGG, … anything sox reads) as ``name``."""
    if not NAME_RE.match(name):
        raise AudioRejected(f"name {name!r}: use letters, digits, '-', '_' or '.', at most 64")
    if not data or len(data) > MAX_BYTES:
        raise AudioRejected(f"file must be between 1 byte and {MAX_BYTES // 1024 // 1024} MiB")
    target_dir = uploads_dir(settings, tenant_id)
    target_dir.mkdir(parents=True, exist_ok=True)
    # Asterisk (another user) reads the prompts, and our processes run with umask 077: like
    # the TTS cache, these folders are walkable (the runtime folder keeps strangers out).
    for folder in (target_dir.parent, target_dir):
        folder.chmod(0o755)
    target = target_dir / f"{name}.wav"
    # Hidden, unique names: two uploads of one name never share a temporary file.
    fd, out_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp.wav", dir=target_dir)
    os.close(fd)
    out = Path(out_name)
    try:
        with tempfile.NamedTemporaryFile(prefix=f".{name}.", suffix=".in",
                                         dir=target_dir) as raw:
            raw.write(data)
            raw.flush()
            _check_length(probe_seconds(Path(raw.name)))
            convert(Path(raw.name), out, timeout_s)
        info = soundfile.info(str(out))
        duration = info.frames / info.samplerate
        _check_length(duration)
        out.chmod(0o644)
        out.replace(target)
    finally:
        out.unlink(missing_ok=True)
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
