"""Opening hours of a chat widget, decided like an IVR time condition (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from controlplane.chat import canned, hours

OFFICE = {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "18:00",
          "holidays": True, "calendars": ["office"]}
ZONE = "Europe/Warsaw"


@pytest.mark.parametrize(("when", "open_"), [
    (datetime(2026, 12, 7, 7, 30, tzinfo=UTC), True),    # Monday 8:30 in Warsaw
    (datetime(2026, 12, 7, 6, 59, tzinfo=UTC), False),   # Monday 7:59 local
    (datetime(2026, 12, 7, 17, 0, tzinfo=UTC), False),   # Monday 18:00 local: closed
    (datetime(2026, 12, 5, 10, 0, tzinfo=UTC), False),   # Saturday
    (datetime(2026, 12, 25, 10, 0, tzinfo=UTC), False),  # Christmas (a public holiday)
    (datetime(2026, 12, 8, 10, 0, tzinfo=UTC), False),   # the tenant's office calendar
])
def test_open_on_working_hours_in_the_tenants_zone(when: datetime, open_: bool) -> None:
    calendars = {"office": frozenset({date(2026, 12, 8)})}
    assert hours.is_open(OFFICE, when, ZONE, calendars) is open_


def test_no_hours_is_always_open_and_bad_hours_are_named() -> None:
    assert hours.is_open(None, datetime(2026, 12, 5, 3, tzinfo=UTC), ZONE)
    assert hours.problems({"days": [], "from": "25:00", "to": "18:00"}) == [
        ("hours.days", "one or more of mon, tue, wed, thu, fri, sat, sun"),
        ("hours.from", "a time as HH:MM")]
    assert hours.problems(OFFICE) == []


def test_canned_parameters_are_filled_and_unknown_ones_left_as_typed() -> None:
    text = "Dzień dobry {{ visitor_name }}, tu {{agent_name}}. {{ secret }}"
    assert canned.render(text, {"visitor_name": "Anna", "agent_name": "Jan"}) == \
        "Dzień dobry Anna, tu Jan. {{ secret }}"
