"""A chat widget's opening hours: is the chat open now? (pure)

The hours are a small JSON object kept on the widget (``chat_widget.hours``)::

    {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00",
     "holidays": true, "calendars": ["office"]}

open on those weekdays, local time in ``[from, to)`` (``to`` before ``from`` crosses
midnight), closed on Polish public holidays when ``holidays`` is true and on the days of
the tenant's named holiday calendars (the IVR's ``holiday_calendar_day``). ``None`` (no
hours) means always open.

Theory of operation: the object becomes an IVR condition (``ivr_flows.conditions``:
weekday, time of day, not a holiday) and is decided the way an IVR flow decides its time
conditions, in the tenant's time zone, so a chat and a call to the same office close at
the same minute. Nothing here reads the clock or the database: the caller passes ``now``
and the calendars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr_flows.conditions import (
    WEEKDAYS,
    AllOf,
    Condition,
    EvalContext,
    Holiday,
    Not,
    TimeOfDay,
    Weekday,
    evaluate,
)

HOLIDAY_COUNTRY = "PL"
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def problems(hours: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is wrong with ``hours``, as ``(field, message)`` pairs (empty: fine)."""
    out: list[tuple[str, str]] = []
    days = hours.get("days", [])
    if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
        out.append(("hours.days", "one or more of " + ", ".join(WEEKDAYS)))
    for key in ("from", "to"):
        value = hours.get(key)
        if not isinstance(value, str) or not _HHMM.match(value):
            out.append((f"hours.{key}", "a time as HH:MM"))
    if hours.get("from") == hours.get("to") and not out:
        out.append(("hours.to", "must differ from the opening time"))
    return out


def condition(hours: Mapping[str, Any]) -> Condition:
    """``hours`` as an IVR condition (``hours`` is valid: see :func:`problems`)."""
    def minutes(hhmm: str) -> int:
        h, m = hhmm.split(":")
        return int(h) * 60 + int(m)

    parts: list[Condition] = [
        Weekday(frozenset(WEEKDAYS.index(d) for d in hours["days"])),
        TimeOfDay(minutes(hours["from"]), minutes(hours["to"])),
    ]
    names = tuple(hours.get("calendars") or ())
    if hours.get("holidays", True) or names:
        parts.append(Not(Holiday(bool(hours.get("holidays", True)), HOLIDAY_COUNTRY, names)))
    return AllOf(tuple(parts))


def is_open(hours: Mapping[str, Any] | None, now: datetime, time_zone: str,
            calendars: Mapping[str, frozenset[date]] | None = None) -> bool:
    """True when a chat may start at ``now`` (aware) under ``hours`` in ``time_zone``."""
    if not hours:
        return True
    ctx = EvalContext(now=now.astimezone(ZoneInfo(time_zone)), holiday_country=HOLIDAY_COUNTRY,
                      calendars=calendars or {}, caller_id="", variables={})
    return evaluate(condition(hours), ctx)
