"""Text to speech with espeak-ng, cached on disk, and the per-tenant monthly character meter.

:class:`EspeakEngine` implements :class:`ivr_flows.tts.TtsEngine`: espeak-ng
speaks the text into a WAV, sox turns it into what Asterisk plays without
transcoding (8 kHz, mono, 16-bit signed PCM), and the result is kept as
``<cache_dir>/<sha256>.wav`` where the hash covers the voice and the text. The
engine returns the path WITHOUT the ``.wav`` extension: Asterisk picks the file
format itself, so the ARI media URI is ``sound:`` + that absolute path (see
:func:`media_uri`). The cache directory must be inside the runtime folder, which
is mounted into the Asterisk root at the same absolute path.

:class:`TtsMeter` adds billable characters to ``tts_usage`` (one row per tenant
and UTC calendar month) with an upsert, so concurrent calls never lose a count.
Which characters are billable is decided in :mod:`ivr_flows.tts`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from controlplane.config import Settings
from controlplane.ivr.exceptions import TtsError as TtsError
from controlplane.models.ivr import TtsUsage
from ivr_flows.model import Flow
from ivr_flows.tts import TtsEngine, static_prompts

log = logging.getLogger(__name__)

# Flow voices and languages (ISO 639-1, optionally with a region) to espeak-ng voices.
VOICES: dict[str, str] = {
    "pl": "pl",
    "en": "en-gb",
    "en-gb": "en-gb",
    "en-us": "en-us",
    "de": "de",
    "fr": "fr-fr",
    "fr-fr": "fr-fr",
    "fr-be": "fr-be",
    "fr-ch": "fr-ch",
    "es": "es",
    "es-419": "es-419",
    "it": "it",
    "pt": "pt",
    "pt-br": "pt-br",
    "nl": "nl",
    "cs": "cs",
    "sk": "sk",
    "uk": "uk",
    "ru": "ru",
    "lt": "lt",
    "lv": "lv",
    "et": "et",
    "hu": "hu",
    "ro": "ro",
    "sv": "sv",
    "nb": "nb",
    "no": "nb",
    "da": "da",
    "fi": "fi",
}
SAMPLE_RATE = 8000
TIMEOUT_S = 30.0

Runner = Callable[..., "subprocess.CompletedProcess[bytes]"]


def cache_dir(settings: Settings) -> Path:
    """Where synthesised prompts live: inside the platform instance's runtime folder."""
    return settings.runtime_dir / "platform" / "sounds" / "tts"


def prefetch(engine: TtsEngine, flow: Flow) -> int:
    """Synthesise the flow's static prompts now (at deploy), so no caller waits; returns how many."""
    prompts = sorted(static_prompts(flow))
    for text, voice in prompts:
        engine.synthesize(text, voice)
    return len(prompts)


def espeak_voice(voice: str) -> str:
    """The espeak-ng voice for a flow's ``voice``/language code (``pl``, ``pl-PL``, ``en-US``).

    Unknown codes are passed to espeak-ng as their language part, which knows
    about a hundred languages by their ISO code; it fails loudly on the rest.
    """
    code = voice.strip().lower().replace("_", "-")
    if code in VOICES:
        return VOICES[code]
    language = code.split("-", 1)[0]
    return VOICES.get(language, language)


def cache_key(text: str, voice: str) -> str:
    """sha256 over the voice and the text (a NUL between them, so the split is unambiguous)."""
    return hashlib.sha256(f"{voice}\0{text}".encode()).hexdigest()


def media_uri(path: Path) -> str:
    """The ARI media URI of a synthesised file (``sound:/abs/path`` without extension)."""
    return "sound:" + str(path.with_suffix("") if path.suffix == ".wav" else path)


class EspeakEngine:
    """espeak-ng + sox, cached by ``sha256(voice, text)`` under ``cache_dir``.

    ``run`` is how commands are executed (``subprocess.run``); tests pass a
    counting wrapper. Safe to call from several threads: each synthesis writes a
    temporary file and renames it into place.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        espeak: str = "espeak-ng",
        sox: str = "sox",
        speed_wpm: int | None = None,
        timeout_s: float = TIMEOUT_S,
        run: Runner = subprocess.run,
    ) -> None:
        self.cache_dir = Path(cache_dir).resolve()
        self.espeak = espeak
        self.sox = sox
        self.speed_wpm = speed_wpm
        self.timeout_s = timeout_s
        self.run = run

    def path_for(self, text: str, voice: str) -> Path:
        """Where ``text`` in ``voice`` is (or will be) cached, without ``.wav``."""
        return self.cache_dir / cache_key(text, espeak_voice(voice))

    def synthesize(self, text: str, voice: str) -> Path:
        """Return the cached file's path without extension, synthesising it on a miss."""
        base = self.path_for(text, voice)
        wav = base.with_name(base.name + ".wav")
        if wav.is_file():
            return base
        if not self.cache_dir.is_dir():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            # Asterisk runs as another user: it must be able to walk in and read.
            self.cache_dir.chmod(0o755)
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".tts-") as tmp:
            raw = Path(tmp) / "espeak.wav"
            out = Path(tmp) / "out.wav"
            command = [self.espeak, "-v", espeak_voice(voice), "-w", str(raw), "--stdin"]
            if self.speed_wpm:
                command[1:1] = ["-s", str(self.speed_wpm)]
            self._call(command, text.encode("utf-8"))
            self._call(
                [self.sox, str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                 "-e", "signed-integer", str(out)],
                None,
            )  # fmt: skip
            out.chmod(0o644)
            os.replace(out, wav)
        log.debug("tts %s (%s): %d characters", wav.name, voice, len(text))
        return base

    def _call(self, command: Sequence[str], stdin: bytes | None) -> None:
        try:
            result = self.run(
                list(command),
                input=stdin,
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise TtsError(f"{command[0]} failed: {err}") from err
        if result.returncode != 0:
            said = (result.stderr or b"").decode("utf-8", "replace").strip()
            raise TtsError(f"{command[0]} exited with {result.returncode}: {said[:300]}")


def month_of(now: datetime) -> str:
    """'YYYY-MM' of ``now`` in UTC (the billing month)."""
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the TTS meter")
    return now.astimezone(UTC).strftime("%Y-%m")


class TtsMeter:
    """Billable TTS characters per tenant per month, kept in ``tts_usage``."""

    def add(self, session: Session, tenant_id: int, chars: int, now: datetime) -> None:
        """Add ``chars`` to the tenant's count for the month of ``now`` (insert or update)."""
        if chars < 0:
            raise ValueError("billable characters cannot be negative")
        if chars == 0:
            return
        month = month_of(now)
        dialect = session.get_bind().dialect.name
        values: dict[str, Any] = {"tenant_id": tenant_id, "month": month, "characters": chars}
        if dialect in ("sqlite", "postgresql"):
            insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
            stmt = insert(TtsUsage).values(**values)
            stmt = stmt.on_conflict_do_update(
                index_elements=[TtsUsage.tenant_id, TtsUsage.month],
                set_={"characters": TtsUsage.characters + stmt.excluded.characters},
            )
            session.execute(stmt)
            return
        row = session.scalar(  # other databases: plain read-modify-write
            select(TtsUsage).where(TtsUsage.tenant_id == tenant_id, TtsUsage.month == month)
        )
        if row is None:
            session.add(TtsUsage(**values))
        else:
            row.characters += chars
        session.flush()

    def usage(self, session: Session, tenant_id: int, month: str) -> int:
        """Characters billed to the tenant in ``month`` ('YYYY-MM'); 0 when none."""
        count = session.scalar(
            select(TtsUsage.characters).where(
                TtsUsage.tenant_id == tenant_id, TtsUsage.month == month
            )
        )
        return int(count or 0)
