"""Condition evaluation: clock, holidays, tenant calendars, caller patterns, variables."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr_flows.conditions import EvalContext, evaluate, parse_condition

WARSAW = ZoneInfo("Europe/Warsaw")


def ctx(
    when: datetime = datetime(2026, 11, 10, 10, 0, tzinfo=WARSAW),
    caller: str = "+48221234567",
    calendars: dict[str, frozenset[date]] | None = None,
    **variables: Any,
) -> EvalContext:
    return EvalContext(when, "PL", calendars or {}, caller, variables)


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> EvalContext:
    return ctx(datetime(y, m, d, hh, mm, tzinfo=WARSAW))


CLOSURES = {"office_closures": frozenset({date(2026, 11, 12)})}

CASES: list[tuple[str, dict[str, Any], EvalContext, bool]] = [
    ("inside hours", {"time": {"from": "08:00", "to": "18:00"}}, at(2026, 11, 10, 17, 59), True),
    (
        "end is exclusive",
        {"time": {"from": "08:00", "to": "18:00"}},
        at(2026, 11, 10, 18, 0),
        False,
    ),
    (
        "night shift wraps midnight",
        {"time": {"from": "22:00", "to": "06:00"}},
        at(2026, 11, 10, 2, 0),
        True,
    ),
    (
        "night shift, daytime",
        {"time": {"from": "22:00", "to": "06:00"}},
        at(2026, 11, 10, 12, 0),
        False,
    ),
    ("weekday", {"weekday": ["mon", "tue"]}, at(2026, 11, 10), True),
    ("weekend", {"weekday": ["sat", "sun"]}, at(2026, 11, 10), False),
    (
        "date range inclusive",
        {"date": {"from": "2026-12-24", "to": "2026-12-26"}},
        at(2026, 12, 26),
        True,
    ),
    (
        "date range outside",
        {"date": {"from": "2026-12-24", "to": "2026-12-26"}},
        at(2026, 12, 27),
        False,
    ),
    (
        "yearly range wraps the new year",
        {"date": {"from": "12-24", "to": "01-01"}},
        at(2027, 1, 1),
        True,
    ),
    ("yearly range, summer", {"date": {"from": "12-24", "to": "01-01"}}, at(2027, 7, 1), False),
    ("Independence Day", {"holiday": {}}, at(2026, 11, 11), True),
    ("Easter Monday 2026", {"holiday": {}}, at(2026, 4, 6), True),
    ("Christmas Eve 2026", {"holiday": {}}, at(2026, 12, 24), True),
    ("ordinary Tuesday", {"holiday": {}}, at(2026, 11, 10), False),
    ("other country's holiday only", {"holiday": {"country": "DE"}}, at(2026, 11, 11), False),
    (
        "tenant calendar date",
        {"holiday": {"public": False, "calendars": ["office_closures"]}},
        ctx(datetime(2026, 11, 12, 9, 0, tzinfo=WARSAW), calendars=CLOSURES),
        True,
    ),
    (
        "public holiday not counted when public is false",
        {"holiday": {"public": False, "calendars": ["office_closures"]}},
        ctx(datetime(2026, 11, 11, 9, 0, tzinfo=WARSAW), calendars=CLOSURES),
        False,
    ),
    (
        "unknown calendar is empty",
        {"holiday": {"public": False, "calendars": ["nope"]}},
        ctx(datetime(2026, 11, 12, 9, 0, tzinfo=WARSAW), calendars=CLOSURES),
        False,
    ),
    ("caller prefix", {"caller": {"prefix": ["+4822", "+4812"]}}, ctx(), True),
    (
        "caller prefix with spaces",
        {"caller": {"prefix": ["+48 22"]}},
        ctx(caller="+48 22 123"),
        True,
    ),
    ("caller prefix miss", {"caller": {"prefix": ["+4812"]}}, ctx(), False),
    ("caller regex", {"caller": {"regex": r"^\+48(5|6|7|8)"}}, ctx(caller="+48601000000"), True),
    ("anonymous caller", {"caller": {"anonymous": True}}, ctx(caller="anonymous"), True),
    (
        "numeric compare",
        {"compare": {"var": "balance", "op": "gt", "value": 100}},
        ctx(balance="120.50"),
        True,
    ),
    (
        "numeric equality 2 == 2.0",
        {"compare": {"var": "n", "op": "eq", "value": "2.0"}},
        ctx(n=2),
        True,
    ),
    (
        "string compare",
        {"compare": {"var": "tier", "op": "eq", "value": "vip"}},
        ctx(tier="vip"),
        True,
    ),
    (
        "compare with a variable",
        {"compare": {"var": "a", "op": "lt", "value": "{b}"}},
        ctx(a=3, b=10),
        True,
    ),
    (
        "in list",
        {"compare": {"var": "tier", "op": "in", "value": ["gold", "vip"]}},
        ctx(tier="vip"),
        True,
    ),
    (
        "not in list",
        {"compare": {"var": "tier", "op": "not_in", "value": ["gold"]}},
        ctx(tier="vip"),
        True,
    ),
    (
        "regex match",
        {"compare": {"var": "acc", "op": "matches", "value": "[0-9]{8}"}},
        ctx(acc="12345678"),
        True,
    ),
    ("set", {"compare": {"var": "x", "op": "set"}}, ctx(), False),
    ("empty", {"compare": {"var": "x", "op": "empty"}}, ctx(x=""), True),
    (
        "all",
        {"all": [{"weekday": ["tue"]}, {"time": {"from": "09:00", "to": "11:00"}}]},
        at(2026, 11, 10),
        True,
    ),
    ("any", {"any": [{"weekday": ["sat"]}, {"holiday": {}}]}, at(2026, 11, 11), True),
    ("not", {"not": {"holiday": {}}}, at(2026, 11, 11), False),
]


@pytest.mark.parametrize(
    ("raw", "context", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_condition(raw: dict[str, Any], context: EvalContext, expected: bool) -> None:
    assert evaluate(parse_condition(raw), context) is expected
