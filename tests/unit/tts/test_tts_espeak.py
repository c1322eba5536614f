"""espeak-ng engine: a real WAV Asterisk can play, cached by voice and text, voices mapped."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from controlplane.tts import EspeakEngine, TtsError, cache_key, espeak_voice, media_uri
from ivr_flows.tts import TtsEngine


class CountingRun:
    """``subprocess.run`` that counts the commands it runs, by program."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, command: list[str], **kw: Any) -> subprocess.CompletedProcess[bytes]:
        self.calls.append(Path(command[0]).name)
        return subprocess.run(command, **kw)


def test_synthesises_8khz_mono_16bit_wav(tmp_path: Path) -> None:
    engine = EspeakEngine(tmp_path / "tts")
    base = engine.synthesize("Dzień dobry, tu Centrala.", "pl")
    assert base.is_absolute() and base.suffix == "" and base.parent == tmp_path / "tts"
    wav = base.with_name(base.name + ".wav")
    with wave.open(str(wav)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        seconds = w.getnframes() / w.getframerate()
        frames = w.readframes(w.getnframes())
    assert 0.8 < seconds < 6
    assert max(frames[1::2]) > 8  # not silence: high bytes of real samples move
    assert media_uri(base) == f"sound:{base}"
    assert media_uri(wav) == f"sound:{base}"
    assert base.name == cache_key("Dzień dobry, tu Centrala.", "pl")
    assert wav.stat().st_mode & 0o444 == 0o444  # readable by Asterisk's own user
    assert list((tmp_path / "tts").iterdir()) == [wav]  # no temporary files left


def test_cache_hit_does_not_run_espeak_again(tmp_path: Path) -> None:
    run = CountingRun()
    engine: TtsEngine = EspeakEngine(tmp_path, run=run)
    first = engine.synthesize("Witamy", "pl")
    mtime = first.with_suffix(".wav").stat().st_mtime_ns
    assert run.calls == ["espeak-ng", "sox"]
    assert engine.synthesize("Witamy", "pl-PL") == first  # same espeak voice, same file
    assert run.calls == ["espeak-ng", "sox"]
    assert first.with_suffix(".wav").stat().st_mtime_ns == mtime
    other_voice = engine.synthesize("Witamy", "de")
    other_text = engine.synthesize("Witamy!", "pl")
    assert len({first, other_voice, other_text}) == 3
    assert run.calls.count("espeak-ng") == 3


def test_text_is_passed_on_stdin_not_as_an_option(tmp_path: Path) -> None:
    base = EspeakEngine(tmp_path).synthesize("--help -v xx", "en")
    assert base.with_suffix(".wav").stat().st_size > 1000


@pytest.mark.parametrize(
    "code, voice",
    [
        ("pl", "pl"),
        ("pl-PL", "pl"),
        ("en", "en-gb"),
        ("en-US", "en-us"),
        ("en_GB", "en-gb"),
        ("de-AT", "de"),
        ("fr", "fr-fr"),
        ("pt-BR", "pt-br"),
        ("uk-UA", "uk"),
        ("no", "nb"),
        ("ja", "ja"),
    ],
)
def test_voice_mapping(code: str, voice: str) -> None:
    assert espeak_voice(code) == voice


def test_unknown_voice_fails_with_what_espeak_said(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="espeak-ng exited with 1: .*voice does not exist"):
        EspeakEngine(tmp_path).synthesize("hello", "zz-nope")
    assert not list(tmp_path.glob("*.wav"))


def test_missing_program_is_a_tts_error(tmp_path: Path) -> None:
    with pytest.raises(TtsError, match="no-such-espeak failed"):
        EspeakEngine(tmp_path, espeak="no-such-espeak").synthesize("hello", "en")
