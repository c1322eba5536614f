"""G.711 µ-law and A-law companding in numpy (ITU-T G.711 segment tables).

``audioop`` is deprecated (removed in Python 3.13), so the corpus builder uses
these vectorised versions to simulate the telephone network's round trip.
All functions take and return numpy arrays; int16 in, uint8 codes out.
"""

from __future__ import annotations

import numpy as np

_ULAW_BIAS = 0x21  # 14-bit domain bias (0x84 in the 16-bit domain)
_ULAW_CLIP = 8159


def ulaw_encode(samples: np.ndarray) -> np.ndarray:
    """Encode int16 samples to µ-law bytes (uint8), bit-exact with ``audioop.lin2ulaw``."""
    v = samples.astype(np.int32) >> 2  # µ-law works on 14-bit samples
    mask = np.where(v < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(v), _ULAW_CLIP) + _ULAW_BIAS
    # segment = position of the highest set bit above bit 5 (0x21 bias keeps mag >= 33)
    seg = np.clip(np.floor(np.log2(mag)).astype(np.int32) - 5, 0, 8)
    code = np.where(seg > 7, 0x7F, (seg << 4) | ((mag >> (seg + 1)) & 0x0F)) ^ mask
    return code.astype(np.uint8)


def ulaw_decode(codes: np.ndarray) -> np.ndarray:
    """Decode µ-law bytes to int16 samples."""
    c = (~codes.astype(np.int32)) & 0xFF
    sign = c & 0x80
    seg = (c >> 4) & 0x07
    mantissa = c & 0x0F
    mag = (((mantissa << 3) + 0x84) << seg) - 0x84
    return np.where(sign != 0, -mag, mag).astype(np.int16)


def alaw_encode(samples: np.ndarray) -> np.ndarray:
    """Encode int16 samples to A-law bytes (uint8), as ``audioop.lin2alaw``."""
    x = samples.astype(np.int32) >> 3  # A-law works on 13-bit magnitudes
    sign = np.where(x >= 0, 0x80, 0x00)
    mag = np.where(x >= 0, x, -x - 1)
    mag = np.minimum(mag, 0x0FFF)
    seg = np.clip(np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 4, 0, 7)
    mantissa = np.where(seg == 0, mag >> 1, mag >> seg) & 0x0F
    code = (sign | (seg << 4) | mantissa) ^ 0x55
    return np.asarray(code, dtype=np.uint8)


def alaw_decode(codes: np.ndarray) -> np.ndarray:
    """Decode A-law bytes to int16 samples."""
    c = codes.astype(np.int32) ^ 0x55
    sign = c & 0x80
    seg = (c >> 4) & 0x07
    mantissa = c & 0x0F
    mag = np.where(seg == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (seg - 1))
    return np.where(sign != 0, mag, -mag).astype(np.int16)


def ulaw_roundtrip(samples: np.ndarray) -> np.ndarray:
    """Return int16 samples after a µ-law encode/decode round trip."""
    return ulaw_decode(ulaw_encode(samples))


def alaw_roundtrip(samples: np.ndarray) -> np.ndarray:
    """Return int16 samples after an A-law encode/decode round trip."""
    return alaw_decode(alaw_encode(samples))
