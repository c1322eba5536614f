"""Phone numbers to E.164 with Google's libphonenumber (the ``phonenumbers`` package).

A number written nationally ("600 100 200", "020 7946 0958") is read in the campaign's
or tenant's default region; one written internationally ("+44…", "0048…" from Poland)
keeps its own country. Only numbers libphonenumber holds *valid* (a real range of the
numbering plan, not just the right length) are accepted, so a typo is reported at import
rather than dialled. The result also carries what local-presence caller ID and calling
hours need: the ISO region, the geocoder's description ("Warsaw", "New York, NY"; the
country's name for mobiles) and the line type.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, ValidationResult, geocoder

from controlplane.campaigns.exceptions import InvalidNumber, UnknownRegion

# "UK" is what people write; ISO 3166 (and libphonenumber) says "GB".
REGION_ALIASES = {"UK": "GB"}

KIND_BY_TYPE = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_or_mobile",  # NANP numbers: no way to tell
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.TOLL_FREE: "toll_free",
}

_POSSIBLE_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country calling code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.INVALID_LENGTH: "wrong length",
    ValidationResult.TOO_LONG: "too long",
}


@dataclass(frozen=True, slots=True)
class Normalised:
    """A dialable number: ``e164`` ("+48221234567"), ``country`` ("PL"), ``region``
    (geocoder text, "" when unknown) and ``kind`` (one of ``PHONE_KINDS``)."""

    e164: str
    country: str
    region: str
    kind: str


def region_code(region: str) -> str:
    """The ISO region code libphonenumber uses for ``region`` ("pl" → "PL", "UK" → "GB").

    Raises :class:`UnknownRegion` for anything else.
    """
    code = region.strip().upper()
    code = REGION_ALIASES.get(code, code)
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise UnknownRegion(f"unknown region {region!r} (use an ISO 3166 code such as PL, GB, US)")
    return code


def normalise(raw: str, default_region: str, *, lang: str = "en") -> Normalised:
    """Parse ``raw`` (national numbers in ``default_region``) into a :class:`Normalised`.

    Raises :class:`InvalidNumber` saying why (empty, not a number, too short, not a
    valid number of its country) and :class:`UnknownRegion` for a bad default region.
    """
    region = region_code(default_region)
    text = raw.strip()
    if not text:
        raise InvalidNumber(raw, "empty")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as err:
        raise InvalidNumber(raw, f"not a phone number ({_parse_reason(err)})") from err
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible in _POSSIBLE_REASONS:
        raise InvalidNumber(raw, f"{_POSSIBLE_REASONS[possible]} for +{parsed.country_code}")
    # The number's type is its most expensive property (a regex per type), and
    # is_valid_number, number_type and geocoder.description_for_number each work it out
    # again; a 100k-row import pays for it once instead of three times. Valid means "of
    # a known type" (is_valid_number's own test), and the description follows
    # description_for_number: the area for geographical numbers, else the country.
    kind_of = phonenumbers.number_type(parsed)
    if kind_of == PhoneNumberType.UNKNOWN:
        where = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
        raise InvalidNumber(raw, f"not a valid number in {where} (+{parsed.country_code})")
    if phonenumbers.is_number_type_geographical(kind_of, parsed.country_code or 0):
        described = geocoder.description_for_valid_number(parsed, lang)
    else:
        described = geocoder.country_name_for_number(parsed, lang)
    return Normalised(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(parsed) or "",
        region=described,
        kind=KIND_BY_TYPE.get(kind_of, "other"),
    )


def prefix(raw: str) -> str:
    """A blacklist prefix in E.164 form: "+" and 1–15 digits (spaces and dashes dropped).

    Raises :class:`InvalidNumber` for anything else: a prefix has no country to read a
    national form in, so it must be written internationally ("+4870", not "070").
    """
    text = "".join(ch for ch in raw.strip() if ch not in " -().")
    if text.startswith("00"):
        text = "+" + text[2:]
    digits = text[1:]
    if not text.startswith("+") or not digits.isdigit() or not 1 <= len(digits) <= 15:
        raise InvalidNumber(raw, "a prefix must be '+' and 1-15 digits, e.g. +4870")
    return text


def _parse_reason(err: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "no digits to read",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the 00/+",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(err.error_type, str(err))
