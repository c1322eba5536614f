"""Synthetic test signals (tones, silence, espeak-ng speech) for tests and tools."""

from __future__ import annotations

import shutil

import numpy as np

from amd.tts import RATE, Voice, synth


def tone(freq: float, seconds: float, rate: int, amp: float = 8000.0) -> np.ndarray:
    """A pure sine tone as int16."""
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def silence(seconds: float, rate: int) -> np.ndarray:
    """Digital silence as int16."""
    return np.zeros(int(seconds * rate), np.int16)


def speech(text: str, rate: int) -> np.ndarray:
    """espeak-ng speech at ``rate``, peak −10 dBFS (needs espeak-ng, see DEBIAN_PACKAGES)."""
    if shutil.which("espeak-ng") is None:
        raise FileNotFoundError("espeak-ng not installed (see amd/DEBIAN_PACKAGES)")
    from amd.audio import resample, to_int16

    x = synth(Voice("espeak", "en-us+m3"), text)
    return to_int16(resample(x.astype(np.float64), RATE, rate) * 0.3 / (np.abs(x).max() + 1e-9))
