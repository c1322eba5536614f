"""Faithful re-implementation of Asterisk's ``app_amd`` (apps/app_amd.c) as a baseline.

Theory of operation (same algorithm as ``isAnsweringMachine`` in app_amd.c):

* every voice frame goes through ``ast_dsp_silence``: the frame is *silent* when
  the average absolute sample value is below ``silence_threshold``; the DSP keeps
  a running ``totalsilence`` (ms) that resets on any non-silent frame;
* the total analysis time is advanced first; reaching ``total_analysis_time``
  ends with NOTSURE / ``TOOLONG-<ms>``;
* a silent frame: once silence ≥ ``between_words_silence`` the state becomes
  IN_SILENCE and the word run resets; during the initial silence, silence ≥
  ``initial_silence`` → MACHINE ``INITIALSILENCE``; after the first word,
  silence ≥ ``after_greeting_silence`` → HUMAN ``HUMAN``;
* a voiced frame adds to the word run and the total voice; a run reaching
  ``min_word_length`` coming from IN_SILENCE counts a word; a run reaching
  ``maximum_word_length`` → MACHINE ``MAXWORDLENGTH``; the word count reaching
  ``maximum_number_of_words`` → MACHINE ``MAXWORDS``; total voice reaching
  ``greeting`` while in the greeting → MACHINE ``LONGGREETING``.

Asterisk quirk kept on purpose: the machine starts in STATE_IN_WORD, so the
first word is only counted after a first ``between_words_silence`` of silence.

Defaults are those of ``amd.conf.sample`` (the C code's built-in word limit is
3; the shipped sample config and the issue use 2).  Audio is analysed at the
rate it arrives; Asterisk itself reads 8 kHz slin, and the evaluation resamples
to 8 kHz for this baseline.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from amd.verdict import Label, Verdict

STATE_IN_WORD = 1
STATE_IN_SILENCE = 2


@dataclass(frozen=True, slots=True)
class AppAmdConfig:
    """The nine app_amd parameters (ms unless stated)."""

    initial_silence: int = 2500
    greeting: int = 1500
    after_greeting_silence: int = 800
    total_analysis_time: int = 5000
    min_word_length: int = 100
    between_words_silence: int = 50
    maximum_number_of_words: int = 2
    silence_threshold: int = 256  # average |sample| on the 16-bit scale
    maximum_word_length: int = 5000


@dataclass(frozen=True, slots=True)
class AppAmdState:
    """All mutable variables of ``isAnsweringMachine`` plus the DSP's totalsilence."""

    in_initial_silence: bool = True
    in_greeting: bool = False
    voice_duration: int = 0
    silence_duration: int = 0
    total_time: int = 0
    words: int = 0
    current_state: int = STATE_IN_WORD
    consecutive_voice: int = 0
    dsp_total_silence: int = 0
    verdict: Verdict | None = None


def frame_is_silent(samples: np.ndarray, threshold: int) -> bool:
    """``ast_dsp_silence``: average absolute amplitude (integer division) below threshold."""
    if samples.size == 0:
        return True
    accum = int(np.abs(samples.astype(np.int32)).sum()) // samples.size
    return accum < threshold


def step(state: AppAmdState, silent: bool, frame_ms: int, cfg: AppAmdConfig) -> AppAmdState:
    """Advance app_amd by one voice frame; a decided state is returned unchanged."""
    if state.verdict is not None:
        return state
    s = dataclasses.replace(state, total_time=state.total_time + frame_ms)
    if s.total_time >= cfg.total_analysis_time:
        return _decide(s, Label.NOTSURE, f"TOOLONG-{s.total_time}")

    if silent:
        dsp = s.dsp_total_silence + frame_ms
        s = dataclasses.replace(s, dsp_total_silence=dsp, silence_duration=dsp)
        if s.silence_duration >= cfg.between_words_silence:
            s = dataclasses.replace(s, current_state=STATE_IN_SILENCE, consecutive_voice=0)
        if s.in_initial_silence and s.silence_duration >= cfg.initial_silence:
            cause = f"INITIALSILENCE-{s.silence_duration}-{cfg.initial_silence}"
            return _decide(s, Label.MACHINE, cause)
        if s.silence_duration >= cfg.after_greeting_silence and s.in_greeting:
            cause = f"HUMAN-{s.silence_duration}-{cfg.after_greeting_silence}"
            return _decide(s, Label.HUMAN, cause)
        return s

    s = dataclasses.replace(
        s,
        dsp_total_silence=0,
        consecutive_voice=s.consecutive_voice + frame_ms,
        voice_duration=s.voice_duration + frame_ms,
    )
    if s.consecutive_voice >= cfg.min_word_length and s.current_state == STATE_IN_SILENCE:
        s = dataclasses.replace(s, words=s.words + 1, current_state=STATE_IN_WORD)
    if s.consecutive_voice >= cfg.maximum_word_length:
        return _decide(s, Label.MACHINE, f"MAXWORDLENGTH-{s.consecutive_voice}")
    if s.words >= cfg.maximum_number_of_words:
        cause = f"MAXWORDS-{s.words}-{cfg.maximum_number_of_words}"
        return _decide(s, Label.MACHINE, cause)
    if s.in_greeting and s.voice_duration >= cfg.greeting:
        cause = f"LONGGREETING-{s.voice_duration}-{cfg.greeting}"
        return _decide(s, Label.MACHINE, cause)
    if s.voice_duration >= cfg.min_word_length:
        s = dataclasses.replace(s, silence_duration=0)
    if s.consecutive_voice >= cfg.min_word_length and not s.in_greeting:
        s = dataclasses.replace(s, in_initial_silence=False, in_greeting=True)
    return s


def _decide(state: AppAmdState, label: Label, cause: str) -> AppAmdState:
    return dataclasses.replace(state, verdict=Verdict(label, cause, state.total_time))


class AppAmdDetector:
    """Streaming wrapper with the same ``feed``/``finish`` API as ``StreamingDetector``."""

    def __init__(self, sample_rate: int = 8000, config: AppAmdConfig | None = None) -> None:
        if sample_rate % 1000:
            raise ValueError(f"sample_rate must be a multiple of 1000 Hz, got {sample_rate}")
        self.sample_rate = sample_rate
        self.config = config or AppAmdConfig()
        self.state = AppAmdState()

    @property
    def verdict(self) -> Verdict | None:
        """The decision taken so far, if any."""
        return self.state.verdict

    def feed(self, frame: bytes) -> Verdict | None:
        """Analyse one frame of signed-linear 16-bit little-endian audio."""
        samples = np.frombuffer(frame, dtype="<i2")
        frame_ms = samples.size * 1000 // self.sample_rate
        silent = frame_is_silent(samples, self.config.silence_threshold)
        self.state = step(self.state, silent, frame_ms, self.config)
        return self.state.verdict

    def finish(self) -> Verdict:
        """End of audio: app_amd's ``ast_waitfor`` timeout path gives NOTSURE/TOOLONG."""
        if self.state.verdict is None:
            cause = f"TOOLONG-{self.state.total_time}"
            self.state = _decide(self.state, Label.NOTSURE, cause)
        assert self.state.verdict is not None
        return self.state.verdict
