"""AMD decision logic: a pure ``step(state, obs, cfg) -> (state, outcome)`` machine.

Theory of operation (rules are tried in this order on every frame):

=====================  ==========================================  =========
condition              meaning                                     verdict
=====================  ==========================================  =========
SIT tone               carrier special-information tone            MACHINE
BEEP after speech      voicemail beep ends the greeting            MACHINE
span ≥ long_ms and     greeting keeps going without a long pause   MACHINE
 strong ≥ long_strong  at the voice's own level
span ≥ long_ms, weak,  long "greeting" is mostly a quieter         HUMAN
 voice quiet gap_ms    background (babble, TV) behind a short one
silence ≥ gap_ms       first pause after speech: *score it*        model
                       (deferred while a steady tone is under way)
no speech by initial   nobody talks                                NOTSURE
t ≥ max_analysis_ms    give up                                     NOTSURE
=====================  ==========================================  =========

"Score it" is returned as a :class:`ScoreRequest`; the caller computes the
model's log-odds (timing features plus spectral features of the first
utterance) and calls :func:`resolve`.  This keeps the machine free of I/O and
of numerics beyond comparisons.  A beep heard before any speech is ignored: it
is the tail of ringback or early media, not a voicemail beep.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from amd import timing
from amd.timing import Timing
from amd.verdict import Label, Verdict


@dataclass(frozen=True, slots=True)
class MachineConfig:
    """Decision thresholds (ms). ``long_ms``/``gap_ms`` come from the model by default."""

    long_ms: int = 3000
    gap_ms: int = 750
    long_strong: float = 0.0  # min strong_fraction for LONGGREETING (0: span alone)
    initial_silence_ms: int = 5000
    max_analysis_ms: int = 8000


@dataclass(frozen=True, slots=True)
class Obs:
    """What the signal front end saw in one frame."""

    frame_ms: int
    raw_speech: bool
    active: bool
    tone_event: str | None = None
    tone_ms: int = 0  # steady tone in progress (a beep may be under way)
    strong: bool | None = None  # raw speech at the foreground level (None: same as raw)
    fg_jump: bool = False  # a voice much louder than the foreground so far


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """The machine wants the model's log-odds for the greeting heard so far."""

    timing: Timing
    cause: str


@dataclass(frozen=True, slots=True)
class State:
    """Timing features plus the verdict once decided."""

    timing: Timing = Timing()
    verdict: Verdict | None = None


Outcome = Verdict | ScoreRequest | None


def step(state: State, obs: Obs, cfg: MachineConfig) -> tuple[State, Outcome]:
    """Advance by one frame; a decided machine ignores further frames."""
    if state.verdict is not None:
        return state, None
    tm = timing.update(
        state.timing, obs.raw_speech, obs.active, obs.frame_ms, obs.strong, obs.fg_jump
    )
    state = dataclasses.replace(state, timing=tm)
    t = tm.t_ms
    if obs.tone_event == "SIT":
        return _decide(state, Label.MACHINE, "SIT")
    if obs.tone_event == "BEEP" and tm.heard_speech:
        return _decide(state, Label.MACHINE, f"BEEP-{tm.span_ms}")
    if tm.heard_speech:
        if tm.span_ms >= cfg.long_ms:
            frac = tm.strong_fraction
            if frac >= cfg.long_strong:
                cause = f"LONGGREETING-{tm.span_ms}-{cfg.long_ms}"
                return _decide(state, Label.MACHINE, cause)
            if tm.strong_silence_ms >= cfg.gap_ms:
                cause = f"BACKGROUND-{tm.span_ms}-{tm.strong_silence_ms}-{frac:.2f}"
                return _decide(state, Label.HUMAN, cause)
        if not obs.active and tm.silence_ms >= cfg.gap_ms and obs.tone_ms < 60:
            return state, ScoreRequest(tm, f"PAUSE-{tm.span_ms}-{tm.silence_ms}")
    elif t >= cfg.initial_silence_ms:
        return _decide(state, Label.NOTSURE, f"INITIALSILENCE-{t}")
    if t >= cfg.max_analysis_ms:
        return _decide(state, Label.NOTSURE, f"TOOLONG-{t}")
    return state, None


def resolve(state: State, request: ScoreRequest, logit: float) -> tuple[State, Verdict]:
    """Turn the model's log-odds for ``request`` into a verdict (logit ≥ 0 → MACHINE)."""
    label = Label.MACHINE if logit >= 0.0 else Label.HUMAN
    new, verdict = _decide(state, label, f"{request.cause}-{logit:+.2f}")
    assert verdict is not None
    return new, verdict


def finish(state: State) -> tuple[State, Outcome]:
    """End of audio: score what was heard, or NOTSURE when there was no speech."""
    if state.verdict is not None:
        return state, state.verdict
    tm = state.timing
    if not tm.heard_speech:
        return _decide(state, Label.NOTSURE, f"NOSPEECH-{tm.t_ms}")
    return state, ScoreRequest(tm, f"END-{tm.span_ms}-{tm.silence_ms}")


def _decide(state: State, label: Label, cause: str) -> tuple[State, Verdict]:
    verdict = Verdict(label, cause, state.timing.t_ms)
    return dataclasses.replace(state, verdict=verdict), verdict
