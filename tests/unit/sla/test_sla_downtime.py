"""Probe results -> downtime (controlplane.sla.downtime): worked cases and properties.

Properties (hypothesis) over random series at a 60 s interval: the intervals are sorted,
disjoint and inside [first result, now]; every failure's start is inside one; no success's
start is; a series of successes with no gap longer than two intervals has no downtime; a
tenant's view is the union of the platform's and its own. Outside service hours an outage
changes nothing in the availability (the done-means' second half).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.sla import downtime as d
from controlplane.sla import terms
from controlplane.sla.calendar import Level, seconds

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
fast = settings(max_examples=80, deadline=None)


def res(at_s: int, ok: bool, probe: str = "controlplane", function: str = "inbound_call",
        tenant: int | None = None, every: int = 60) -> d.Result:
    return d.Result(probe, function, tenant, T0 + timedelta(seconds=at_s), ok, every)


def t(sec: int) -> datetime:
    return T0 + timedelta(seconds=sec)


def test_a_failure_opens_and_the_next_success_closes() -> None:
    rows = [res(0, True), res(60, False), res(120, False), res(180, True), res(240, True)]
    assert d.series_downtime(rows, t(250)) == [(t(60), t(180))]


def test_a_failure_still_open_runs_to_now() -> None:
    assert d.series_downtime([res(0, True), res(60, False)], t(100)) == [(t(60), t(100))]


def test_one_missed_round_is_jitter_but_a_longer_gap_is_down() -> None:
    assert d.series_downtime([res(0, True), res(120, True)], t(130)) == []
    # 300 s without a result (> 2 × 60): down from when the last one stopped vouching (60 s)
    assert d.series_downtime([res(0, True), res(300, True)], t(310)) == [(t(60), t(300))]


def test_a_dead_prober_reads_as_down_until_now() -> None:
    assert d.series_downtime([res(0, True)], t(100)) == []
    assert d.series_downtime([res(0, True)], t(500)) == [(t(60), t(500))]


def test_nothing_is_known_before_the_first_result() -> None:
    assert d.series_downtime([], t(1000)) == []
    assert d.series_downtime([res(900, True)], t(930)) == []


def test_two_probes_of_one_function_are_derived_apart() -> None:
    # the real call succeeds while the heartbeat fails: its success must not close the outage
    rows = [res(0, True), res(60, False), res(120, True),
            res(10, True, "inbound_call"), res(70, True, "inbound_call"),
            res(130, True, "inbound_call")]
    assert d.derive(rows, t(140)) == {("inbound_call", None): [(t(60), t(120))]}


def test_a_tenant_sees_the_platform_and_its_own_not_another_tenants() -> None:
    rows = [res(0, False, "panel_login", "login", tenant=None), res(30, True, "panel_login",
                                                                   "login", tenant=None),
            res(0, True, "panel_login", "login", tenant=7), res(60, False, "panel_login",
                                                               "login", tenant=7),
            res(90, True, "panel_login", "login", tenant=7),
            res(0, False, "panel_login", "login", tenant=8)]
    derived = d.derive(rows, t(100))
    assert d.for_tenant(derived, 7) == {"login": [(t(0), t(30)), (t(60), t(90))]}
    assert d.for_tenant(derived, 8) == {"login": [(t(0), t(100))]}
    assert d.for_tenant(derived, 9) == {"login": [(t(0), t(30))]}


def test_combine_and_clip() -> None:
    assert d.combine({"ivr": [(t(0), t(10))]}, {"ivr": [(t(5), t(20))], "login": []}) == {
        "ivr": [(t(0), t(20))], "login": []}
    assert d.clip({"ivr": [(t(0), t(20))], "login": [(t(0), t(5))]}, (t(10), t(30))) == {
        "ivr": [(t(10), t(20))]}


def test_down_since() -> None:
    assert d.down_since([(t(0), t(10)), (t(50), t(100))], t(100)) == t(50)
    assert d.down_since([(t(0), t(10))], t(100)) is None
    # an outage still open at a ``now`` with microseconds (merge cuts it to the second)
    odd = t(100) + timedelta(microseconds=250_000)
    assert d.down_since(d.series_downtime([res(0, True), res(60, False)], odd), odd) == t(60)


def test_an_outage_outside_service_hours_changes_nothing() -> None:
    """Standard: 8-18 on working days. Tuesday 1 Dec 2026 19:00-21:00 local is outside."""
    period = terms.month_period(2026, 12, "Europe/Warsaw")
    night = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 19:00 in Warsaw
    rows = [d.Result("controlplane", "inbound_call", None, night + timedelta(seconds=s),
                     s not in range(60, 7200), 60) for s in range(0, 7260, 60)]
    spans = d.for_tenant(d.derive(rows, night + timedelta(seconds=7230)), 1)["inbound_call"]
    assert seconds(spans) == 7140
    before = terms.availability(Level.STANDARD, period, "Europe/Warsaw", [])
    after = terms.availability(Level.STANDARD, period, "Europe/Warsaw", spans)
    assert after.down == 0 and after.ratio == before.ratio == Fraction(1)
    # the same outage at 10:00 local, inside the hours, counts every second of it
    day = [(lo - timedelta(hours=9), hi - timedelta(hours=9)) for lo, hi in spans]
    assert terms.availability(Level.STANDARD, period, "Europe/Warsaw", day).down == 7140


# -- properties -------------------------------------------------------------------------------

SERIES = st.lists(st.tuples(st.integers(min_value=1, max_value=400), st.booleans()),
                  min_size=0, max_size=40)


def _series(steps: list[tuple[int, bool]]) -> list[d.Result]:
    out, at_s = [], 0
    for gap, ok in steps:
        at_s += gap
        out.append(res(at_s, ok))
    return out


@fast
@given(SERIES, st.integers(min_value=0, max_value=1000))
def test_intervals_are_sorted_disjoint_and_bounded(steps: list[tuple[int, bool]],
                                                   tail: int) -> None:
    rows = _series(steps)
    now = (rows[-1].started_at if rows else T0) + timedelta(seconds=tail)
    spans = d.series_downtime(rows, now)
    for lo, hi in spans:
        assert lo < hi <= now
        assert lo >= rows[0].started_at
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))


@fast
@given(SERIES, st.integers(min_value=0, max_value=1000))
def test_failures_are_down_and_successes_are_up(steps: list[tuple[int, bool]],
                                                tail: int) -> None:
    rows = _series(steps)
    now = (rows[-1].started_at if rows else T0) + timedelta(seconds=tail + 1)
    spans = d.series_downtime(rows, now)

    def covered(at: datetime) -> bool:
        return any(lo <= at < hi for lo, hi in spans)

    for r in rows:
        assert covered(r.started_at) is (not r.ok)


@fast
@given(st.lists(st.integers(min_value=1, max_value=120), max_size=40),
       st.integers(min_value=0, max_value=120))
def test_successes_without_long_gaps_are_never_down(gaps: list[int], tail: int) -> None:
    rows, at_s = [res(0, True)], 0
    for gap in gaps:
        at_s += gap
        rows.append(res(at_s, True))
    assert d.series_downtime(rows, rows[-1].started_at + timedelta(seconds=tail)) == []


@fast
@given(SERIES, SERIES)
def test_a_tenant_view_is_the_union_of_platform_and_own(a: list[tuple[int, bool]],
                                                        b: list[tuple[int, bool]]) -> None:
    platform = _series(a)
    own = [d.Result(r.probe, r.function, 5, r.started_at, r.ok, r.interval_s)
           for r in _series(b)]
    now = T0 + timedelta(days=1)
    view = d.for_tenant(d.derive(platform + own, now), 5).get("inbound_call", [])
    union = d.combine({"x": d.series_downtime(platform, now)},
                      {"x": d.series_downtime(own, now)}).get("x", [])
    assert view == union
    assert seconds(view) >= seconds(d.series_downtime(platform, now))
