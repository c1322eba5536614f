"""Destination classes of dialled numbers (phonenumbers), as the toll-fraud guard reads them."""

from __future__ import annotations

import pytest

from controlplane.security.destinations import DestClass, classify, valid_region

E, N, T, P, INT, S, X = (DestClass.EMERGENCY, DestClass.NATIONAL, DestClass.TOLLFREE,
                       DestClass.PREMIUM, DestClass.INTERNATIONAL, DestClass.SATELLITE,
                       DestClass.INVALID)


@pytest.mark.parametrize(("number", "primary", "classes", "country"), [
    # PL numbers as dialled from a PL tenant
    ("221234567", N, {N}, "PL"),  # fixed (Warsaw)
    ("601234567", N, {N}, "PL"),  # mobile
    ("800123456", T, {T}, "PL"),  # toll-free
    ("701234567", P, {P}, "PL"),  # premium 70x
    ("703123456", P, {P}, "PL"),
    ("708123456", P, {P}, "PL"),
    ("801234567", P, {P}, "PL"),  # shared cost
    ("7012345678", P, {P}, "PL"),  # premium with a digit appended stays premium
    ("+48221234567", N, {N}, "PL"),  # own country code: national
    ("0048701234567", P, {P}, "PL"),  # own country code, premium
    ("48221000001", N, {N}, "PL"),  # own country code without '+'
    ("116111", T, {T}, "PL"),  # short, free
    ("19115", N, {N}, "PL"),  # short, standard
    # emergency, also behind the own country code
    ("112", E, {E}, "PL"),
    ("997", E, {E}, "PL"),
    ("+48112", E, {E}, "PL"),
    # abroad
    ("00447700900123", INT, {INT}, "GB"),
    ("+12125551234", INT, {INT}, "US"),
    ("0012125551234", INT, {INT}, "US"),
    ("+449012345678", P, {P, INT}, "GB"),  # foreign premium needs both
    ("+447012345678", P, {P, INT}, "GB"),  # UK personal numbers: a classic fraud target
    ("4930123456", INT, {INT}, "DE"),  # E.164 without '+': Berlin to many carriers
    ("442071234567", INT, {INT}, "GB"),
    # non-geographic: satellite and international networks
    ("+881234567890", S, {S}, "001"),
    ("881234567890", S, {S}, "001"),
    ("+882123456789", S, {S}, "001"),
    ("+883510012345", S, {S}, "001"),
    ("00870123456789", S, {S}, "001"),
    # the lab's private number plan: national (see the module docstring)
    ("1004567", N, {N}, "PL"),
    ("2009999", N, {N}, "PL"),
    ("5000000", N, {N}, "PL"),
    # not dialable
    ("", X, {X}, None),
    ("12ab", X, {X}, None),
    ("*51", X, {X}, None),
    ("+999123", X, {X}, None),
    ("1" * 21, X, {X}, None),
])
def test_classification_table(number: str, primary: DestClass, classes: set[DestClass],
                              country: str | None) -> None:
    d = classify(number, "PL")
    assert (d.primary, set(d.classes), d.country) == (primary, classes, country), d.why


def test_every_lab_number_is_national() -> None:
    """The lab carrier's plan (100XXXX … 500XXXX) must stay dialable by default, or every
    campaign test breaks: no suffix may look like a foreign or premium number."""
    odd = [n for p in "12345" for x in range(0, 10000, 7)
           if classify(n := f"{p}00{x:04d}").primary is not DestClass.NATIONAL]
    assert odd == []


def test_region_decides_what_is_national() -> None:
    assert classify("+442071234567", "GB").primary is DestClass.NATIONAL
    assert classify("02071234567", "GB").primary is DestClass.NATIONAL
    assert classify("09012345678", "GB").primary is DestClass.PREMIUM
    assert classify("221234567", "GB").primary is not DestClass.PREMIUM
    assert classify("999", "GB").primary is DestClass.EMERGENCY
    assert valid_region("PL") and valid_region("GB") and not valid_region("XX")
