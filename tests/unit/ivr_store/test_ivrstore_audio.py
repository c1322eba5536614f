"""Prompt uploads: refused when empty, silent or too long (before converting), converted
under a timeout, and never a temporary file left behind."""

from __future__ import annotations

import io
import struct
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import soundfile
from sqlalchemy.orm import Session, sessionmaker

from controlplane import audio_store
from controlplane.config import Settings, load_settings
from controlplane.db import transaction


def wav(seconds: float, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(int(rate * seconds) * 2))
    return buf.getvalue()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path / "runtime")})


def leftovers(settings: Settings, tenant_id: int) -> list[str]:
    """Every file in the tenant's upload folder but the stored prompts."""
    folder = audio_store.uploads_dir(settings, tenant_id)
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".wav")
                  or p.name.startswith("."))


def test_a_prompt_is_converted_to_8khz_and_stored(
    factory: sessionmaker[Session], tenants, settings: Settings
) -> None:
    with transaction(factory) as s:
        row = audio_store.upload(s, settings, tenants.a, "welcome", wav(1.5))
        path, duration = Path(row.path), row.duration_s
    info = soundfile.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16")
    assert duration == pytest.approx(1.5, abs=0.01)
    assert leftovers(settings, tenants.a) == []


def header_only_wav() -> bytes:
    return wav(0)


def lying_header_wav() -> bytes:
    """A header announcing an hour of audio in front of no samples at all."""
    raw = bytearray(wav(0))
    raw[40:44] = struct.pack("<I", 16000 * 2 * 3600)
    return bytes(raw)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "between 1 byte and"),
        (header_only_wav(), "no audio samples"),
        (lying_header_wav(), "no audio samples"),
        (b"RIFF\x00\x00\x00\x00WAVEjunk", "not an audio file"),
        (b"not audio at all", "not an audio file"),
    ],
    ids=["empty", "header-only", "lying-header", "broken-riff", "text"],
)
def test_files_without_samples_are_refused(
    factory: sessionmaker[Session], tenants, settings: Settings, data: bytes, message: str
) -> None:
    with transaction(factory) as s, pytest.raises(audio_store.AudioRejected, match=message):
        audio_store.upload(s, settings, tenants.a, "silence", data)
    assert leftovers(settings, tenants.a) == []
    assert not (audio_store.uploads_dir(settings, tenants.a) / "silence.wav").exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_three_hours_are_refused_from_the_header_without_converting(
    factory: sessionmaker[Session], tenants, settings: Settings, tmp_path: Path
) -> None:
    # Three hours of silence in FLAC: about 100 kB, well under the size limit.
    source = tmp_path / "long.flac"
    with soundfile.SoundFile(str(source), "w", samplerate=1000, channels=1, format="FLAC",
                             subtype="PCM_16") as f:
        minute = np.zeros(60_000, dtype="int16")
        for _ in range(180):
            f.write(minute)
    data = source.read_bytes()
    assert len(data) < audio_store.MAX_BYTES
    started = time.monotonic()
    with transaction(factory) as s, pytest.raises(audio_store.AudioRejected, match="10800 s long"):
        # A conversion under this timeout would fail with "converting took over": the
        # message proves the length was read first and nothing was converted.
        audio_store.upload(s, settings, tenants.a, "long", data, timeout_s=0.001)
    assert time.monotonic() - started < 10  # reading a header, not decoding 3 hours
    assert leftovers(settings, tenants.a) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_conversion_over_the_timeout_is_refused_and_cleaned_up(
    factory: sessionmaker[Session], tenants, settings: Settings
) -> None:
    with transaction(factory) as s, pytest.raises(audio_store.AudioRejected,
                                                  match="converting took over"):
        audio_store.upload(s, settings, tenants.a, "slow", wav(30), timeout_s=0.0001)
    assert leftovers(settings, tenants.a) == []
    assert not (audio_store.uploads_dir(settings, tenants.a) / "slow.wav").exists()
