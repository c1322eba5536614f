"""Single-tone tracking per 20 ms frame: voicemail beeps and carrier SIT.

Theory of operation: each frame is Hann-windowed and zero-padded to a 512-point
FFT.  A frame is *tonal* when one spectral peak between 300 and 2200 Hz holds at
least ``purity`` of the frame's in-band power (speech spreads its power over
many harmonics and formants, so it stays well below).  Consecutive tonal frames
within ``freq_tolerance_hz`` of each other form a *tone segment*.

* BEEP: a segment of 400–2100 Hz lasting ≥ ``beep_min_ms`` that ends with the
  line going quiet (level drops ≥ ``quiet_drop_db``), as voicemail beeps do; a
  tone followed by another tone (a melody) is not a beep.  A tone lasting
  ``beep_max_ms`` is reported without waiting for its end.
* SIT: three consecutive segments rising through ≈913/985, ≈1370/1428 and
  ≈1777 Hz (ITU-T E.180 / Telcordia SIT, 274 or 380 ms each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NFFT = 512
SIT_BANDS = ((880.0, 1010.0), (1340.0, 1460.0), (1730.0, 1820.0))


@dataclass(frozen=True, slots=True)
class ToneConfig:
    """Thresholds of the tone tracker."""

    purity: float = 0.8
    min_level_dbfs: float = -45.0
    freq_tolerance_hz: float = 30.0
    beep_band_hz: tuple[float, float] = (400.0, 2100.0)
    beep_min_ms: int = 100
    beep_max_ms: int = 1500
    quiet_drop_db: float = 10.0
    sit_min_ms: int = 160


@dataclass(frozen=True, slots=True)
class ToneSegment:
    """A run of tonal frames at a steady frequency."""

    freq_hz: float
    start_ms: int
    dur_ms: int
    level_dbfs: float


def analyse_frame(samples: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Return ``(purity, peak_hz)`` of one frame (purity 0 for an empty band)."""
    x = samples.astype(np.float32)
    spec = np.fft.rfft(x * _hann(x.size), NFFT)
    p = spec.real**2 + spec.imag**2
    hz_per_bin = sample_rate / NFFT
    lo, hi = int(300 / hz_per_bin), int(2200 / hz_per_bin)
    band_lo, band_hi = int(100 / hz_per_bin), min(int(3800 / hz_per_bin), p.size - 1)
    total = float(p[band_lo:band_hi].sum())
    if total <= 0.0:
        return 0.0, 0.0
    k = lo + int(np.argmax(p[lo:hi]))
    half = int(2.2 * sample_rate / x.size / hz_per_bin)  # Hann main lobe half-width
    purity = float(p[max(k - half, 0) : k + half + 1].sum()) / total
    a, b, c = p[k - 1], p[k], p[k + 1]
    denom = a - 2 * b + c
    offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
    return purity, (k + float(offset)) * hz_per_bin


_HANN: dict[int, np.ndarray] = {}


def _hann(n: int) -> np.ndarray:
    w = _HANN.get(n)
    if w is None:
        w = _HANN[n] = np.hanning(n).astype(np.float32)
    return w


class ToneTracker:
    """Feeds frames, keeps the recent tone segments, reports BEEP and SIT."""

    def __init__(self, sample_rate: int, config: ToneConfig | None = None) -> None:
        self.cfg = config or ToneConfig()
        self.sample_rate = sample_rate
        self.segments: list[ToneSegment] = []
        self._cur: list[float] | None = None  # [freq_sum, frames, start_ms, level_sum]
        self._prev_end_ms = -(10**6)
        self._beep_reported = False

    @property
    def tone_ms(self) -> int:
        """Duration of the steady tone in progress (0 when none)."""
        return int(self._cur[1]) * 20 if self._cur is not None else 0

    def update(
        self, samples: np.ndarray, level_dbfs: float, t_ms: int, frame_ms: int
    ) -> tuple[bool, str | None]:
        """Process the frame ending at ``t_ms``; return ``(tonal, event)``."""
        cfg = self.cfg
        tonal = False
        freq = 0.0
        if level_dbfs >= cfg.min_level_dbfs:
            purity, freq = analyse_frame(samples, self.sample_rate)
            tonal = purity >= cfg.purity
        event: str | None = None
        cur = self._cur
        if tonal and cur is not None and abs(freq - cur[0] / cur[1]) <= cfg.freq_tolerance_hz:
            cur[0] += freq
            cur[1] += 1
            cur[3] += level_dbfs
        else:
            if cur is not None:
                event = self._close(cur, frame_ms, level_dbfs, followed_by_tone=tonal)
            self._cur = [freq, 1, t_ms - frame_ms, level_dbfs] if tonal else None
            self._beep_reported = False
        cur = self._cur
        if event is None and cur is not None:
            event = self._while_tone(cur, frame_ms)
        return tonal, event

    def _segment(self, cur: list[float], frame_ms: int) -> ToneSegment:
        n = cur[1]
        return ToneSegment(cur[0] / n, int(cur[2]), int(n * frame_ms), cur[3] / n)

    def _while_tone(self, cur: list[float], frame_ms: int) -> str | None:
        seg = self._segment(cur, frame_ms)
        if self._is_sit(seg):
            return "SIT"
        lo, hi = self.cfg.beep_band_hz
        if (
            not self._beep_reported
            and lo <= seg.freq_hz <= hi
            and seg.dur_ms >= self.cfg.beep_max_ms
        ):
            self._beep_reported = True
            return "BEEP"
        return None

    def _close(
        self, cur: list[float], frame_ms: int, level_dbfs: float, followed_by_tone: bool
    ) -> str | None:
        seg = self._segment(cur, frame_ms)
        self.segments = [*self.segments[-3:], seg]
        cfg = self.cfg
        lo, hi = cfg.beep_band_hz
        quiet = level_dbfs <= seg.level_dbfs - cfg.quiet_drop_db
        if (
            not self._beep_reported
            and not followed_by_tone
            and quiet
            and lo <= seg.freq_hz <= hi
            and cfg.beep_min_ms <= seg.dur_ms
            and not self._is_sit(seg)
        ):
            return "BEEP"
        return None

    def _is_sit(self, third: ToneSegment) -> bool:
        """True when ``third`` completes a rising SIT triple after the stored segments."""
        prev = [s for s in self.segments if s.start_ms < third.start_ms][-2:]
        if len(prev) < 2:
            return False
        seq = [*prev, third]
        for seg, (lo, hi) in zip(seq, SIT_BANDS, strict=True):
            if not (lo <= seg.freq_hz <= hi and seg.dur_ms >= self.cfg.sit_min_ms):
                return False
        gaps = [seq[i + 1].start_ms - (seq[i].start_ms + seq[i].dur_ms) for i in range(2)]
        return all(g <= 100 for g in gaps)
