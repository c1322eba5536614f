"""Desk-phone feature codes: the pure parser, and that every sound named exists in Asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.acd.feature_codes import SOUNDS, FeatureCode, parse

SOUNDS_DIR = Path("/var/cache/centrala/asterisk-root-sid/usr/share/asterisk/sounds/en_US_f_Allison")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("*50", FeatureCode("login")),
        ("*51", FeatureCode("ready")),
        ("*527", FeatureCode("break", "7")),
        ("*5212", FeatureCode("break", "12")),
        (" *53 ", FeatureCode("logout")),
        ("*52", None),  # a break needs a reason code
        ("*52x", None),
        ("*54", None),
        ("50", None),
        ("*500", None),
        ("", None),
        ("*52123456789", None),  # reason codes are 1–8 digits
    ],
)
def test_parse(code: str, expected: FeatureCode | None) -> None:
    assert parse(code) == expected


@pytest.mark.skipif(not SOUNDS_DIR.is_dir(), reason="Asterisk core sounds not provisioned")
def test_every_confirmation_sound_exists_in_the_core_sounds() -> None:
    names = {p.stem for p in SOUNDS_DIR.iterdir()}
    missing = [s for s in SOUNDS.values() if s.removeprefix("sound:") not in names]
    assert not missing
