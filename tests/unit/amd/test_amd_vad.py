"""Speech gate: noise-floor adaptation and the foreground reference (synthetic levels)."""

from __future__ import annotations

import numpy as np

from amd.vad import SpeechGate, VadConfig


class _AlwaysSpeech:
    def is_speech(self, frame: bytes, rate: int) -> bool:
        return True


def _gate(**kw) -> SpeechGate:
    gate = SpeechGate(8000, VadConfig(**kw))
    gate._vad = _AlwaysSpeech()  # type: ignore[assignment]  # isolate the level logic
    return gate


def _feed(gate: SpeechGate, levels: list[float]) -> list[bool]:
    return [gate.update(b"", lv, False)[0] for lv in levels]


def test_quiet_background_after_a_loud_voice_is_not_speech():
    gate = _gate()
    _feed(gate, [-60.0] * 20)  # line noise: floor ≈ -60
    assert all(_feed(gate, [-15.0] * 25))  # the person says hello
    assert gate.foreground > -20.0
    assert not any(_feed(gate, [-38.0] * 25))  # TV 23 dB below the voice


def test_background_switching_on_lifts_the_floor():
    """Babble starting right after a silent ring-back gap freezes the learnt floor;
    the minimum-statistics floor lifts it anyway."""
    gate = _gate(fg_db=0.0)
    _feed(gate, [-70.0] * 30)
    rng = np.random.default_rng(0)
    raws = _feed(gate, list(-35.0 + 3.0 * rng.standard_normal(300)))
    assert gate.noise_floor > -45.0
    assert sum(raws[-100:]) < 20  # mostly background again after a few seconds


def test_louder_voice_after_background_is_a_jump_and_strong():
    gate = _gate()
    _feed(gate, [-60.0] * 20 + [-40.0] * 30)
    _feed(gate, [-22.0])
    assert gate.jump and gate.strong
    _feed(gate, [-22.0] * 10 + [-38.0])
    assert not gate.strong and not gate.jump
