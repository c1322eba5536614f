"""Which caller ID to present on an outbound attempt (pure; ``docs/dialer-records.md`` §5).

Theory of operation: before each dial the campaign service calls
:func:`choose_caller_id` with the campaign's :class:`CallerIdPolicy`, the
record, today's usage count per pool number and a ``random.Random`` (seeded in
tests, so choices are reproducible). It presents the returned number and adds
``usage_increment`` to today's counts. Usable numbers are those not on the
``tainted`` list (reported as spam, never presented) and below ``daily_cap``.

=================  ==========================================================
mode               choice among the usable numbers
=================  ==========================================================
``fixed``          ``fixed`` itself (an error if it is tainted or capped)
``local_presence`` the most local tier that has a usable number, drawn at
                   random within the tier: same city, same county, same
                   region, same country, then any number of the pool
``random``         drawn at random from the whole pool
=================  ==========================================================

A tier matches on the record's and the pool number's location fields
(compared case-insensitively): city = (country, region, city), county =
(country, region, county), region = (country, region), country = (country);
the tier's own field must be non-empty on the record. When no number is usable
:class:`NoCallerIdAvailable` says how many were tainted and how many capped.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from controlplane.dialer.exceptions import DialerRecordsError
from controlplane.dialer.exceptions import NoCallerIdAvailable as NoCallerIdAvailable
from controlplane.dialer.records import DialRecord, check_e164


class CallerIdMode(StrEnum):
    """How a campaign picks its caller ID."""

    FIXED = "fixed"
    LOCAL_PRESENCE = "local_presence"
    RANDOM = "random"


class MatchLevel(StrEnum):
    """Why a number was chosen (the tier that matched)."""

    FIXED = "fixed"
    CITY = "city"
    COUNTY = "county"
    REGION = "region"
    COUNTRY = "country"
    ANY = "any"
    RANDOM = "random"


@dataclass(frozen=True, slots=True)
class PoolNumber:
    """A number the campaign may present, with where it is local."""

    number: str
    country: str = ""
    region: str = ""
    county: str = ""
    city: str = ""


@dataclass(frozen=True, slots=True)
class CallerIdPolicy:
    """A campaign's caller-ID settings; ``daily_cap`` None means no cap."""

    mode: CallerIdMode
    fixed: str | None = None
    pool: tuple[PoolNumber, ...] = ()
    tainted: frozenset[str] = frozenset()
    daily_cap: int | None = None

    def __post_init__(self) -> None:
        if self.mode is CallerIdMode.FIXED:
            if self.fixed is None:
                raise DialerRecordsError("caller ID policy: mode fixed needs a fixed number")
            check_e164(self.fixed, "caller ID policy: fixed")
        elif not self.pool:
            raise DialerRecordsError(f"caller ID policy: mode {self.mode} needs a non-empty pool")
        seen: set[str] = set()
        for i, p in enumerate(self.pool):
            check_e164(p.number, f"caller ID policy: pool[{i}]")
            if p.number in seen:
                raise DialerRecordsError(f"caller ID policy: pool[{i}] {p.number} is listed twice")
            seen.add(p.number)
        if self.daily_cap is not None and self.daily_cap < 1:
            raise DialerRecordsError(f"caller ID policy: daily_cap {self.daily_cap} < 1")


@dataclass(frozen=True, slots=True)
class CallerIdChoice:
    """The number to present, the tier that matched, and the usage to add today."""

    number: str
    match: MatchLevel
    usage_increment: tuple[str, int]

    def add_to(self, usage: Mapping[str, int]) -> dict[str, int]:
        """``usage`` with this choice counted (what the service stores)."""
        out = dict(usage)
        number, inc = self.usage_increment
        out[number] = out.get(number, 0) + inc
        return out


def _norm(value: str) -> str:
    return value.strip().casefold()


# Tier -> (fields compared, the field that must be non-empty on the record).
TIERS: tuple[tuple[MatchLevel, tuple[str, ...], str], ...] = (
    (MatchLevel.CITY, ("country", "region", "city"), "city"),
    (MatchLevel.COUNTY, ("country", "region", "county"), "county"),
    (MatchLevel.REGION, ("country", "region"), "region"),
    (MatchLevel.COUNTRY, ("country",), "country"),
)


def _key(obj: DialRecord | PoolNumber, fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_norm(str(getattr(obj, f))) for f in fields)


def _usable(policy: CallerIdPolicy, number: str, usage: Mapping[str, int]) -> bool:
    if number in policy.tainted:
        return False
    return policy.daily_cap is None or usage.get(number, 0) < policy.daily_cap


def _error(policy: CallerIdPolicy, record: DialRecord, usage: Mapping[str, int]) -> str:
    numbers = (
        [policy.fixed] if policy.mode is CallerIdMode.FIXED else [p.number for p in policy.pool]
    )
    tainted = sum(1 for n in numbers if n in policy.tainted)
    capped = sum(
        1
        for n in numbers
        if n is not None
        and n not in policy.tainted
        and policy.daily_cap is not None
        and usage.get(n, 0) >= policy.daily_cap
    )
    return (
        f"no usable caller ID for record {record.record_id} (mode {policy.mode}): "
        f"{len(numbers)} number(s), {tainted} tainted, {capped} at daily cap {policy.daily_cap}"
    )


def choose_caller_id(
    policy: CallerIdPolicy,
    record: DialRecord,
    usage: Mapping[str, int],
    rng: random.Random,
) -> CallerIdChoice:
    """The caller ID for an attempt on ``record`` given today's ``usage`` per number."""
    if policy.mode is CallerIdMode.FIXED:
        assert policy.fixed is not None  # checked in CallerIdPolicy.__post_init__
        if not _usable(policy, policy.fixed, usage):
            raise NoCallerIdAvailable(_error(policy, record, usage))
        return CallerIdChoice(policy.fixed, MatchLevel.FIXED, (policy.fixed, 1))
    usable = [p for p in policy.pool if _usable(policy, p.number, usage)]
    if not usable:
        raise NoCallerIdAvailable(_error(policy, record, usage))
    if policy.mode is CallerIdMode.RANDOM:
        pick = rng.choice(usable)
        return CallerIdChoice(pick.number, MatchLevel.RANDOM, (pick.number, 1))
    for level, fields, required in TIERS:
        if not _norm(getattr(record, required)):
            continue
        want = _key(record, fields)
        tier = [p for p in usable if _key(p, fields) == want]
        if tier:
            pick = rng.choice(tier)
            return CallerIdChoice(pick.number, level, (pick.number, 1))
    pick = rng.choice(usable)
    return CallerIdChoice(pick.number, MatchLevel.ANY, (pick.number, 1))
