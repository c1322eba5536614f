"""Where a dialled number goes, as a toll-fraud guard sees it (pure; ``phonenumbers``).

Theory of operation
-------------------
Every outbound call over a trunk is classified into destination classes before it
leaves; the tenant's outbound policy (:mod:`controlplane.security.outbound_policy`) allows
or refuses each class. A number belongs to one *primary* class and may need more than one
to be allowed (a foreign premium-rate number needs ``international`` **and** ``premium``).

    dialled                                         classes
    digits that are an emergency number of the      emergency (always allowed)
      tenant's region (112, 997, 999, …)
    ``+`` or the region's international prefix      satellite (every non-geographic code:
      (``00`` in PL) and a non-geographic code        +870, +881, +882, +883, +800, +979 …)
    ``+``/``00`` and another country's code         international (+ premium when that
                                                      country's number is premium rate)
    ``+``/``00`` and the tenant's own code          as a national number below
    a valid national number                         by its type: toll-free → tollfree;
                                                      premium rate, shared cost, personal
                                                      numbers → premium; fixed, mobile,
                                                      VoIP, … → national
    a valid short number (19115, 116111, …)         premium when its expected cost is
                                                      premium, tollfree when free, else national
    plain digits that are a valid foreign number    as that foreign number: many carriers
      when read as E.164 without the '+'              take E.164 without '+' (4930123456)
    any other national-format digits                the longest prefix that is a valid
                                                      number decides (a premium number with
                                                      digits appended stays premium); none:
                                                      national
    anything but an optional ``+`` and 1-20 digits  invalid (never dialled)

Why invalid national-format numbers are ``national``: without an international prefix a
call cannot leave the country, and a carrier answers a number outside its plan with
"unallocated", which costs nothing; refusing them would also refuse private numbering
plans like the lab carrier's (``100XXXX`` a person, ``500XXXX`` unallocated …). What costs
money in toll fraud is premium and foreign destinations, and those are recognised by the
prefix rules above even when the number is too long or lacks its ``+``.

The guard classifies what the carrier receives: campaign and transfer numbers are dialled
without their ``+`` (``PJSIP/<digits>@<trunk>``), so ``+1004567`` in a campaign is the lab's
``1004567``, while ``4930123456`` is still recognised as Berlin.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo
from phonenumbers.phonenumber import CountryCodeSource

DEFAULT_REGION = "PL"
_DIALLED = re.compile(r"^\+?[0-9]{1,20}$")
NON_GEOGRAPHIC = "001"  # phonenumbers' region code of +800, +870, +881, +882, +883, …


class DestClass(enum.StrEnum):
    EMERGENCY = "emergency"
    NATIONAL = "national"
    TOLLFREE = "tollfree"
    PREMIUM = "premium"
    INTERNATIONAL = "international"
    SATELLITE = "satellite"
    INVALID = "invalid"


# What an administrator reads next to each class (and what a refused caller hears).
LABELS: dict[DestClass, str] = {
    DestClass.EMERGENCY: "emergency numbers",
    DestClass.NATIONAL: "national numbers (fixed, mobile, other)",
    DestClass.TOLLFREE: "toll-free numbers",
    DestClass.PREMIUM: "premium-rate and shared-cost numbers",
    DestClass.INTERNATIONAL: "international numbers",
    DestClass.SATELLITE: "satellite and international network numbers (+870, +881, +882, …)",
    DestClass.INVALID: "invalid numbers",
}
SPOKEN: dict[DestClass, str] = {
    DestClass.NATIONAL: "national",
    DestClass.TOLLFREE: "toll free",
    DestClass.PREMIUM: "premium rate",
    DestClass.INTERNATIONAL: "international",
    DestClass.SATELLITE: "satellite",
}

_PREMIUM_TYPES = {PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST,
                  PhoneNumberType.PERSONAL_NUMBER}
_INTERNATIONAL_FORM = {CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
                       CountryCodeSource.FROM_NUMBER_WITH_IDD}


@dataclass(frozen=True)
class Destination:
    """A classified number: ``primary`` names it, ``classes`` must all be allowed."""

    number: str
    primary: DestClass
    classes: frozenset[DestClass]
    country: str | None  # region code (GB, PL, 001 for non-geographic), None when unknown
    why: str  # one line for call records and the audit, e.g. "+44 (GB) mobile"

    @property
    def emergency(self) -> bool:
        return self.primary is DestClass.EMERGENCY


def valid_region(region: str) -> bool:
    """Whether ``region`` is a region code phonenumbers knows (``PL``, ``GB``, …)."""
    return region in phonenumbers.SUPPORTED_REGIONS


def classify(number: str, region: str = DEFAULT_REGION) -> Destination:
    """Classify ``number`` as dialled by a tenant in ``region`` (module docstring)."""
    dialled = number.strip()
    if not _DIALLED.match(dialled):
        return _one(dialled, DestClass.INVALID, None, "not an optional '+' and 1-20 digits")
    if not dialled.startswith("+") and shortnumberinfo.is_emergency_number(dialled, region):
        return _one(dialled, DestClass.EMERGENCY, region, f"emergency number in {region}")
    try:
        parsed = phonenumbers.parse(dialled, region, keep_raw_input=True)
    except phonenumbers.NumberParseException as err:
        if dialled.startswith("+"):
            return _one(dialled, DestClass.INVALID, None, f"no such country code ({err})")
        return _one(dialled, DestClass.NATIONAL, region, "not a number plan number: national")
    own = phonenumbers.country_code_for_region(region)
    if parsed.country_code_source in _INTERNATIONAL_FORM and parsed.country_code != own:
        return _foreign(dialled, parsed)
    return _national(dialled, parsed, region)


def _one(number: str, cls: DestClass, country: str | None, why: str) -> Destination:
    return Destination(number, cls, frozenset({cls}), country, why)


def _foreign(dialled: str, parsed: phonenumbers.PhoneNumber, note: str = "") -> Destination:
    code = parsed.country_code or 0
    region = phonenumbers.region_code_for_country_code(code)
    if region == NON_GEOGRAPHIC:
        return _one(dialled, DestClass.SATELLITE, region,
                    f"+{code}: non-geographic (satellite or international network){note}")
    if region == "ZZ":
        return _one(dialled, DestClass.INVALID, None, f"+{code} is not a country code")
    kind, why = _kind(parsed, region)
    why = f"+{code} ({region}) {why}{note}"
    if kind in _PREMIUM_TYPES:
        return Destination(dialled, DestClass.PREMIUM,
                           frozenset({DestClass.PREMIUM, DestClass.INTERNATIONAL}), region, why)
    return _one(dialled, DestClass.INTERNATIONAL, region, why)


def _national(dialled: str, parsed: phonenumbers.PhoneNumber, region: str) -> Destination:
    national = str(parsed.national_number)
    if shortnumberinfo.is_emergency_number(national, region):  # +48 112 is still 112
        return _one(dialled, DestClass.EMERGENCY, region, f"emergency number in {region}")
    if phonenumbers.is_valid_number(parsed):
        kind = phonenumbers.number_type(parsed)
        return _one(dialled, _class_of(kind), region, f"{region} {_type_name(kind)}")
    if shortnumberinfo.is_valid_short_number_for_region(parsed, region):
        cost = shortnumberinfo.expected_cost_for_region(parsed, region)
        cls = {shortnumberinfo.ShortNumberCost.PREMIUM_RATE: DestClass.PREMIUM,
               shortnumberinfo.ShortNumberCost.TOLL_FREE: DestClass.TOLLFREE}.get(
                   cost, DestClass.NATIONAL)
        return _one(dialled, cls, region, f"{region} short number")
    if parsed.country_code_source == CountryCodeSource.FROM_DEFAULT_COUNTRY:
        # Many carriers take E.164 without the '+': 4930123456 is Berlin to them.
        foreign = _as_e164(dialled, region)
        if foreign is not None:
            return _foreign(dialled, foreign, ", dialled without '+' (E.164 to many carriers)")
    kind, why = _kind(parsed, region)
    if kind != PhoneNumberType.UNKNOWN:
        return _one(dialled, _class_of(kind), region, f"{region} {why}")
    return _one(dialled, DestClass.NATIONAL, region,
                f"not a valid {region} number: national (the carrier decides)")


def _as_e164(digits: str, own: str) -> phonenumbers.PhoneNumber | None:
    """``digits`` read as E.164 without '+', when that is a (prefix-)valid foreign number."""
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    if region in ("ZZ", own) or parsed.country_code == phonenumbers.country_code_for_region(own):
        return None
    if region == NON_GEOGRAPHIC:
        return parsed if phonenumbers.is_valid_number(parsed) else None
    kind, _ = _kind(parsed, region)
    return parsed if kind != PhoneNumberType.UNKNOWN else None


def _kind(parsed: phonenumbers.PhoneNumber, region: str) -> tuple[int, str]:
    """The number's type, or when it is not valid, the type of its longest valid prefix (a
    premium number with digits appended is still premium to a carrier matching prefixes)."""
    if phonenumbers.is_valid_number(parsed):
        kind = phonenumbers.number_type(parsed)
        return kind, _type_name(kind)
    national = str(parsed.national_number)
    for end in range(len(national) - 1, 2, -1):
        prefix = phonenumbers.PhoneNumber(country_code=parsed.country_code,
                                          national_number=int(national[:end]))
        if phonenumbers.is_valid_number_for_region(prefix, region):
            kind = phonenumbers.number_type(prefix)
            return kind, f"{_type_name(kind)} with {len(national) - end} digits appended"
    return PhoneNumberType.UNKNOWN, "unknown"


def _class_of(kind: int) -> DestClass:
    if kind == PhoneNumberType.TOLL_FREE:
        return DestClass.TOLLFREE
    if kind in _PREMIUM_TYPES:
        return DestClass.PREMIUM
    return DestClass.NATIONAL


def _type_name(kind: int) -> str:
    names = {v: k for k, v in vars(PhoneNumberType).items() if k.isupper()}
    return names.get(kind, "UNKNOWN").lower().replace("_", " ")
