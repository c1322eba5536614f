"""Service calendars of the SLA levels: service hours, working days and clocks (pure).

The contract (the seed's specification, § 7.5-7.7 and § 8.6) counts everything, availability,
reaction and repair, "w czasie obsługi serwisowej": inside the level's service hours only.

- Standard "10h×5": working days 8:00-18:00; Progres "16h×5": working days 6:00-22:00;
  Progres+ "16h×7": every day 6:00-22:00 except Polish public holidays; Premium "24h×7":
  every minute of every day. Hours are wall-clock hours in the tenant's time zone.
- A working day ("Dzień Roboczy", DR) is Monday to Friday when it is not a Polish public
  holiday (the ``holidays`` package, which is pure data).

Theory of operation: every computation goes through :func:`windows`, which yields the
level's service windows as UTC intervals, built day by day from *local* wall-clock bounds
(``datetime(y, m, d, h, tzinfo=zone)``). So a DST change never stretches or shrinks a
day's service: the October change happens at 3:00, outside 6-22, and a 16×7 day is still
16 h; a 24×7 day is local midnight to local midnight (23 h or 25 h on the change days, which
is the real elapsed time). Intervals are half-open ``[start, end)`` of aware datetimes
truncated to the whole second; durations are whole seconds (int), so sums and comparisons
are exact.

Clocks (reaction, repair) run in service time and stop while the supplier waits for the
customer (§ 8.6: "Czas Reakcji wydłuża się o czas działań Usługobiorcy"): a pause is an
interval subtracted from the service windows before the clock walks them
(:func:`advance`, :func:`elapsed`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays

Interval = tuple[datetime, datetime]

_DAY = timedelta(days=1)


class Level(StrEnum):
    """The four levels of protection a tenant orders (§ 7.1)."""

    STANDARD = "standard"
    PROGRES = "progres"
    PROGRES_PLUS = "progres_plus"
    PREMIUM = "premium"


@dataclass(frozen=True)
class ServiceHours:
    """When a level's service runs: ``start``-``end`` local hours (24 = midnight after) on
    working days only (``working_days_only``) or on every day (minus Polish public holidays
    when ``skip_holidays``)."""

    start: int
    end: int
    working_days_only: bool
    skip_holidays: bool

    @property
    def day_seconds(self) -> int:
        """Length of a service day on a day without a DST change (the 24×7 day: 24 h)."""
        return (self.end - self.start) * 3600


SERVICE_HOURS: dict[Level, ServiceHours] = {
    Level.STANDARD: ServiceHours(8, 18, working_days_only=True, skip_holidays=True),
    Level.PROGRES: ServiceHours(6, 22, working_days_only=True, skip_holidays=True),
    Level.PROGRES_PLUS: ServiceHours(6, 22, working_days_only=False, skip_holidays=True),
    Level.PREMIUM: ServiceHours(0, 24, working_days_only=False, skip_holidays=False),
}


@functools.lru_cache(maxsize=64)
def polish_holidays(year: int) -> frozenset[date]:
    """Polish public holidays ("dni ustawowo wolne od pracy") of ``year``."""
    return frozenset(holidays.country_holidays("PL", years=year).keys())


def is_holiday(day: date) -> bool:
    return day in polish_holidays(day.year)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a Polish public holiday."""
    return day.weekday() < 5 and not is_holiday(day)


def next_working_day(day: date) -> date:
    """The first working day strictly after ``day`` ("NDR")."""
    day += _DAY
    while not is_working_day(day):
        day += _DAY
    return day


def add_working_days(day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``n`` ≥ 1; ``day`` itself never counts)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    for _ in range(n):
        day = next_working_day(day)
    return day


def working_days_between(first: date, last: date) -> int:
    """How many working days in ``first`` … ``last`` inclusive (0 when ``last < first``)."""
    count, day = 0, first
    while day <= last:
        count += is_working_day(day)
        day += _DAY
    return count


def is_service_day(level: Level, day: date) -> bool:
    hours = SERVICE_HOURS[level]
    if hours.working_days_only:
        return is_working_day(day)
    return not (hours.skip_holidays and is_holiday(day))


def _local(day: date, hour: int, zone: ZoneInfo) -> datetime:
    if hour == 24:
        day, hour = day + _DAY, 0
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


def day_window(level: Level, day: date, tz: str) -> Interval | None:
    """The service window of local ``day`` as a UTC interval, or None when there is none."""
    if not is_service_day(level, day):
        return None
    hours, zone = SERVICE_HOURS[level], ZoneInfo(tz)
    return _local(day, hours.start, zone), _local(day, hours.end, zone)


def _check(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")


def _whole(moment: datetime) -> datetime:
    """``moment`` to the whole second: the contract's resolution, and what keeps sums of
    pieces equal to the whole (microseconds truncated piecewise would not add up)."""
    return moment.replace(microsecond=0)


def windows(level: Level, start: datetime, end: datetime, tz: str) -> Iterator[Interval]:
    """The level's service windows clipped to ``[start, end)``, in order, in UTC."""
    _check(start, end)
    start, end = _whole(start), _whole(end)
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date() - _DAY  # a window may begin the local day before
    last = end.astimezone(zone).date()
    while day <= last:
        window = day_window(level, day, tz)
        if window is not None:
            lo, hi = max(window[0], start), min(window[1], end)
            if lo < hi:
                yield lo, hi
        day += _DAY


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """The union of ``intervals`` as sorted, disjoint, non-empty intervals."""
    out: list[Interval] = []
    whole = ((_whole(lo), _whole(hi)) for lo, hi in intervals)
    for lo, hi in sorted(i for i in whole if i[0] < i[1]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def subtract(intervals: Iterable[Interval], holes: Iterable[Interval]) -> list[Interval]:
    """``intervals`` minus ``holes`` (both merged first)."""
    cut = merge(holes)
    out: list[Interval] = []
    for lo, hi in merge(intervals):
        for h_lo, h_hi in cut:
            if h_hi <= lo or h_lo >= hi:
                continue
            if h_lo > lo:
                out.append((lo, h_lo))
            lo = max(lo, h_hi)
            if lo >= hi:
                break
        if lo < hi:
            out.append((lo, hi))
    return out


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    """The intervals common to ``a`` and ``b``."""
    left, right, out = merge(a), merge(b), []
    i = j = 0
    while i < len(left) and j < len(right):
        lo, hi = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if lo < hi:
            out.append((lo, hi))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out


def seconds(intervals: Iterable[Interval]) -> int:
    """Total whole seconds of ``intervals`` (merged, so overlaps count once)."""
    return sum(int((hi - lo).total_seconds()) for lo, hi in merge(intervals))


def service_seconds(level: Level, start: datetime, end: datetime, tz: str) -> int:
    """Seconds of service time in ``[start, end)`` (0 when ``end <= start``)."""
    if end <= start:
        return 0
    return seconds(windows(level, start, end, tz))


def service_seconds_of(level: Level, intervals: Iterable[Interval], tz: str) -> int:
    """Seconds of service time covered by the union of ``intervals``."""
    return sum(service_seconds(level, lo, hi, tz) for lo, hi in merge(intervals))


def elapsed(level: Level, start: datetime, now: datetime, tz: str,
            paused: Sequence[Interval] = ()) -> int:
    """Service seconds a clock started at ``start`` has run by ``now``, pauses excluded."""
    if now <= start:
        return 0
    return seconds(subtract(windows(level, start, now, tz), paused))


def advance(level: Level, start: datetime, amount: int, tz: str,
            paused: Sequence[Interval] = ()) -> datetime:
    """The instant a clock started at ``start`` reaches ``amount`` service seconds.

    Walks the service windows a week at a time, minus the pauses. An open pause (the
    customer has not answered yet) is given with a far-future end: the clock never runs
    out while it lasts, and this walks at most ten years before giving up.
    """
    if amount <= 0:
        return start.astimezone(UTC)
    left, lo = amount, start
    horizon = start + timedelta(days=3660)
    while lo < horizon:
        hi = lo + timedelta(days=7)
        for w_lo, w_hi in subtract(windows(level, lo, hi, tz), paused):
            span = int((w_hi - w_lo).total_seconds())
            if span >= left:
                return (w_lo + timedelta(seconds=left)).astimezone(UTC)
            left -= span
        lo = hi
    raise ValueError("the clock does not run out within ten years")


def end_of_service_day(level: Level, day: date, tz: str) -> datetime:
    """The end of ``day``'s service hours (local), as UTC, whether or not it is a service
    day (a working day is a service day of every level, so the callers never ask)."""
    return _local(day, SERVICE_HOURS[level].end, ZoneInfo(tz))


def working_days_deadline(level: Level, start: datetime, n: int, tz: str,
                          paused: Sequence[Interval] = ()) -> datetime:
    """Deadline of a clock of ``n`` working days started at ``start``: the end of the service
    hours of the ``n``-th working day after ``start``'s local day (``n = 1``: the next
    working day, "NDR"), then pushed further by the service time paused before it."""
    base = end_of_service_day(level, add_working_days(start.astimezone(ZoneInfo(tz)).date(), n),
                              tz)
    held = seconds(intersect(windows(level, start, base, tz), paused))
    if held == 0:
        return base
    # the clock had stopped for ``held`` service seconds: it runs on past the base deadline
    return advance(level, base, held, tz, paused)
