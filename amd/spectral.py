"""Cheap spectral features of the first utterance, computed once per call.

Only called when the detector has to score a pause (once per call), on at
most ``MAX_SECONDS`` of audio at 8 kHz, so librosa's cost stays off the
per-frame path.  librosa is imported lazily (its first import is slow).
"""

from __future__ import annotations

import warnings

import numpy as np

MAX_SECONDS = 3.0
NAMES = ("spec_flatness", "spec_centroid", "spec_centroid_std")


def spectral_features(samples: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Return log spectral flatness and normalised centroid mean/std of speech frames."""
    x = samples.astype(np.float32) / 32768.0
    if sample_rate == 16000:  # crude 2:1 decimation: features are computed at 8 kHz
        x = 0.5 * (x[0::2][: x.size // 2] + x[1::2][: x.size // 2])
    x = x[: int(MAX_SECONDS * 8000)]
    if x.size < 512:
        return dict.fromkeys(NAMES, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import librosa.feature

        s = np.abs(librosa.stft(x, n_fft=256, hop_length=128, center=False)) ** 2
        flat = librosa.feature.spectral_flatness(S=s, power=1.0)[0]
        cent = librosa.feature.spectral_centroid(S=np.sqrt(s), sr=8000)[0]
    energy = s.sum(axis=0)
    keep = energy >= np.percentile(energy, 50)  # voiced/loud half only
    if not keep.any():
        return dict.fromkeys(NAMES, 0.0)
    return {
        "spec_flatness": float(np.log10(np.mean(flat[keep]) + 1e-6)),
        "spec_centroid": float(np.mean(cent[keep]) / 4000.0),
        "spec_centroid_std": float(np.std(cent[keep]) / 4000.0),
    }


def warm_up() -> None:
    """Import librosa and run it once (its first call costs seconds; do it at start-up)."""
    spectral_features(np.zeros(4000, dtype=np.int16) + 1, 8000)
