"""The toll-fraud decision (pure): classes, caps in order, emergency, headroom."""

from __future__ import annotations

import pytest

from controlplane.security.destinations import DestClass, classify
from controlplane.security.outbound_policy import Policy, Usage, decide, headroom, is_cap

FREE = Usage(tenant_live=0, trunk_live=0, trunk_channels=30, last_hour=0)
ALL = frozenset({DestClass.NATIONAL, DestClass.TOLLFREE, DestClass.PREMIUM,
                 DestClass.INTERNATIONAL, DestClass.SATELLITE})


@pytest.mark.parametrize(("number", "allowed", "code", "final"), [
    ("1004567", True, "ok", False),
    ("800123456", True, "ok", False),
    ("00447700900123", False, "destination", True),  # international off by default
    ("+881234567890", False, "destination", True),  # satellite off by default
    ("701234567", False, "destination", True),  # premium off by default
    ("112", True, "emergency", False),
    ("12ab", False, "invalid", True),
])
def test_defaults(number: str, allowed: bool, code: str, final: bool) -> None:
    v = decide(Policy(), classify(number), FREE)
    assert (v.allowed, v.code, v.final) == (allowed, code, final), v.reason


def test_international_allowed_still_refuses_foreign_premium() -> None:
    policy = Policy(allowed=frozenset({DestClass.NATIONAL, DestClass.INTERNATIONAL}))
    assert decide(policy, classify("00447700900123"), FREE).allowed
    v = decide(policy, classify("+449012345678"), FREE)
    assert not v.allowed and v.missing == (DestClass.PREMIUM,)
    assert "premium" in v.reason and "premium rate" in v.announcement
    assert decide(Policy(allowed=ALL), classify("+449012345678"), FREE).allowed


@pytest.mark.parametrize(("usage", "code"), [
    (Usage(30, 0, 30, 0), "tenant_concurrent"),
    (Usage(2, 5, 5, 0), "trunk_channels"),  # trunk full (inbound calls count too)
    (Usage(0, 0, 30, 600), "hourly"),
    (Usage(29, 29, 30, 599), "ok"),  # one below every cap
])
def test_caps_in_order(usage: Usage, code: str) -> None:
    v = decide(Policy(), classify("1004567"), usage)
    assert v.code == code
    assert v.allowed == (code == "ok")
    assert not v.final  # a cap is momentary: the same call may go later
    if not v.allowed:
        assert is_cap(v.reason)
        assert "busy" in v.announcement or "limit" in v.announcement


def test_emergency_passes_every_cap_and_every_class() -> None:
    none = Policy(allowed=frozenset(), max_concurrent=0, max_per_hour=0)
    assert decide(none, classify("112"), Usage(99, 99, 0, 9999)).allowed


def test_destination_refusals_are_not_caps() -> None:
    v = decide(Policy(), classify("+881234567890"), FREE)
    assert not is_cap(v.reason) and "satellite" in v.announcement


def test_headroom_names_the_tightest_cap() -> None:
    assert headroom(Policy(), FREE) == (30, "")
    assert headroom(Policy(max_concurrent=5), Usage(3, 0, 30, 0)) == (2, "")
    assert headroom(Policy(), Usage(0, 0, 30, 600)) == (0, "hourly")
    assert headroom(Policy(), Usage(0, 31, 30, 0)) == (0, "trunk_channels")
