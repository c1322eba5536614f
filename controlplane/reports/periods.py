"""A report's date range cut into intervals (hour, day, week, month) of the tenant's clock.

Theory of operation
-------------------
A report covers whole local days, ``first`` to ``last`` inclusive, in the tenant's time zone.
:func:`buckets` turns that into half-open epoch intervals ``[start, end)``: day, week
(Monday) and month edges are local midnights built from the wall clock
(``datetime(y, m, d, tzinfo=zone)``), so a DST change makes the day 23 or 25 hours long
(the real elapsed time) and never moves a midnight; hours are the range's start plus whole
hours, so the autumn change has two buckets labelled 02:00 (each with its UTC offset) and
the spring change none at 02:00. A week or month that starts before ``first`` or ends after
``last`` is clipped to the range (the report never counts a day outside it). Everything is
pure: the store reads rows for ``[start of the first, end of the last)`` and the builders
place each moment with :meth:`Buckets.index` (a bisection).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

_DAY = timedelta(days=1)


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Bucket:
    start: float  # epoch seconds, inclusive
    end: float  # epoch seconds, exclusive
    local: datetime  # the start on the tenant's clock (aware), for labels

    @property
    def key(self) -> str:
        """A stable label: the local start, ISO 8601 with its offset (CSV, API)."""
        return self.local.isoformat(timespec="minutes")


@dataclass(frozen=True, slots=True)
class Buckets:
    interval: Interval
    zone: str
    items: tuple[Bucket, ...]
    starts: tuple[float, ...]  # each item's start, for the bisection

    @property
    def start(self) -> float:
        return self.items[0].start

    @property
    def end(self) -> float:
        return self.items[-1].end

    def index(self, t: float) -> int | None:
        """The bucket holding moment ``t``, None outside the range."""
        if not self.items or t < self.start or t >= self.end:
            return None
        return bisect.bisect_right(self.starts, t) - 1


def _made(interval: Interval, zone: str, items: list[Bucket]) -> Buckets:
    return Buckets(interval, zone, tuple(items), tuple(b.start for b in items))


def zone_of(name: str) -> ZoneInfo:
    """The tenant's zone; UTC when the name is unknown (a report never fails on it)."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _next_edge(day: date, interval: Interval) -> date:
    if interval is Interval.WEEK:
        return day + timedelta(days=7 - day.weekday())
    if interval is Interval.MONTH:
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return day + _DAY


def buckets(first: date, last: date, zone: str, interval: Interval) -> Buckets:
    """The intervals of local days ``first``..``last`` (inclusive) in ``zone``."""
    if last < first:
        raise ValueError("the range ends before it starts")
    tz = zone_of(zone)
    end_day = last + _DAY
    items: list[Bucket] = []
    if interval is Interval.HOUR:
        t, stop = midnight(first, tz).timestamp(), midnight(end_day, tz).timestamp()
        while t < stop:
            items.append(Bucket(t, min(t + 3600.0, stop), datetime.fromtimestamp(t, tz)))
            t += 3600.0
        return _made(interval, zone, items)
    day = first
    while day < end_day:
        nxt = min(_next_edge(day, interval), end_day)
        start = midnight(day, tz)
        items.append(Bucket(start.timestamp(), midnight(nxt, tz).timestamp(), start))
        day = nxt
    return _made(interval, zone, items)


def chunks(first: date, last: date, interval: Interval, days: int = 7) -> list[tuple[date, date]]:
    """The range cut into spans of whole intervals of about ``days`` days (at least one
    interval each), for a job that builds a long report piece by piece with progress:
    every interval lies in exactly one span, so no bucket is split between two."""
    step = Interval.DAY if interval is Interval.HOUR else interval
    out: list[tuple[date, date]] = []
    span_start = day = first
    end_day = last + _DAY
    while day < end_day:
        nxt = min(_next_edge(day, step), end_day)
        if (nxt - span_start).days >= days or nxt == end_day:
            out.append((span_start, nxt - _DAY))
            span_start = nxt
        day = nxt
    return out
