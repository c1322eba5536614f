"""E.164 normalisation with libphonenumber: national and international forms, the
geocoder's region, the line type, and every kind of garbage with its reason."""

from __future__ import annotations

import pytest

from controlplane.campaigns.exceptions import InvalidNumber, UnknownRegion
from controlplane.campaigns.numbers import normalise, prefix, region_code

GOOD = [
    # raw, default region, e164, country, region text, kind
    ("+48 22 123 45 67", "PL", "+48221234567", "PL", "Warsaw", "fixed"),
    ("22 123 45 67", "PL", "+48221234567", "PL", "Warsaw", "fixed"),
    ("0048 12 345 67 89", "PL", "+48123456789", "PL", "Kraków", "fixed"),
    ("600-100-200", "PL", "+48600100200", "PL", "Poland", "mobile"),
    ("800 123 456", "pl", "+48800123456", "PL", "Poland", "toll_free"),
    ("020 7946 0958", "GB", "+442079460958", "GB", "London", "fixed"),
    ("07400 123456", "UK", "+447400123456", "GB", "United Kingdom", "mobile"),
    ("+44 7400 123456", "PL", "+447400123456", "GB", "United Kingdom", "mobile"),
    ("(212) 555-0100", "US", "+12125550100", "US", "New York, NY", "fixed_or_mobile"),
    ("+1 415 555 2671", "PL", "+14155552671", "US", "San Francisco, CA", "fixed_or_mobile"),
    ("tel:+48221234567", "PL", "+48221234567", "PL", "Warsaw", "fixed"),
]


@pytest.mark.parametrize(("raw", "region", "e164", "country", "where", "kind"), GOOD)
def test_valid_numbers_normalise(raw, region, e164, country, where, kind) -> None:  # type: ignore[no-untyped-def]
    n = normalise(raw, region)
    assert (n.e164, n.country, n.region, n.kind) == (e164, country, where, kind)


BAD = [
    ("", "PL", "empty"),
    ("   ", "PL", "empty"),
    ("abc", "PL", "not a phone number"),
    ("22 12", "PL", "too short for +48"),
    ("+48 22 123 45 678 90123", "PL", "too long for +48"),
    ("+48 22 123 45 678", "PL", "not a valid number in PL"),  # right length, no such range
    ("1000001", "PL", "not a valid number in PL"),  # the lab's 7-digit plan is not E.164
    ("07700 900123", "GB", "not a valid number in GB"),  # Ofcom's drama range
    ("(415) 555-2671", "PL", "not a valid number in PL"),  # a US number read in Poland
    ("+999 123 456 789", "PL", "not a phone number (unknown country calling code)"),
]


@pytest.mark.parametrize(("raw", "region", "reason"), BAD)
def test_garbage_is_refused_with_its_reason(raw: str, region: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as err:
        normalise(raw, region)
    assert err.value.reason.startswith(reason), err.value.reason
    assert err.value.raw == raw and repr(raw) in str(err.value)


def test_unknown_default_region_is_an_error() -> None:
    assert region_code(" gb ") == "GB" and region_code("uk") == "GB"
    with pytest.raises(UnknownRegion, match="'XX'"):
        normalise("600100200", "XX")


@pytest.mark.parametrize(
    ("raw", "expected"), [("+48 70", "+4870"), ("0044-20", "+4420"), ("+1", "+1")]
)
def test_prefixes_are_international(raw: str, expected: str) -> None:
    assert prefix(raw) == expected


@pytest.mark.parametrize("raw", ["070", "+", "+48x", "+" + "1" * 16, ""])
def test_bad_prefixes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidNumber, match="a prefix must be"):
        prefix(raw)
