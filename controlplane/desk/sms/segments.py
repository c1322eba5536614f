"""How many SMS a text costs: GSM-7 or UCS-2, and the segments it is split into.

Theory of operation (3GPP TS 23.038 and 23.040). A text whose every character is in the
GSM 03.38 default alphabet (:data:`GSM_BASIC`) travels in 7-bit septets: 160 in a single
SMS. The extension table (:data:`GSM_EXTENDED`: ``€ [ ] { } ^ ~ \\ |`` and form feed)
costs two septets each (an escape, then the character). One character outside both —
any Polish diacritic (ą ć ę ł ń ó ś ź ż: only a few accented letters such as é, ä, ö, ü
are in the alphabet) or an emoji — turns the whole text into UCS-2: 16-bit units, 70
in a single SMS. A longer text is concatenated: each part loses room to the 6-byte user
data header, leaving 153 septets or 67 units; an escape pair and a surrogate pair (emoji:
two UTF-16 units) are never split between parts, so a part may carry one unit less.

The panel counts the same way as the page is typed (``web/static/sms_segments.js`` reads
the two alphabets from the page, rendered from this module, and mirrors :func:`count`).
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
             "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM_BASIC)
_EXTENDED = frozenset(GSM_EXTENDED)

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}


@dataclass(frozen=True)
class Count:
    """``encoding`` (gsm7/ucs2), ``units`` (septets or UTF-16 units in all), ``segments``
    (SMS billed), ``per_segment`` (room in each at this length), ``left`` (units still
    free in the last segment) and ``forcing`` (the characters that made it UCS-2)."""

    encoding: str
    units: int
    segments: int
    per_segment: int
    left: int
    forcing: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"encoding": self.encoding, "units": self.units, "segments": self.segments,
                "per_segment": self.per_segment, "left": self.left,
                "forcing": list(self.forcing)}


def _costs(text: str) -> tuple[str, list[int], tuple[str, ...]]:
    """The encoding and the units each character costs in it."""
    forcing = tuple(dict.fromkeys(ch for ch in text if ch not in _BASIC and ch not in _EXTENDED))
    if not forcing:
        return "gsm7", [2 if ch in _EXTENDED else 1 for ch in text], ()
    return "ucs2", [2 if ord(ch) > 0xFFFF else 1 for ch in text], forcing


def count(text: str) -> Count:
    """What ``text`` costs (see the module's docstring); the empty text costs nothing."""
    encoding, costs, forcing = _costs(text)
    units = sum(costs)
    single, part = SINGLE[encoding], PART[encoding]
    if units <= single:
        return Count(encoding, units, 1 if units else 0, single, single - units, forcing)
    segments, used = 1, 0
    for cost in costs:  # greedy: a character that does not fit starts the next part
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return Count(encoding, units, segments, part, part - used, forcing)
