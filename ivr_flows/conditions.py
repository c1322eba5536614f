"""Conditions of ``condition`` nodes: time, weekday, dates, holidays, caller, variables.

Theory of operation
-------------------
A condition in a flow document is an object with exactly one key::

    {"time": {"from": "08:00", "to": "18:00"}}      local time in [from, to)
    {"weekday": ["mon", "tue"]}                       local weekday
    {"date": {"from": "12-24", "to": "01-01"}}        inclusive; MM-DD repeats yearly
    {"holiday": {"public": true, "calendars": [..]}}  public holiday or tenant closure
    {"caller": {"prefix": ["+4822"], "regex": ".."}}  caller number (all keys must hold)
    {"compare": {"var": "x", "op": "gt", "value": 1}} variable comparison
    {"all": [..]}, {"any": [..]}, {"not": {..}}       combinators

:func:`parse_condition` turns it into frozen dataclasses (the document is
assumed schema-valid); :func:`evaluate` decides it against an
:class:`EvalContext`, which carries the clock (converted to the flow's time
zone), the tenant's holiday calendars passed in as data, the caller number and
the variables. Public holidays come from the ``holidays`` library (Poland by
default). Nothing here reads the system clock or does I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import holidays

from .templates import format_value, parse, template_variables

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMPARE_OPS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "matches", "set", "empty")


@dataclass(frozen=True)
class TimeOfDay:
    start: int  # minutes after midnight
    end: int


@dataclass(frozen=True)
class Weekday:
    days: frozenset[int]  # 0 = Monday


@dataclass(frozen=True)
class DateRange:
    start: tuple[int | None, int, int]  # (year or None for every year, month, day)
    end: tuple[int | None, int, int]


@dataclass(frozen=True)
class Holiday:
    public: bool
    country: str | None  # None: the flow's settings.holiday_country
    calendars: tuple[str, ...]


@dataclass(frozen=True)
class Caller:
    prefixes: tuple[str, ...]
    regex: str | None
    anonymous: bool | None


@dataclass(frozen=True)
class Compare:
    var: str
    op: str
    value: Any


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = TimeOfDay | Weekday | DateRange | Holiday | Caller | Compare | AllOf | AnyOf | Not


@dataclass(frozen=True)
class EvalContext:
    """Everything a condition may look at; ``now`` is already in the flow's time zone."""

    now: datetime
    holiday_country: str
    calendars: Mapping[str, frozenset[date]]
    caller_id: str
    variables: Mapping[str, Any]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _day(text: str) -> tuple[int | None, int, int]:
    pieces = [int(p) for p in text.split("-")]
    if len(pieces) == 3:
        return (pieces[0], pieces[1], pieces[2])
    return (None, pieces[0], pieces[1])


def parse_condition(raw: Mapping[str, Any]) -> Condition:
    """Build a condition from its (schema-valid) JSON form."""
    ((key, body),) = raw.items()
    if key == "time":
        return TimeOfDay(_minutes(body["from"]), _minutes(body["to"]))
    if key == "weekday":
        return Weekday(frozenset(WEEKDAYS.index(d) for d in body))
    if key == "date":
        return DateRange(_day(body["from"]), _day(body["to"]))
    if key == "holiday":
        return Holiday(
            bool(body.get("public", True)), body.get("country"), tuple(body.get("calendars", ()))
        )
    if key == "caller":
        return Caller(tuple(body.get("prefix", ())), body.get("regex"), body.get("anonymous"))
    if key == "compare":
        return Compare(body["var"], body["op"], body.get("value"))
    if key == "all":
        return AllOf(tuple(parse_condition(c) for c in body))
    if key == "any":
        return AnyOf(tuple(parse_condition(c) for c in body))
    if key == "not":
        return Not(parse_condition(body))
    raise ValueError(f"unknown condition {key!r}")


@functools.lru_cache(maxsize=64)
def public_holidays(country: str, year: int) -> frozenset[date]:
    """Public holidays of ``country`` in ``year`` (cached; the library is pure data)."""
    return frozenset(holidays.country_holidays(country, years=year).keys())


def is_holiday(
    day: date, country: str | None, calendars: Mapping[str, frozenset[date]], names: tuple[str, ...]
) -> bool:
    """True when ``day`` is a public holiday of ``country`` or in one of the named calendars."""
    if country is not None and day in public_holidays(country, day.year):
        return True
    return any(day in calendars.get(name, frozenset()) for name in names)


def _in_date_range(day: date, rng: DateRange) -> bool:
    start_y, end_y = rng.start[0], rng.end[0]
    if start_y is not None and end_y is not None:
        return date(*rng.start) <= day <= date(*rng.end)  # type: ignore[arg-type]
    today = (day.month, day.day)
    lo, hi = rng.start[1:], rng.end[1:]
    if lo <= hi:
        return lo <= today <= hi
    return today >= lo or today <= hi  # wraps the new year, e.g. 12-24 .. 01-01


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _operand(value: Any, variables: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        template = parse(value)
        if len(template.parts) == 1 and template.parts[0][1] is not None:
            return variables.get(template.parts[0][1])
        return template.render(variables)[0]
    if isinstance(value, list):
        return [_operand(v, variables) for v in value]
    return value


def _equal(left: Any, right: Any) -> bool:
    ln, rn = _number(left), _number(right)
    if ln is not None and rn is not None:
        return ln == rn
    return format_value(left) == format_value(right)


def _compare(cond: Compare, variables: Mapping[str, Any]) -> bool:
    left = variables.get(cond.var)
    if cond.op == "set":
        return left is not None
    if cond.op == "empty":
        return left is None or left == "" or left == []
    if cond.op == "matches":  # the value is a regular expression, not a template
        return re.fullmatch(str(cond.value), format_value(left)) is not None
    right = _operand(cond.value, variables)
    if cond.op == "eq":
        return _equal(left, right)
    if cond.op == "ne":
        return not _equal(left, right)
    if cond.op in ("in", "not_in"):
        items = right if isinstance(right, list) else [right]
        found = any(_equal(left, item) for item in items)
        return found if cond.op == "in" else not found
    ln, rn = _number(left), _number(right)
    pair: tuple[Any, Any] = (
        (ln, rn)
        if ln is not None and rn is not None
        else (
            format_value(left),
            format_value(right),
        )
    )
    a, b = pair
    return bool({"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[cond.op])


def evaluate(cond: Condition, ctx: EvalContext) -> bool:
    """Decide ``cond`` in ``ctx``."""
    match cond:
        case TimeOfDay(start, end):
            minute = ctx.now.hour * 60 + ctx.now.minute
            if start <= end:
                return start <= minute < end
            return minute >= start or minute < end
        case Weekday(days):
            return ctx.now.weekday() in days
        case DateRange():
            return _in_date_range(ctx.now.date(), cond)
        case Holiday(public, country, names):
            code = (country or ctx.holiday_country) if public else None
            return is_holiday(ctx.now.date(), code, ctx.calendars, names)
        case Caller(prefixes, regex, anonymous):
            number = ctx.caller_id.replace(" ", "")
            checks = []
            if prefixes:
                checks.append(any(number.startswith(p.replace(" ", "")) for p in prefixes))
            if regex is not None:
                checks.append(re.search(regex, number) is not None)
            if anonymous is not None:
                is_anon = number.lower() in ("", "anonymous", "unknown", "restricted")
                checks.append(is_anon == anonymous)
            return all(checks)
        case Compare():
            return _compare(cond, ctx.variables)
        case AllOf(items):
            return all(evaluate(c, ctx) for c in items)
        case AnyOf(items):
            return any(evaluate(c, ctx) for c in items)
        case Not(item):
            return not evaluate(item, ctx)
    raise TypeError(f"not a condition: {cond!r}")


def condition_variables(cond: Condition) -> list[tuple[str, str]]:
    """``(relative JSON pointer, variable)`` pairs a condition reads and needs set.

    ``set`` and ``empty`` comparisons test presence, so they do not need the
    variable to be set beforehand.
    """
    match cond:
        case Compare(var, op, value):
            uses = [] if op in ("set", "empty") else [("/compare/var", var)]
            if op != "matches":  # a regular expression, not a template
                uses += [("/compare/value", name) for name in template_variables(value)]
            return uses
        case AllOf(items) | AnyOf(items):
            key = "all" if isinstance(cond, AllOf) else "any"
            return [
                (f"/{key}/{i}{ptr}", name)
                for i, item in enumerate(items)
                for ptr, name in condition_variables(item)
            ]
        case Not(item):
            return [(f"/not{ptr}", name) for ptr, name in condition_variables(item)]
    return []
