"""SMS text rules: GSM-7 vs UCS-2 and segment counts (3GPP TS 23.038/23.040), and
``{{ parameters }}`` in templates."""

from __future__ import annotations

import pytest

from controlplane.desk.sms import texts
from controlplane.desk.sms.segments import count


@pytest.mark.parametrize(("text", "encoding", "units", "segments", "left"), [
    ("", "gsm7", 0, 0, 160),
    ("a" * 160, "gsm7", 160, 1, 0),
    ("a" * 161, "gsm7", 161, 2, 145),  # 153 + 8
    ("a" * 306, "gsm7", 306, 2, 0),
    ("a" * 307, "gsm7", 307, 3, 152),
    ("€" * 80, "gsm7", 160, 1, 0),  # the extension table costs two septets
    ("a" * 152 + "€" + "a" * 10, "gsm7", 164, 2, 141),  # the escape pair is not split: 2+10
    ("Zażółć gęślą jaźń", "ucs2", 17, 1, 53),  # Polish diacritics force UCS-2
    ("ł" * 70, "ucs2", 70, 1, 0),
    ("ł" * 71, "ucs2", 71, 2, 63),  # 67 + 4
    ("é ä ö ü à Ñ", "gsm7", 11, 1, 149),  # these accented letters are in GSM 03.38
    ("😀" * 35, "ucs2", 70, 1, 0),  # an emoji is two UTF-16 units
    ("a" * 66 + "😀" + "a", "ucs2", 69, 1, 1),
    ("a" * 70 + "😀", "ucs2", 72, 2, 62),  # 66 + surrogate pair moved to part 2
])
def test_segment_counts(text: str, encoding: str, units: int, segments: int, left: int) -> None:
    c = count(text)
    assert (c.encoding, c.units, c.segments, c.left) == (encoding, units, segments, left)


def test_what_forces_ucs2_is_named_once() -> None:
    assert count("Dzień dobry, ślę").forcing == ("ń", "ś", "ę")
    assert count("Dzien dobry").forcing == ()


def test_parameters_render_and_unknown_ones_are_named() -> None:
    text = "Zgłoszenie {{ticket_number}} dla {{ customer_number }} {{ nope }}"
    assert texts.names(text) == ["ticket_number", "customer_number", "nope"]
    assert texts.check(text) == ["nope"]
    assert texts.render(text, {"ticket_number": 12, "customer_number": "+48500"}) == \
        "Zgłoszenie 12 dla +48500 "
    assert texts.render("{{ company }} {{ __class__ }}", {"company": "ACME"}) == "ACME "
