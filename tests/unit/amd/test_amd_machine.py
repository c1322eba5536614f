"""Pure decision machine: table of frame sequences and the outcome they must produce."""

from __future__ import annotations

import pytest

from amd import machine
from amd.machine import MachineConfig, Obs, ScoreRequest, State
from amd.verdict import Label, Verdict

CFG = MachineConfig(long_ms=3000, gap_ms=750, initial_silence_ms=5000, max_analysis_ms=8000)
SIL = Obs(20, False, False)
SPK = Obs(20, True, True)
HANG = Obs(20, False, True)  # hangover frame: not raw speech, still in the segment


def run(frames: list[Obs]):
    state = State()
    for obs in frames:
        state, out = machine.step(state, obs, CFG)
        if out is not None:
            return out
    return None


CASES = [
    ("SIT wins at once", [SIL] * 3 + [Obs(20, False, False, "SIT")], ("MACHINE", "SIT", 80)),
    (
        "beep before speech is ringback",
        [SIL] * 5 + [Obs(20, False, False, "BEEP")] + [SIL] * 5,
        None,
    ),
    (
        "beep after speech",
        [SIL] * 5 + [SPK] * 20 + [SIL] * 10 + [Obs(20, False, False, "BEEP")],
        ("MACHINE", "BEEP-400", 720),
    ),
    ("long greeting", [SIL] * 10 + [SPK] * 200, ("MACHINE", "LONGGREETING-3000-3000", 3200)),
    ("nobody speaks", [SIL] * 300, ("NOTSURE", "INITIALSILENCE-5000", 5000)),
]


@pytest.mark.parametrize(("name", "frames", "want"), CASES, ids=[c[0] for c in CASES])
def test_rules(name, frames, want):
    out = run(frames)
    if want is None:
        assert out is None
    else:
        assert isinstance(out, Verdict)
        assert (out.label.value, out.cause, out.decision_ms) == want


def test_pause_after_short_greeting_asks_for_a_score_then_resolves():
    frames = [SIL] * 10 + [SPK] * 30 + [HANG] * 8 + [SIL] * 40
    state = State()
    for obs in frames:
        state, out = machine.step(state, obs, CFG)
        if out is not None:
            break
    assert isinstance(out, ScoreRequest)
    assert out.timing.span_ms == 600 and out.timing.silence_ms == 760
    _, human = machine.resolve(state, out, -1.0)
    _, robot = machine.resolve(state, out, +1.0)
    assert (human.label, robot.label) == (Label.HUMAN, Label.MACHINE)


def test_pause_is_deferred_while_a_tone_is_under_way():
    frames = [SIL] * 10 + [SPK] * 30 + [Obs(20, False, False, None, 200)] * 60
    assert run(frames) is None


def test_timing_features():
    frames = [SIL] * 10 + [SPK] * 20 + [SIL] * 25 + [SPK] * 10 + [SIL] * 5
    state = State()
    for obs in frames:
        state, _ = machine.step(state, obs, MachineConfig(gap_ms=10**6))
    tm = state.timing
    assert tm.first_speech_ms == 200 and tm.first_utt_ms == 400
    assert tm.seg_count == 2 and tm.longest_seg_ms == 400
    assert tm.resume_ms == 1100 and tm.pause_after_first_ms == 500
    assert tm.speech_ms == 600


def _run_cfg(frames: list[Obs], cfg: MachineConfig):
    state = State()
    for obs in frames:
        state, out = machine.step(state, obs, cfg)
        if out is not None:
            return out
    return None


def test_background_behind_a_short_hello_is_human_not_long_greeting():
    """'Hello?' at the voice's level, then babble that the gate still takes for speech."""
    cfg = MachineConfig(long_ms=3000, gap_ms=750, long_strong=0.2)
    loud = Obs(20, True, True, strong=True)
    babble = Obs(20, True, True, strong=False)
    out = _run_cfg([SIL] * 10 + [loud] * 25 + [babble] * 200, cfg)
    assert isinstance(out, Verdict)
    assert out.label is Label.HUMAN and out.cause.startswith("BACKGROUND-")


def test_long_greeting_at_the_voice_level_stays_machine_with_long_strong():
    cfg = MachineConfig(long_ms=3000, gap_ms=750, long_strong=0.2)
    out = _run_cfg([SIL] * 10 + [Obs(20, True, True, strong=True)] * 200, cfg)
    assert isinstance(out, Verdict)
    assert (out.label, out.cause) == (Label.MACHINE, "LONGGREETING-3000-3000")


def test_foreground_jump_restarts_the_strong_count():
    """Babble taken for the voice, then a much louder voice: the babble was background."""
    babble = Obs(20, True, True, strong=True)
    frames = [SIL] * 10 + [babble] * 50 + [Obs(20, True, True, strong=True, fg_jump=True)]
    state = State()
    for obs in frames:
        state, _ = machine.step(state, obs, MachineConfig(gap_ms=10**6))
    assert state.timing.strong_ms == 20 and state.timing.speech_ms == 1020
