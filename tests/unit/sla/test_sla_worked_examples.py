"""Worked examples of the seed's SLA (§ 2.7, § 7, § 8), one test each, computed by hand.

December 2026 in Europe/Warsaw: 23 weekdays, of which 24 and 25 December are public holidays
(Christmas Eve is one since 2025), so 21 working days; 26 December is a holiday on a
Saturday. Service time A of the month: Standard 21 × 10 h = 210 h, Progres 21 × 16 h =
336 h, Progres+ (31 − 3 holidays) × 16 h = 448 h, Premium 31 × 24 h = 744 h.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from controlplane.sla import calendar as cal
from controlplane.sla import terms
from controlplane.sla.calendar import Level
from controlplane.sla.terms import IncidentFacts, Priority

TZ = "Europe/Warsaw"
W = ZoneInfo(TZ)
DEC = terms.month_period(2026, 12, TZ)
FEE = Decimal("1000.00")
H = 3600


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=W)  # type: ignore[misc]


def hours(level: Level, start: datetime, end: datetime) -> float:
    return cal.service_seconds(level, start, end, TZ) / H


# ---- service hours of every level ---------------------------------------------------------

def test_standard_is_8_to_18_on_working_days() -> None:
    assert hours(Level.STANDARD, at(2026, 12, 2, 0), at(2026, 12, 3, 0)) == 10  # Wednesday
    assert hours(Level.STANDARD, at(2026, 12, 2, 7), at(2026, 12, 2, 9)) == 1
    assert hours(Level.STANDARD, at(2026, 12, 5, 0), at(2026, 12, 7, 0)) == 0  # weekend


def test_progres_is_6_to_22_on_working_days() -> None:
    assert hours(Level.PROGRES, at(2026, 12, 2, 0), at(2026, 12, 3, 0)) == 16
    assert hours(Level.PROGRES, at(2026, 12, 5, 0), at(2026, 12, 7, 0)) == 0
    assert hours(Level.PROGRES, at(2026, 11, 11, 0), at(2026, 11, 12, 0)) == 0  # holiday


def test_progres_plus_is_6_to_22_every_day_but_public_holidays() -> None:
    assert hours(Level.PROGRES_PLUS, at(2026, 12, 5, 0), at(2026, 12, 7, 0)) == 32  # weekend
    assert hours(Level.PROGRES_PLUS, at(2026, 11, 11, 0), at(2026, 11, 12, 0)) == 0
    assert hours(Level.PROGRES_PLUS, at(2026, 12, 26, 0), at(2026, 12, 27, 0)) == 0  # Sat hol.


def test_premium_is_24x7_holidays_included() -> None:
    assert hours(Level.PREMIUM, at(2026, 11, 11, 0), at(2026, 11, 12, 0)) == 24
    assert hours(Level.PREMIUM, at(2026, 12, 5, 0), at(2026, 12, 7, 0)) == 48


@pytest.mark.parametrize(("level", "expected"), [
    (Level.STANDARD, 210), (Level.PROGRES, 336), (Level.PROGRES_PLUS, 448),
    (Level.PREMIUM, 744)])
def test_service_time_of_december(level: Level, expected: int) -> None:
    assert cal.service_seconds(level, *DEC, TZ) == expected * H


def test_dst_days_keep_16_hours_and_premium_follows_the_clock() -> None:
    assert hours(Level.PROGRES_PLUS, at(2026, 10, 25, 0), at(2026, 10, 26, 0)) == 16
    assert hours(Level.PREMIUM, at(2026, 10, 25, 0), at(2026, 10, 26, 0)) == 25
    assert hours(Level.PREMIUM, at(2026, 3, 29, 0), at(2026, 3, 30, 0)) == 23


# ---- availability and credits -------------------------------------------------------------

def outage(start: datetime, length_h: float) -> list[cal.Interval]:
    return [(start, start + timedelta(hours=length_h))]


def test_standard_3h_down_is_98_571_and_5_percent() -> None:
    a = terms.availability(Level.STANDARD, DEC, TZ, outage(at(2026, 12, 2, 9), 3))
    assert a.ratio == Fraction(207, 210) and a.percent == Decimal("98.571")
    assert terms.credit_percent(Level.STANDARD, a.ratio) == 5


def test_standard_exactly_at_99_gets_nothing_one_second_more_gets_5() -> None:
    start = at(2026, 12, 2, 9)
    edge = [(start, start + timedelta(seconds=7560))]  # 1 % of 210 h
    a = terms.availability(Level.STANDARD, DEC, TZ, edge)
    assert a.ratio == Fraction(99, 100) and terms.credit_percent(Level.STANDARD, a.ratio) == 0
    more = [(start, start + timedelta(seconds=7561))]
    a = terms.availability(Level.STANDARD, DEC, TZ, more)
    assert terms.credit_percent(Level.STANDARD, a.ratio) == 5


def test_standard_below_98_is_10_and_below_97_is_15() -> None:
    assert terms.credit_percent(Level.STANDARD, Fraction(979, 1000)) == 10
    assert terms.credit_percent(Level.STANDARD, Fraction(969, 1000)) == 15


def test_standard_outage_on_saturday_changes_nothing() -> None:
    a = terms.availability(Level.STANDARD, DEC, TZ, outage(at(2026, 12, 5, 9), 8))
    assert a.down == 0 and a.ratio == 1


def test_progres_4h_down_is_below_99_and_10_percent() -> None:
    a = terms.availability(Level.PROGRES, DEC, TZ, outage(at(2026, 12, 3, 20), 4))
    assert a.down == 2 * H  # 20-22 counts, 22-24 is outside service hours
    a = terms.availability(Level.PROGRES, DEC, TZ, outage(at(2026, 12, 3, 10), 4))
    assert a.ratio == Fraction(332, 336)
    assert terms.credit_percent(Level.PROGRES, a.ratio) == 10


def test_progres_plus_10h_down_on_a_sunday_is_15_percent() -> None:
    a = terms.availability(Level.PROGRES_PLUS, DEC, TZ, outage(at(2026, 12, 6, 8), 10))
    assert a.ratio == Fraction(438, 448)  # 97.77 % < 98 %
    assert terms.credit_percent(Level.PROGRES_PLUS, a.ratio) == 15


def test_progres_plus_outage_on_a_polish_public_holiday_changes_nothing() -> None:
    nov = terms.month_period(2026, 11, TZ)
    down = outage(at(2026, 11, 11, 10), 4)  # Independence Day, a Wednesday
    plus = terms.availability(Level.PROGRES_PLUS, nov, TZ, down)
    assert plus.down == 0 and plus.ratio == 1
    premium = terms.availability(Level.PREMIUM, nov, TZ, down)
    assert premium.down == 4 * H  # the same outage counts at 24×7


def test_premium_1h_down_is_5_percent_and_announced_maintenance_is_excluded() -> None:
    a = terms.availability(Level.PREMIUM, DEC, TZ, outage(at(2026, 12, 2, 3), 1))
    assert a.ratio == Fraction(743, 744) and terms.credit_percent(Level.PREMIUM, a.ratio) == 5
    window = outage(at(2026, 12, 9, 1), 4)
    down = outage(at(2026, 12, 9, 4), 1.5)  # 4:00-5:00 inside the window is C, not B
    a = terms.availability(Level.PREMIUM, DEC, TZ, down, window)
    assert (a.service, a.down, a.maintenance) == (744 * H, H // 2, 4 * H)
    assert a.ratio == Fraction(7395, 7400)  # (744 - 0.5 - 4) / (744 - 4) = 99.93 %
    assert terms.credit_percent(Level.PREMIUM, a.ratio) == 0


def test_premium_below_99_5_is_10_and_below_99_is_15() -> None:
    assert terms.credit_percent(Level.PREMIUM, Fraction(994, 1000)) == 10
    assert terms.credit_percent(Level.PREMIUM, Fraction(989, 1000)) == 15


def test_functions_down_together_count_once() -> None:
    s = terms.statement(Level.PREMIUM, DEC, TZ, FEE, downtime={
        "inbound": outage(at(2026, 12, 2, 3), 1), "outbound": outage(at(2026, 12, 2, 3, 30), 1)})
    assert s.availability.down == 1.5 * H
    assert s.downtime_by_function == {"inbound": H, "outbound": H}


def test_credit_needs_a_reported_failure_and_a_claim_within_30_days() -> None:
    down = {"inbound": outage(at(2026, 12, 2, 3), 1)}
    claim = DEC[1] + timedelta(days=30)
    s = terms.statement(Level.PREMIUM, DEC, TZ, FEE, downtime=down, failure_reported=True,
                        claimed_at=claim)
    assert s.credit_eligible and s.credit == Decimal("50.00")
    late = terms.statement(Level.PREMIUM, DEC, TZ, FEE, downtime=down, failure_reported=True,
                           claimed_at=claim + timedelta(seconds=1))
    assert not late.credit_eligible and late.credit == 0
    unreported = terms.statement(Level.PREMIUM, DEC, TZ, FEE, downtime=down, claimed_at=claim)
    assert unreported.credit == 0 and unreported.credit_percent == 5


# ---- reaction and repair clocks -----------------------------------------------------------

def test_premium_critical_late_3_5_h_pays_3_full_hours_at_1_5_percent() -> None:
    inc = IncidentFacts(1, Priority.CRITICAL, at(2026, 12, 2, 10), at(2026, 12, 2, 10, 20),
                        at(2026, 12, 2, 15, 50))
    c = terms.clocks(Level.PREMIUM, inc, TZ)
    assert c.reaction_due == at(2026, 12, 2, 10, 30) and c.repair_due == at(2026, 12, 2, 12, 20)
    p = terms.penalty(Level.PREMIUM, FEE, inc, DEC, TZ, DEC[1])
    assert p is not None and (p.full_units, p.amount) == (3, Decimal("45.00"))


def test_progres_critical_repair_clock_stops_over_the_weekend() -> None:
    inc = IncidentFacts(2, Priority.CRITICAL, at(2026, 12, 4, 19), at(2026, 12, 4, 19, 30),
                        at(2026, 12, 7, 11, 10))  # Friday evening, repaired Monday
    c = terms.clocks(Level.PROGRES, inc, TZ)
    assert c.reaction_due == at(2026, 12, 4, 20) and c.repair_due == at(2026, 12, 7, 8, 30)
    p = terms.penalty(Level.PROGRES, FEE, inc, DEC, TZ, DEC[1])
    assert p is not None and (p.full_units, p.amount) == (2, Decimal("20.00"))


def test_progres_plus_critical_repair_clock_runs_on_saturday() -> None:
    inc = IncidentFacts(3, Priority.CRITICAL, at(2026, 12, 4, 19), at(2026, 12, 4, 19, 30))
    assert terms.clocks(Level.PROGRES_PLUS, inc, TZ).repair_due == at(2026, 12, 5, 8, 30)


def test_standard_critical_ndr_late_across_christmas_pays_2_days_of_1_30() -> None:
    # reported Monday 21 Dec, due at 18:00 on Tuesday 22; repaired Tuesday 29 at 12:00:
    # late service time 23 Dec 10 h + 28 Dec 10 h + 29 Dec 4 h (24-27 are holidays/weekend)
    inc = IncidentFacts(4, Priority.CRITICAL, at(2026, 12, 21, 10), at(2026, 12, 21, 11),
                        at(2026, 12, 29, 12))
    c = terms.clocks(Level.STANDARD, inc, TZ)
    assert c.reaction_due == at(2026, 12, 21, 14) and c.repair_due == at(2026, 12, 22, 18)
    p = terms.penalty(Level.STANDARD, Decimal("3000.00"), inc, DEC, TZ, DEC[1])
    assert p is not None
    assert (p.late_seconds, p.full_units, p.amount) == (24 * H, 2, Decimal("200.00"))


def test_standard_medium_reaction_is_the_next_working_day() -> None:
    inc = IncidentFacts(5, Priority.MEDIUM, at(2026, 12, 4, 17))  # Friday
    c = terms.clocks(Level.STANDARD, inc, TZ)
    assert c.reaction_due == at(2026, 12, 7, 18)
    assert c.repair_due == at(2026, 12, 28, 18)  # 14 WD: 7-11, 14-18, 21-23, 28 Dec


def test_premium_medium_repair_is_3_working_days_to_midnight() -> None:
    inc = IncidentFacts(6, Priority.MEDIUM, at(2026, 12, 3, 9), at(2026, 12, 3, 9))
    assert terms.clocks(Level.PREMIUM, inc, TZ).repair_due == at(2026, 12, 9, 0)


def test_waiting_for_the_customer_extends_the_clock() -> None:
    wait = ((at(2026, 12, 2, 11), at(2026, 12, 2, 13)),)
    inc = IncidentFacts(7, Priority.HIGH, at(2026, 12, 2, 10), at(2026, 12, 2, 10),
                        at(2026, 12, 2, 20), wait)
    assert terms.clocks(Level.PREMIUM, inc, TZ).repair_due == at(2026, 12, 2, 20)
    assert terms.penalty(Level.PREMIUM, FEE, inc, DEC, TZ, DEC[1]) is None


def test_late_repair_outside_service_hours_costs_nothing() -> None:
    # Standard High: 7 WD; due 18:00, repaired over the following night: no service time
    inc = IncidentFacts(8, Priority.HIGH, at(2026, 12, 1, 9), at(2026, 12, 1, 9))
    due = terms.clocks(Level.STANDARD, inc, TZ).repair_due
    assert due == at(2026, 12, 10, 18)
    repaired = IncidentFacts(8, Priority.HIGH, inc.opened_at, inc.reacted_at,
                             at(2026, 12, 11, 7, 59))
    assert terms.penalty(Level.STANDARD, FEE, repaired, DEC, TZ, DEC[1]) is None


def test_penalties_are_capped_at_one_months_fee() -> None:
    inc = IncidentFacts(9, Priority.CRITICAL, at(2026, 12, 1, 0), at(2026, 12, 1, 0),
                        at(2026, 12, 8, 0))  # 166 h late at 1.5 % = 249 %
    s = terms.statement(Level.PREMIUM, DEC, TZ, FEE, downtime={}, incidents=[inc])
    assert s.penalties[0].amount == Decimal("2490.00")
    assert s.penalties_capped and s.penalties_total == FEE


def test_unrepaired_incident_is_charged_to_the_period_it_is_late_in() -> None:
    inc = IncidentFacts(10, Priority.CRITICAL, at(2026, 11, 30, 23), at(2026, 11, 30, 23))
    nov = terms.month_period(2026, 11, TZ)
    now = at(2026, 12, 1, 4)
    # due 1 Dec 1:00: nothing late in November, 3 full hours in December (until now)
    assert terms.penalty(Level.PREMIUM, FEE, inc, nov, TZ, now) is None
    p = terms.penalty(Level.PREMIUM, FEE, inc, DEC, TZ, now)
    assert p is not None and p.full_units == 3


def test_month_period_is_local_midnight_to_midnight() -> None:
    start, end = terms.month_period(2026, 12, TZ)
    assert start == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_a_pause_after_the_reaction_moves_only_the_repair_deadline() -> None:
    # Premium High: reaction 1 h, reacted at 10:30; the customer's turn 11:00-13:00.
    wait = ((at(2026, 12, 2, 11), at(2026, 12, 2, 13)),)
    inc = IncidentFacts(9, Priority.HIGH, at(2026, 12, 2, 10), at(2026, 12, 2, 10, 30),
                        None, wait)
    plain = IncidentFacts(9, Priority.HIGH, at(2026, 12, 2, 10), at(2026, 12, 2, 10, 30))
    c, c0 = terms.clocks(Level.PREMIUM, inc, TZ), terms.clocks(Level.PREMIUM, plain, TZ)
    assert c.reaction_due == c0.reaction_due
    assert c.repair_due == c0.repair_due + timedelta(hours=2)
    # a turn that began before the reaction still counts for it, up to the reaction
    early = IncidentFacts(9, Priority.HIGH, at(2026, 12, 2, 10), at(2026, 12, 2, 10, 40),
                          None, ((at(2026, 12, 2, 10, 10), at(2026, 12, 2, 12)),))
    assert terms.clocks(Level.PREMIUM, early, TZ).reaction_due \
        == c0.reaction_due + timedelta(minutes=30)


def test_the_chart_days_add_up_to_the_period() -> None:
    """Day by day in the tenant's zone: Standard has no service on the weekend; an outage
    counts on the day it happened; the days' A and B add up to the period's."""
    week = (at(2026, 12, 7), at(2026, 12, 14))  # Monday to Monday, Warsaw
    down = [(at(2026, 12, 8, 9), at(2026, 12, 8, 11)), (at(2026, 12, 12, 9), at(2026, 12, 12, 10))]
    st = terms.statement(Level.STANDARD, week, TZ, FEE, downtime={"inbound_call": down})
    days = dict(st.days)
    assert len(days) == 7 and sum(a.service for a in days.values()) == st.availability.service
    assert sum(a.down for a in days.values()) == st.availability.down == 2 * H  # not Saturday's
    tuesday, saturday = days[date(2026, 12, 8)], days[date(2026, 12, 12)]
    assert (tuesday.service, tuesday.down) == (10 * H, 2 * H)
    assert (saturday.service, saturday.down) == (0, 0) and saturday.ratio == 1
