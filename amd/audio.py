"""Audio helpers at the edge: WAV reading, resampling, framing and dBFS."""

from __future__ import annotations

from collections.abc import Iterator
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

FRAME_MS = 20
SUPPORTED_RATES = (8000, 16000)


def frame_bytes(sample_rate: int) -> int:
    """Size in bytes of one 20 ms slin16 frame (320 at 8 kHz, 640 at 16 kHz)."""
    return sample_rate * FRAME_MS // 1000 * 2


def to_int16(x: np.ndarray) -> np.ndarray:
    """Convert float audio in [-1, 1] to clipped int16."""
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)


def resample(x: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Polyphase resampling of float audio."""
    if src_rate == dst_rate:
        return x
    g = gcd(src_rate, dst_rate)
    return np.asarray(resample_poly(x, dst_rate // g, src_rate // g))


def read_wav(path: Path, rate: int) -> np.ndarray:
    """Read a WAV file (any rate, first channel) as int16 at ``rate``."""
    data, src = sf.read(str(path), dtype="float32", always_2d=True)
    return to_int16(resample(data[:, 0].astype(np.float64), int(src), rate))


def iter_frames(samples: np.ndarray, sample_rate: int) -> Iterator[bytes]:
    """Yield 20 ms little-endian slin16 frames; a short last frame is zero-padded."""
    n = sample_rate * FRAME_MS // 1000
    pcm = samples.astype("<i2")
    for start in range(0, pcm.size, n):
        chunk = pcm[start : start + n]
        if chunk.size < n:
            chunk = np.concatenate([chunk, np.zeros(n - chunk.size, dtype="<i2")])
        yield chunk.tobytes()


def dbfs(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (floor −100)."""
    x = samples.astype(np.float32)
    ms = float(np.dot(x, x)) / max(x.size, 1)
    return 10.0 * float(np.log10(ms / (32768.0**2) + 1e-10))
