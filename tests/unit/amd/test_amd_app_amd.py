"""app_amd re-implementation: documented causes on synthetic energy patterns."""

from __future__ import annotations

import numpy as np
import pytest

from amd.app_amd import AppAmdConfig, AppAmdDetector, AppAmdState, frame_is_silent, step
from amd.verdict import Label

RATE = 8000


def pattern(*parts: tuple[str, float]) -> np.ndarray:
    """('v', seconds) = loud noise (avg |x| ≈ 1600), ('s', seconds) = digital silence."""
    rng = np.random.default_rng(0)
    out = []
    for kind, sec in parts:
        n = int(sec * RATE)
        out.append(
            (rng.standard_normal(n) * 2000).astype(np.int16)
            if kind == "v"
            else np.zeros(n, np.int16)
        )
    return np.concatenate(out)


def run(signal: np.ndarray, cfg: AppAmdConfig | None = None):
    det = AppAmdDetector(RATE, cfg)
    for i in range(0, signal.size - 160 + 1, 160):
        v = det.feed(signal[i : i + 160].tobytes())
        if v is not None:
            return v
    return det.finish()


CASES = [
    ("initial silence", pattern(("s", 3.0)), None, Label.MACHINE, "INITIALSILENCE-2500-2500", 2500),
    (
        "long greeting",
        pattern(("s", 0.5), ("v", 3.0)),
        None,
        Label.MACHINE,
        "LONGGREETING-1500-1500",
        2000,
    ),
    (
        "max word length",
        pattern(("s", 0.5), ("v", 3.0)),
        AppAmdConfig(maximum_word_length=1000),
        Label.MACHINE,
        "MAXWORDLENGTH-1000",
        1500,
    ),
    (
        "short word then silence",
        pattern(("s", 0.5), ("v", 0.4), ("s", 1.5)),
        None,
        Label.HUMAN,
        "HUMAN-800-800",
        1700,
    ),
    (
        "many words",
        pattern(("s", 0.3), *[p for _ in range(5) for p in (("v", 0.2), ("s", 0.1))]),
        None,
        Label.MACHINE,
        "MAXWORDS-2-2",
        700,
    ),
    (
        "too long",
        pattern(*[p for _ in range(12) for p in (("s", 0.3), ("v", 0.2))]),
        AppAmdConfig(maximum_number_of_words=100, greeting=100000, after_greeting_silence=1000),
        Label.NOTSURE,
        "TOOLONG-5000",
        5000,
    ),
]


@pytest.mark.parametrize(
    ("name", "signal", "cfg", "label", "cause", "ms"), CASES, ids=[c[0] for c in CASES]
)
def test_documented_causes(name, signal, cfg, label, cause, ms):
    v = run(signal, cfg)
    assert (v.label, v.cause, v.decision_ms) == (label, cause, ms)


def test_silence_is_average_absolute_amplitude_below_threshold():
    assert frame_is_silent(np.full(160, 255, np.int16), 256)
    assert not frame_is_silent(np.full(160, 256, np.int16), 256)
    assert not frame_is_silent(np.array([-300, 300] * 80, np.int16), 256)


def test_decided_state_is_frozen():
    cfg = AppAmdConfig(initial_silence=40)
    s = step(step(AppAmdState(), True, 20, cfg), True, 20, cfg)
    assert s.verdict is not None and s.verdict.label is Label.MACHINE
    assert step(s, False, 20, cfg) is s


def test_end_of_audio_is_notsure():
    assert run(pattern(("s", 1.0))).label is Label.NOTSURE
