"""G.711 companding: error bounds and agreement with the reference tables."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from amd import g711

ALL = np.arange(-32768, 32768, dtype=np.int16)


@pytest.mark.parametrize(
    ("name", "roundtrip", "rel", "floor"),
    [("ulaw", g711.ulaw_roundtrip, 1 / 32, 16), ("alaw", g711.alaw_roundtrip, 1 / 32, 8)],
)
def test_roundtrip_error_bounds(name, roundtrip, rel, floor):
    x = ALL.astype(np.int32)
    err = np.abs(roundtrip(ALL).astype(np.int32) - x)
    core = np.abs(x) < 32000  # the outermost segment also clips
    assert np.all(err[core] <= np.abs(x[core]) * rel + floor)
    assert np.all(err <= 700)


@pytest.mark.parametrize("codes", [np.arange(256, dtype=np.uint8)])
def test_decode_encode_is_identity_on_codes(codes):
    back = g711.ulaw_encode(g711.ulaw_decode(codes))
    keep = codes != 0x7F  # µ-law has two zeros; -0 (0x7F) re-encodes as +0 (0xFF)
    assert np.array_equal(back[keep], codes[keep])
    assert np.array_equal(g711.alaw_encode(g711.alaw_decode(codes)), codes)


def test_bit_exact_with_audioop_when_available():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        audioop = pytest.importorskip("audioop")
        b = ALL.tobytes()
        assert np.array_equal(
            g711.ulaw_encode(ALL), np.frombuffer(audioop.lin2ulaw(b, 2), np.uint8)
        )
        assert np.array_equal(
            g711.alaw_encode(ALL), np.frombuffer(audioop.lin2alaw(b, 2), np.uint8)
        )
        codes = np.arange(256, dtype=np.uint8).tobytes()
        assert np.array_equal(
            g711.ulaw_decode(np.arange(256, dtype=np.uint8)),
            np.frombuffer(audioop.ulaw2lin(codes, 2), np.int16),
        )
        assert np.array_equal(
            g711.alaw_decode(np.arange(256, dtype=np.uint8)),
            np.frombuffer(audioop.alaw2lin(codes, 2), np.int16),
        )
