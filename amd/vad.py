"""Speech/non-speech per 20 ms frame: webrtcvad gated by an adaptive noise floor.

Theory of operation: webrtcvad alone fires on stationary noise and babble, and a
fixed energy threshold (app_amd's 256) fails on quiet or noisy lines.  A frame
counts as *raw speech* when webrtcvad says speech AND it is not a pure tone
(tones are handled by :mod:`amd.tones`) AND its level clears the threshold
``max(noise_floor + margin_db, min_level_dbfs, foreground − fg_db)``.

*Noise floor* (per-call adaptation), the larger of two trackers:

* the *learnt* floor: a low percentile of the levels of the last ``history``
  frames that were *not* inside a speech segment, so it follows background
  noise, babble and TV but freezes while someone talks (a long machine
  greeting does not raise it).  During the first ``calib_frames`` (200 ms)
  every frame feeds it and no speech onset is allowed: the background present
  when the call is answered is learnt before anyone can realistically speak;
* the *minimum-statistics* floor: the ``min_percentile`` of *all* frame levels
  of the last ``min_window`` frames (3 s).  Speech, even a continuous
  greeting, dips between words and sentences, so this stays low under speech;
  a background that switches on after the answer (babble/TV starting after
  the ring-back, or taken for speech from its first frame) never dips, so it
  lifts the floor within a few seconds even though the learnt floor froze.

*Foreground reference*: a slowly decaying peak of the raw-speech levels.  Once
the person has spoken, anything ``fg_db`` below their voice is background
(a TV, people talking in the room) and no longer counts as speech, so it can
neither bridge the pause after "hello?" nor stretch the greeting.  A recording
keeps talking at its own level and is unaffected.

Onset needs ``onset_frames`` consecutive raw-speech frames; a hangover of
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
    floor_every: int = 4  # recompute the percentiles every N frames
    calib_frames: int = 10
    onset_frames: int = 2
    hangover_frames: int = 8
    min_window: int = 150  # all frames (3 s) for the minimum-statistics floor
    min_percentile: float = 5.0
    fg_db: float = 18.0  # 0 disables the foreground reference
    fg_attack: float = 0.3  # fraction of the step towards a louder speech frame
    fg_decay_db: float = 0.02  # per frame (1 dB/s)
    strong_db: float = 9.0  # raw speech within this of the foreground is "strong"
    jump_db: float = 8.0  # a voice this much louder than the foreground: new foreground


def _percentile(x: np.ndarray, q: float) -> float:
    """Lower-rank percentile (cheaper than ``np.percentile``, enough for a floor)."""
    k = int(q / 100.0 * (x.size - 1))
    return float(np.partition(x, k)[k])


class SpeechGate:
    """Stateful per-frame speech decision (small, no I/O)."""

    def __init__(self, sample_rate: int, config: VadConfig | None = None) -> None:
        self.cfg = cfg = config or VadConfig()
        self.sample_rate = sample_rate
        self._vad = webrtcvad.Vad(cfg.mode)
        self._hist = np.full(cfg.history, cfg.floor_init_dbfs, dtype=np.float64)
        self._all = np.full(cfg.min_window, cfg.floor_init_dbfs, dtype=np.float64)
        self._pos = 0
        self._learnt = cfg.floor_init_dbfs
        self._min_floor = cfg.floor_init_dbfs
        self.noise_floor = cfg.floor_init_dbfs
        self.foreground = -200.0
        self.strong = False  # this frame is raw speech at the foreground level
        self.jump = False  # this frame is a voice much louder than the foreground so far
        self._run = 0
        self._since_speech = 10**6
        self._frames = 0
        self.active = False

    @property
    def threshold(self) -> float:
        """Level (dBFS) a frame must reach to count as speech."""
        cfg = self.cfg
        thr = max(self.noise_floor + cfg.margin_db, cfg.min_level_dbfs)
        if cfg.fg_db > 0.0:
            thr = max(thr, self.foreground - cfg.fg_db)
        return thr

    def update(self, frame: bytes, level_dbfs: float, tonal: bool) -> tuple[bool, bool]:
        """Return ``(raw_speech, active)`` for one 20 ms frame."""
        cfg = self.cfg
        n = self._frames
        self._frames = n + 1
        self._all[n % cfg.min_window] = level_dbfs
        self.strong = self.jump = False
        if n < cfg.calib_frames:
            self._hist[n :: cfg.calib_frames] = level_dbfs
            if n + 1 == cfg.calib_frames:
                self._learnt = _percentile(self._hist, cfg.floor_percentile)
                self.noise_floor = self._learnt
            return False, False
        if n % cfg.floor_every == 0 and n >= cfg.min_window // 2:
            k = min(n + 1, cfg.min_window)
            self._min_floor = _percentile(self._all[:k], cfg.min_percentile)
            self.noise_floor = max(self._learnt, self._min_floor)
        raw = bool(
            level_dbfs >= self.threshold
            and not tonal
            and self._vad.is_speech(frame, self.sample_rate)
        )
        self.jump = raw and self.foreground > -150.0 and level_dbfs >= self.foreground + cfg.jump_db
        if raw and level_dbfs > self.foreground:
            self.foreground += max(cfg.fg_attack * (level_dbfs - self.foreground), 0.0)
            self.foreground = max(self.foreground, level_dbfs - 6.0)
        else:
            self.foreground -= cfg.fg_decay_db
        self.strong = raw and level_dbfs >= self.foreground - cfg.strong_db
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
            self._learnt = _percentile(self._hist, cfg.floor_percentile)
            self.noise_floor = max(self._learnt, self._min_floor)
