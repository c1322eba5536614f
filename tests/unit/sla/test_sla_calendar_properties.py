"""Properties of the service calendar (hypothesis): working days, holidays, paused clocks, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.sla import calendar as cal
from controlplane.sla.calendar import Level

ZONES = st.sampled_from(["Europe/Warsaw", "America/New_York", "UTC"])
LEVELS = st.sampled_from(list(Level))
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31))
INSTANTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 1),
                        timezones=st.just(UTC))
fast = settings(max_examples=60, deadline=None)


@fast
@given(DAYS, st.integers(min_value=1, max_value=25))
def test_add_working_days_lands_on_the_nth_working_day(day: date, n: int) -> None:
    due = cal.add_working_days(day, n)
    assert due > day and cal.is_working_day(due)
    assert cal.working_days_between(day + timedelta(days=1), due) == n


@fast
@given(DAYS)
def test_next_working_day_skips_weekends_and_holidays_only(day: date) -> None:
    nxt = cal.next_working_day(day)
    assert nxt.weekday() < 5 and nxt not in cal.polish_holidays(nxt.year)
    between = day + timedelta(days=1)
    while between < nxt:
        assert between.weekday() >= 5 or between in cal.polish_holidays(between.year)
        between += timedelta(days=1)


@fast
@given(LEVELS, ZONES, INSTANTS, st.integers(0, 20 * 86400), st.integers(0, 20 * 86400))
def test_service_time_is_additive(level: Level, tz: str, a: datetime, x: int, y: int) -> None:
    b, c = a + timedelta(seconds=x), a + timedelta(seconds=x + y)
    assert (cal.service_seconds(level, a, c, tz)
            == cal.service_seconds(level, a, b, tz) + cal.service_seconds(level, b, c, tz))
    assert cal.service_seconds(level, a, c, tz) <= x + y


@fast
@given(LEVELS, ZONES, DAYS)
def test_a_service_day_has_its_length_whatever_the_dst(level: Level, tz: str, day: date) -> None:
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    got = cal.service_seconds(level, start, end, tz)
    if not cal.is_service_day(level, day):
        assert got == 0
    elif level is Level.PREMIUM:
        # 23, 24 or 25 h of real time (same-zone datetimes subtract as wall clocks: go to UTC)
        assert got == int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds())
    else:
        assert got == cal.SERVICE_HOURS[level].day_seconds  # 10 or 16 h, DST or not


@fast
@given(DAYS)
def test_holidays_close_every_level_but_premium(day: date) -> None:
    if not cal.is_holiday(day):
        return
    for level in (Level.STANDARD, Level.PROGRES, Level.PROGRES_PLUS):
        assert not cal.is_service_day(level, day)
    assert cal.is_service_day(Level.PREMIUM, day)


pauses = st.lists(st.tuples(st.integers(0, 10 * 86400), st.integers(1, 3 * 86400)), max_size=3)


@fast
@given(LEVELS, ZONES, INSTANTS, st.integers(1, 40 * 3600), pauses)
def test_advance_and_elapsed_are_inverse_and_pauses_only_delay(
        level: Level, tz: str, start: datetime, amount: int,
        raw: list[tuple[int, int]]) -> None:
    paused = [(start + timedelta(seconds=o), start + timedelta(seconds=o + n)) for o, n in raw]
    due = cal.advance(level, start, amount, tz, paused)
    assert cal.elapsed(level, start, due, tz, paused) == amount
    assert due >= cal.advance(level, start, amount, tz)
    # the clock never ends inside a pause or outside service hours
    assert cal.elapsed(level, start, due - timedelta(seconds=1), tz, paused) == amount - 1


@fast
@given(LEVELS, ZONES, INSTANTS, st.integers(1, 15), pauses)
def test_working_day_deadlines_grow_with_pauses_and_days(
        level: Level, tz: str, start: datetime, n: int, raw: list[tuple[int, int]]) -> None:
    paused = [(start + timedelta(seconds=o), start + timedelta(seconds=o + k)) for o, k in raw]
    plain = cal.working_days_deadline(level, start, n, tz)
    assert plain > start
    assert cal.working_days_deadline(level, start, n, tz, paused) >= plain
    assert cal.working_days_deadline(level, start, n + 1, tz) > plain


@fast
@given(st.lists(st.tuples(INSTANTS, st.integers(0, 86400)), max_size=6),
       st.lists(st.tuples(INSTANTS, st.integers(0, 86400)), max_size=6))
def test_interval_algebra_adds_up(a_raw: list[tuple[datetime, int]],
                                  b_raw: list[tuple[datetime, int]]) -> None:
    a = [(s, s + timedelta(seconds=n)) for s, n in a_raw]
    b = [(s, s + timedelta(seconds=n)) for s, n in b_raw]
    assert cal.seconds(a) == cal.seconds(cal.subtract(a, b)) + cal.seconds(cal.intersect(a, b))
