"""Tone tracker: voicemail beeps and SIT, and no false alarms on speech or melody."""

from __future__ import annotations

import numpy as np
import pytest

from amd.audio import dbfs
from amd.signals import silence, speech, tone
from amd.tones import ToneTracker, analyse_frame


def events(signal: np.ndarray, rate: int) -> list[tuple[str, int]]:
    tracker = ToneTracker(rate)
    n = rate // 50
    out = []
    for i in range(0, signal.size - n + 1, n):
        frame = signal[i : i + n]
        _, ev = tracker.update(frame, dbfs(frame), (i // n + 1) * 20, 20)
        if ev:
            out.append((ev, (i // n + 1) * 20))
    return out


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize(("freq", "dur"), [(1000, 0.5), (440, 0.2), (1800, 0.12), (850, 1.0)])
def test_beep_then_quiet_is_found(rate, freq, dur):
    sig = np.concatenate([silence(0.3, rate), tone(freq, dur, rate), silence(0.5, rate)])
    evs = events(sig, rate)
    assert evs and evs[0][0] == "BEEP"
    assert abs(evs[0][1] - (300 + dur * 1000)) <= 60


@pytest.mark.parametrize(("freq", "dur"), [(1000, 0.06), (250, 0.5), (3000, 0.5)])
def test_too_short_or_out_of_band_is_not_a_beep(freq, dur):
    sig = np.concatenate([silence(0.3, 8000), tone(freq, dur, 8000), silence(0.5, 8000)])
    assert events(sig, 8000) == []


def test_melody_is_not_a_beep():
    notes = [tone(f, 0.25, 8000) for f in (440, 554, 659, 880, 659, 554)]
    assert events(np.concatenate([silence(0.2, 8000), *notes]), 8000) == []


@pytest.mark.parametrize("rate", [8000, 16000])
def test_speech_is_not_tonal(rate):
    sig = speech("Hello, you have reached John. Please leave a message.", rate)
    assert events(sig, rate) == []


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("first", [913.8, 985.2])
def test_sit_is_found(rate, first):
    sit = [tone(f, d, rate) for f, d in ((first, 0.274), (1370.6, 0.274), (1776.7, 0.380))]
    evs = events(np.concatenate([silence(0.2, rate), *sit, silence(0.5, rate)]), rate)
    assert evs and evs[0][0] == "SIT"
    assert "BEEP" not in [e for e, _ in evs]


def test_frequency_estimate():
    purity, hz = analyse_frame(tone(1000, 0.02, 8000), 8000)
    assert purity > 0.9 and abs(hz - 1000) < 15
