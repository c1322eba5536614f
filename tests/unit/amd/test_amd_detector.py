"""StreamingDetector end to end on generated audio, at 8 kHz (320 B) and 16 kHz (640 B)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from amd.audio import frame_bytes
from amd.detector import DetectorConfig, StreamingDetector, detect
from amd.signals import silence, speech, tone
from amd.verdict import Label

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
GREETING = (
    "Hi, you have reached John Smith. I can't take your call right now. "
    "Please leave your name and number after the tone."
)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_short_hello_then_silence_is_human(rate):
    sig = np.concatenate([silence(0.6, rate), speech("Hello?", rate), silence(3.0, rate)])
    v = detect(sig, rate)
    assert v.label is Label.HUMAN, v
    assert v.decision_ms <= 0.6 * 1000 + 1000 + 1000  # within 1 s of the hello's end


@pytest.mark.parametrize("rate", [8000, 16000])
def test_long_greeting_with_beep_is_machine(rate):
    sig = np.concatenate(
        [
            silence(0.4, rate),
            speech(GREETING, rate),
            silence(0.3, rate),
            tone(1000, 0.5, rate),
            silence(1, rate),
        ]
    )
    v = detect(sig, rate)
    assert v.label is Label.MACHINE, v
    assert v.cause.startswith(("LONGGREETING", "BEEP"))


def test_short_greeting_with_beep_is_machine_by_beep():
    rate = 8000
    sig = np.concatenate(
        [
            silence(0.4, rate),
            speech("Leave a message.", rate),
            silence(0.3, rate),
            tone(1000, 0.4, rate),
            silence(1, rate),
        ]
    )
    v = detect(sig, rate)
    assert (v.label, v.cause.split("-")[0]) == (Label.MACHINE, "BEEP")


@pytest.mark.parametrize(("rate", "size"), [(8000, 320), (16000, 640)])
def test_frame_sizes_and_sticky_verdict(rate, size):
    assert frame_bytes(rate) == size
    det = StreamingDetector(rate)
    sig = np.concatenate([silence(0.5, rate), speech("Hello?", rate), silence(2.0, rate)]).tobytes()
    verdicts = [det.feed(sig[i : i + size]) for i in range(0, len(sig) - size + 1, size)]
    first = next(v for v in verdicts if v is not None)
    assert all(v is first for v in verdicts[verdicts.index(first) :])
    assert det.finish() is first


def test_bias_moves_the_decision():
    rate = 8000
    sig = np.concatenate(
        [silence(0.5, rate), speech("Yes, Kowalski speaking.", rate), silence(2.0, rate)]
    )
    assert detect(sig, rate, DetectorConfig(machine_bias=-20.0)).label is Label.HUMAN
    assert detect(sig, rate, DetectorConfig(machine_bias=+20.0)).label is Label.MACHINE


def test_silence_only_is_notsure_and_bad_rate_is_rejected():
    assert detect(silence(6.0, 8000), 8000).label is Label.NOTSURE
    with pytest.raises(ValueError):
        StreamingDetector(44100)
