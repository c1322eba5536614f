"""Speech/non-speech per 20 ms frame: webrtcvad gated by an adaptive noise floor.

Theory of operation: webrtcvad alone fires on stationary noise and babble, and a
fixed energy threshold (app_amd's 256) fails on quiet or noisy lines.  A frame
counts as *raw speech* when webrtcvad says speech AND its level is at least
``margin_db`` above the noise floor AND it is not a pure tone (tones are
handled by :mod:`amd.tones`).

The noise floor is a low percentile of the levels of the last ``history``
frames that were *not* inside a speech segment, so it follows background
noise, babble and TV but freezes while someone talks (a long machine greeting
does not raise it).  During the first ``calib_frames`` (200 ms) every frame
feeds the floor and no speech onset is allowed: the background present when
the call is answered (babble, TV, line noise) is learnt before anyone can
realistically speak, instead of being taken for the greeting.  Onset needs
``onset_frames`` consecutive raw-speech frames; a hangover of
``hangover_frames`` bridges the gaps between words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import webrtcvad


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Tuning of the speech gate."""

    mode: int = 2
    margin_db: float = 10.0
    min_level_dbfs: float = -50.0
    floor_init_dbfs: float = -60.0
    floor_percentile: float = 30.0
    history: int = 50  # non-speech frames (1 s)
    floor_every: int = 4  # recompute the percentile every N non-speech frames
    calib_frames: int = 10
    onset_frames: int = 2
    hangover_frames: int = 8


class SpeechGate:
    """Stateful per-frame speech decision (small, no I/O)."""

    def __init__(self, sample_rate: int, config: VadConfig | None = None) -> None:
        self.cfg = cfg = config or VadConfig()
        self.sample_rate = sample_rate
        self._vad = webrtcvad.Vad(cfg.mode)
        self._hist = np.full(cfg.history, cfg.floor_init_dbfs, dtype=np.float64)
        self._pos = 0
        self.noise_floor = cfg.floor_init_dbfs
        self._run = 0
        self._since_speech = 10**6
        self._frames = 0
        self.active = False

    def update(self, frame: bytes, level_dbfs: float, tonal: bool) -> tuple[bool, bool]:
        """Return ``(raw_speech, active)`` for one 20 ms frame."""
        cfg = self.cfg
        self._frames += 1
        if self._frames <= cfg.calib_frames:
            self._hist[self._frames - 1 :: cfg.calib_frames] = level_dbfs
            if self._frames == cfg.calib_frames:
                self.noise_floor = float(np.percentile(self._hist, cfg.floor_percentile))
            return False, False
        loud = level_dbfs >= max(self.noise_floor + cfg.margin_db, cfg.min_level_dbfs)
        raw = bool(loud and not tonal and self._vad.is_speech(frame, self.sample_rate))
        self._run = self._run + 1 if raw else 0
        self._since_speech = 0 if raw else self._since_speech + 1
        if self._run >= cfg.onset_frames:
            self.active = True
        elif self.active and self._since_speech > cfg.hangover_frames:
            self.active = False
        if not self.active and not raw:
            self._learn(level_dbfs)
        return raw, self.active

    def _learn(self, level_dbfs: float) -> None:
        cfg = self.cfg
        self._hist[self._pos % cfg.history] = level_dbfs
        self._pos += 1
        if self._pos % cfg.floor_every == 0:
            self.noise_floor = float(np.percentile(self._hist, cfg.floor_percentile))
