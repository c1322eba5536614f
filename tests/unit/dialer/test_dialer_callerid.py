"""Caller-ID choice: fixed, local presence tiers, tainted numbers, daily caps, determinism."""

import random
from collections import Counter

import pytest

from controlplane.dialer.callerid import (
    CallerIdMode,
    CallerIdPolicy,
    MatchLevel,
    NoCallerIdAvailable,
    PoolNumber,
    choose_caller_id,
)
from controlplane.dialer.records import DialerRecordsError, DialRecord

BROOKLYN = PoolNumber("+17185550001", "US", "NY", "Kings", "Brooklyn")
MANHATTAN = PoolNumber("+12125550001", "US", "NY", "New York", "Manhattan")
JERSEY = PoolNumber("+12015550001", "US", "NJ", "Hudson", "Jersey City")
WARSAW = PoolNumber("+48225550001", "PL", "mazowieckie", "", "Warszawa")
POOL = (BROOKLYN, MANHATTAN, JERSEY, WARSAW)


def rec(country="", region="", county="", city=""):
    return DialRecord(
        3,
        30,
        "+17185559999",
        "America/New_York",
        country=country,
        region=region,
        county=county,
        city=city,
    )


def local(**kw):
    return CallerIdPolicy(CallerIdMode.LOCAL_PRESENCE, pool=POOL, **kw)


@pytest.mark.parametrize(
    ("record", "level", "allowed"),
    [
        (rec("US", "NY", "Kings", "Brooklyn"), MatchLevel.CITY, {BROOKLYN}),
        (rec("us", "ny", "kings", " brooklyn "), MatchLevel.CITY, {BROOKLYN}),  # case, spaces
        (rec("US", "NY", "Kings", "Williamsburg"), MatchLevel.COUNTY, {BROOKLYN}),
        (rec("US", "NY", "Erie", "Buffalo"), MatchLevel.REGION, {BROOKLYN, MANHATTAN}),
        (rec("US", "TX", "Harris", "Houston"), MatchLevel.COUNTRY, {BROOKLYN, MANHATTAN, JERSEY}),
        (rec("PL", "mazowieckie", "", "Warszawa"), MatchLevel.CITY, {WARSAW}),
        (rec("DE", "Berlin", "", "Berlin"), MatchLevel.ANY, set(POOL)),
        (rec(), MatchLevel.ANY, set(POOL)),
        # A city of the same name in another region is not local.
        (rec("US", "NJ", "", "Manhattan"), MatchLevel.REGION, {JERSEY}),
    ],
)
def test_local_presence_tiers(record, level, allowed):
    rng = random.Random(1)
    for _ in range(20):
        choice = choose_caller_id(local(), record, {}, rng)
        assert choice.match is level
        assert choice.number in {p.number for p in allowed}
        assert choice.usage_increment == (choice.number, 1)


def test_local_presence_cap_reached_falls_to_the_next_number():
    policy = local(daily_cap=100)
    brooklyn_record = rec("US", "NY", "Kings", "Brooklyn")
    usage = {BROOKLYN.number: 99}
    first = choose_caller_id(policy, brooklyn_record, usage, random.Random(0))
    assert (first.number, first.match) == (BROOKLYN.number, MatchLevel.CITY)
    usage = first.add_to(usage)
    assert usage[BROOKLYN.number] == 100
    second = choose_caller_id(policy, brooklyn_record, usage, random.Random(0))
    assert (second.number, second.match) == (MANHATTAN.number, MatchLevel.REGION)


def test_tainted_number_is_never_used():
    policy = CallerIdPolicy(CallerIdMode.RANDOM, pool=POOL, tainted=frozenset({MANHATTAN.number}))
    rng = random.Random(42)
    seen = Counter(choose_caller_id(policy, rec(), {}, rng).number for _ in range(600))
    assert MANHATTAN.number not in seen
    assert set(seen) == {BROOKLYN.number, JERSEY.number, WARSAW.number}
    assert all(150 <= c <= 250 for c in seen.values())  # spread roughly evenly
    lp = local(tainted=frozenset({BROOKLYN.number}))
    choice = choose_caller_id(lp, rec("US", "NY", "Kings", "Brooklyn"), {}, rng)
    assert (choice.number, choice.match) == (MANHATTAN.number, MatchLevel.REGION)


def test_random_pool_respects_the_daily_cap_then_fails_clearly():
    policy = CallerIdPolicy(
        CallerIdMode.RANDOM, pool=POOL, tainted=frozenset({WARSAW.number}), daily_cap=3
    )
    rng = random.Random(7)
    usage: dict[str, int] = {}
    for _ in range(9):
        usage = choose_caller_id(policy, rec(), usage, rng).add_to(usage)
    assert usage == {BROOKLYN.number: 3, MANHATTAN.number: 3, JERSEY.number: 3}
    with pytest.raises(NoCallerIdAvailable) as err:
        choose_caller_id(policy, rec(), usage, rng)
    assert str(err.value) == (
        "no usable caller ID for record 3 (mode random): 4 number(s), 1 tainted, 3 at daily cap 3"
    )


def test_same_seed_same_choices():
    policy = CallerIdPolicy(CallerIdMode.RANDOM, pool=POOL)

    def run(seed):
        rng = random.Random(seed)
        return [choose_caller_id(policy, rec(), {}, rng).number for _ in range(50)]

    assert run(5) == run(5)
    assert len(set(run(5))) == 4


@pytest.mark.parametrize(
    ("policy", "usage", "expected"),
    [
        (CallerIdPolicy(CallerIdMode.FIXED, fixed="+48225550009"), {}, "+48225550009"),
        (
            CallerIdPolicy(CallerIdMode.FIXED, fixed="+48225550009", daily_cap=5),
            {"+48225550009": 4},
            "+48225550009",
        ),
        (
            CallerIdPolicy(CallerIdMode.FIXED, fixed="+48225550009", daily_cap=5),
            {"+48225550009": 5},
            "1 at daily cap 5",
        ),
        (
            CallerIdPolicy(
                CallerIdMode.FIXED, fixed="+48225550009", tainted=frozenset({"+48225550009"})
            ),
            {},
            "1 tainted",
        ),
    ],
)
def test_fixed_caller_id(policy, usage, expected):
    if expected.startswith("+"):
        choice = choose_caller_id(policy, rec(), usage, random.Random(0))
        assert (choice.number, choice.match) == (expected, MatchLevel.FIXED)
    else:
        with pytest.raises(NoCallerIdAvailable, match=expected):
            choose_caller_id(policy, rec(), usage, random.Random(0))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CallerIdPolicy(CallerIdMode.FIXED), "needs a fixed number"),
        (lambda: CallerIdPolicy(CallerIdMode.FIXED, fixed="48225550009"), "fixed"),
        (lambda: CallerIdPolicy(CallerIdMode.RANDOM), "non-empty pool"),
        (
            lambda: CallerIdPolicy(CallerIdMode.RANDOM, pool=(BROOKLYN, BROOKLYN)),
            r"pool\[1\] .* twice",
        ),
        (lambda: CallerIdPolicy(CallerIdMode.RANDOM, pool=(PoolNumber("+1 718"),)), r"pool\[0\]"),
        (lambda: CallerIdPolicy(CallerIdMode.RANDOM, pool=POOL, daily_cap=0), "daily_cap 0"),
    ],
)
def test_bad_policies_are_refused(make, message):
    with pytest.raises(DialerRecordsError, match=message):
        make()
