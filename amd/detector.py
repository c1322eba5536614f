"""``StreamingDetector``: the live AMD, fed 20 ms slin16 frames as they arrive.

Wiring (no I/O here either): bytes → level, tone tracker, speech gate →
:class:`amd.machine.Obs` → pure :func:`amd.machine.step`.  When the machine asks
for a score, the detector computes the model inputs (timing features and, once
per call, spectral features of the buffered first utterance) and resolves it.

Works at 8 kHz (320-byte frames) and 16 kHz (640-byte frames, as
``chan_websocket`` slin16 delivers).  Other frame sizes that are a multiple of
10 ms are accepted and their length is taken from the byte count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from amd import machine
from amd.audio import SUPPORTED_RATES, dbfs
from amd.model import Model, load_model, timing_vector
from amd.spectral import MAX_SECONDS, spectral_features
from amd.timing import Timing
from amd.tones import ToneConfig, ToneTracker
from amd.vad import SpeechGate, VadConfig
from amd.verdict import Verdict

PRE_ROLL_FRAMES = 5


@dataclass(frozen=True)
class DetectorConfig:
    """Everything tunable. ``machine_bias`` > 0 calls more MACHINE, < 0 more HUMAN."""

    machine_bias: float = 0.0
    long_ms: int | None = None  # None: take the trained value from the model
    gap_ms: int | None = None
    long_strong: float | None = None  # None: from the model
    initial_silence_ms: int = 5000
    max_analysis_ms: int = 8000
    vad: VadConfig = field(default_factory=VadConfig)
    tone: ToneConfig = field(default_factory=ToneConfig)
    model: Model | None = None  # None: amd/model.json


class StreamingDetector:
    """Answering-machine detector for one call; ``feed`` frames, then ``finish``."""

    def __init__(self, sample_rate: int = 8000, config: DetectorConfig | None = None) -> None:
        if sample_rate not in SUPPORTED_RATES:
            raise ValueError(f"sample_rate must be one of {SUPPORTED_RATES}, got {sample_rate}")
        self.sample_rate = sample_rate
        self.config = cfg = config or DetectorConfig()
        self.model = cfg.model or load_model()
        self.machine_cfg = machine.MachineConfig(
            long_ms=cfg.long_ms if cfg.long_ms is not None else self.model.long_ms,
            gap_ms=cfg.gap_ms if cfg.gap_ms is not None else self.model.gap_ms,
            long_strong=cfg.long_strong if cfg.long_strong is not None else self.model.long_strong,
            initial_silence_ms=cfg.initial_silence_ms,
            max_analysis_ms=cfg.max_analysis_ms,
        )
        self.state = machine.State()
        self._gate = SpeechGate(sample_rate, cfg.vad)
        self._tones = ToneTracker(sample_rate, cfg.tone)
        self._pre: list[np.ndarray] = []
        self._utt: list[np.ndarray] = []
        self._utt_samples = 0
        self._max_utt = int(MAX_SECONDS * sample_rate)
        self.last_inputs: dict[str, float] = {}

    @property
    def verdict(self) -> Verdict | None:
        """The decision taken so far, if any."""
        return self.state.verdict

    def feed(self, frame: bytes) -> Verdict | None:
        """Analyse one frame; returns the verdict once decided (and on every later call)."""
        if self.state.verdict is not None:
            return self.state.verdict
        samples = np.frombuffer(frame, dtype="<i2")
        frame_ms = samples.size * 1000 // self.sample_rate
        t_end = self.state.timing.t_ms + frame_ms
        level = dbfs(samples)
        tonal, event = self._tones.update(samples, level, t_end, frame_ms)
        raw, active = (
            self._gate.update(frame, level, tonal)
            if frame_ms in (10, 20, 30)
            else (
                False,
                False,
            )
        )
        self._buffer(samples, active)
        gate = self._gate
        obs = machine.Obs(frame_ms, raw, active, event, self._tones.tone_ms, gate.strong, gate.jump)
        self.state, outcome = machine.step(self.state, obs, self.machine_cfg)
        if isinstance(outcome, machine.ScoreRequest):
            return self._score(outcome)
        return outcome

    def finish(self) -> Verdict:
        """End of audio (hangup): decide with what was heard."""
        self.state, outcome = machine.finish(self.state)
        if isinstance(outcome, machine.ScoreRequest):
            return self._score(outcome)
        assert outcome is not None
        return outcome

    def model_inputs(self, tm: Timing) -> dict[str, float]:
        """Model inputs for the timing ``tm`` and the buffered first utterance."""
        inputs = timing_vector(tm)
        if self.model.uses_spectral and self._utt:
            inputs.update(spectral_features(np.concatenate(self._utt), self.sample_rate))
        return inputs

    def _score(self, request: machine.ScoreRequest) -> Verdict:
        self.last_inputs = self.model_inputs(request.timing)
        logit = self.model.logit(self.last_inputs, self.config.machine_bias)
        self.state, verdict = machine.resolve(self.state, request, logit)
        return verdict

    def _buffer(self, samples: np.ndarray, active: bool) -> None:
        """Keep up to MAX_SECONDS of audio from just before the first speech onset."""
        tm = self.state.timing
        if not tm.heard_speech and not active:
            self._pre = [*self._pre[-(PRE_ROLL_FRAMES - 1) :], samples]
            return
        if tm.first_utt_end_ms >= 0 or self._utt_samples >= self._max_utt:
            return
        if not self._utt:
            self._utt = list(self._pre)
            self._utt_samples = sum(p.size for p in self._pre)
        self._utt.append(samples)
        self._utt_samples += samples.size


def detect(samples: np.ndarray, sample_rate: int, config: DetectorConfig | None = None) -> Verdict:
    """Stream a whole int16 signal through a fresh detector (for tests and tools)."""
    det = StreamingDetector(sample_rate, config)
    n = sample_rate // 50
    for start in range(0, samples.size - n + 1, n):
        verdict = det.feed(samples[start : start + n].astype("<i2").tobytes())
        if verdict is not None:
            return verdict
    return det.finish()


__all__ = ["DetectorConfig", "StreamingDetector", "Verdict", "detect"]
