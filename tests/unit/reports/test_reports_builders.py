"""The reports' pure builders on hand-made rows: intervals in the tenant's zone across DST,
statuses split at midnight, the wallboard's queue figures per interval, abandons by wait,
dispositions, campaign results and HLR counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from controlplane.acd import wallboard_figures as wf
from controlplane.acd.agent_events import Status, StatusChanged
from controlplane.acd.stats import QueueLogRecord
from controlplane.reports import agent_time, calls, outcomes
from controlplane.reports.periods import Interval, buckets

WARSAW = "Europe/Warsaw"


def at(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: float = 0) -> float:
    return datetime(y, m, d, h, mi, tzinfo=UTC).timestamp() + s


def test_days_follow_the_tenant_clock_across_dst() -> None:
    b = buckets(date(2026, 10, 24), date(2026, 10, 26), WARSAW, Interval.DAY)
    lengths = [(x.end - x.start) / 3600 for x in b.items]
    assert lengths == [24, 25, 24]  # 25 October: clocks go back
    assert b.items[0].start == at(2026, 10, 23, 22)  # Warsaw midnight is 22:00 UTC (CEST)
    assert [x.key for x in b.items][1:] == ["2026-10-25T00:00+02:00", "2026-10-26T00:00+01:00"]


def test_hours_of_a_spring_day_are_23() -> None:
    b = buckets(date(2026, 3, 29), date(2026, 3, 29), WARSAW, Interval.HOUR)
    assert len(b.items) == 23
    assert "02:00" not in [x.local.strftime("%H:%M") for x in b.items]


def test_weeks_and_months_are_clipped_to_the_range() -> None:
    w = buckets(date(2026, 12, 2), date(2026, 12, 15), "UTC", Interval.WEEK)
    assert [x.local.date() for x in w.items] == [date(2026, 12, 2), date(2026, 12, 7),
                                                 date(2026, 12, 14)]
    assert w.end == at(2026, 12, 16)
    m = buckets(date(2026, 11, 20), date(2027, 1, 3), "UTC", Interval.MONTH)
    assert [x.local.date() for x in m.items] == [date(2026, 11, 20), date(2026, 12, 1),
                                                 date(2027, 1, 1)]
    assert m.index(at(2026, 12, 31, 23, 59)) == 1 and m.index(at(2027, 1, 4)) is None


def test_a_range_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError):
        buckets(date(2026, 12, 2), date(2026, 12, 1), "UTC", Interval.DAY)


def sc(agent: str, to: Status, t: float, reason: str | None = None) -> StatusChanged:
    return StatusChanged(agent, Status.LOGGED_OUT, to, reason, t)


def test_agent_time_splits_a_status_held_across_midnight() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 2), "UTC", Interval.DAY)
    rows = [
        sc("7", Status.READY, at(2026, 11, 30, 20)),  # before the range: carried in
        sc("7", Status.BREAK, at(2026, 12, 1, 23), "lunch"),
        sc("7", Status.ON_CALL, at(2026, 12, 2, 1)),
        sc("7", Status.LOGGED_OUT, at(2026, 12, 2, 2)),
    ]
    t = agent_time.agent_time(rows, b, now=at(2026, 12, 3))
    day1, day2 = t.rows
    assert (day1["ready"], day1["break:lunch"], day1["logged_out"]) == (23 * 3600, 3600, 0)
    assert (day2["break:lunch"], day2["on_call"], day2["logged_in"]) == (3600, 3600, 7200)
    assert day2["logged_out"] == 22 * 3600
    assert "break:lunch" in {c.key for c in t.columns} and day2["ready"] == 0


def test_agent_time_of_a_day_equals_the_wallboards_logged_in_seconds() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 1), "UTC", Interval.DAY)
    rows = [sc("1", Status.READY, at(2026, 11, 30, 23)), sc("1", Status.ON_CALL, at(2026, 12, 1, 9)),
            sc("1", Status.WRAP_UP, at(2026, 12, 1, 9, 5)), sc("2", Status.READY, at(2026, 12, 1, 8)),
            sc("2", Status.LOGGED_OUT, at(2026, 12, 1, 16))]
    end = at(2026, 12, 2)
    day = wf.DayLog(at(2026, 12, 1))
    day.add_statuses(enumerate(rows, 1))
    board = wf.logged_in_seconds(day, end)
    report = {r["agent"]: r["logged_in"] for r in agent_time.agent_time(rows, b, end).rows}
    assert report == {a: round(s) for a, s in board.items()}


def q(iid: str, kind: str, t: float, agent: str | None = None, queue: str = "5") -> QueueLogRecord:
    return QueueLogRecord(iid, queue, kind, t, agent)


def test_calls_by_queue_are_the_wallboards_figures_per_hour() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 1), "UTC", Interval.HOUR)
    recs = [q("a", "enter", at(2026, 12, 1, 9)), q("a", "answer", at(2026, 12, 1, 9, 0, 5), "3"),
            q("a", "end", at(2026, 12, 1, 9, 2)),
            q("b", "enter", at(2026, 12, 1, 9, 10)), q("b", "abandon", at(2026, 12, 1, 9, 11)),
            q("c", "enter", at(2026, 12, 1, 10)), q("c", "answer", at(2026, 12, 1, 10, 1), "3")]
    t = calls.calls_by_queue(recs, b, {"5": 20.0}, now=at(2026, 12, 2))
    nine, ten = t.rows
    assert (nine["period"], nine["entered"], nine["answered"], nine["abandoned"]) == (9, 2, 1, 1)
    assert nine["service_level_pct"] == 50.0 and nine["avg_handle_s"] == 115.0
    assert (ten["answered"], ten["answered_in_threshold"], ten["service_level_pct"]) == (1, 0, 0.0)


def test_calls_by_agent_counts_offers_misses_and_handle_time() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 1), "UTC", Interval.DAY)
    recs = [q("a", "enter", at(2026, 12, 1, 9)), q("a", "offer", at(2026, 12, 1, 9, 0, 1), "3"),
            q("a", "offer_timeout", at(2026, 12, 1, 9, 0, 21), "3"),
            q("a", "offer", at(2026, 12, 1, 9, 0, 22), "4"),
            q("a", "answer", at(2026, 12, 1, 9, 0, 30), "4"), q("a", "end", at(2026, 12, 1, 9, 5, 30))]
    rows = {r["agent"]: r for r in calls.calls_by_agent(recs, b).rows}
    assert (rows["3"]["offered"], rows["3"]["missed"], rows["3"]["answered"]) == (1, 1, 0)
    assert (rows["4"]["answered"], rows["4"]["avg_wait_s"], rows["4"]["handle_s"]) == (1, 30.0, 300)


def test_abandons_are_bucketed_by_the_wait_before_hanging_up() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 1), "UTC", Interval.DAY)
    recs = []
    for i, wait in enumerate((3, 15, 45, 90, 400, 9)):
        recs += [q(f"x{i}", "enter", at(2026, 12, 1, 9, i)),
                 q(f"x{i}", "abandon", at(2026, 12, 1, 9, i, wait))]
    (row,) = calls.abandons(recs, b).rows
    assert row["abandoned"] == 6
    assert [row[k] for k in calls.WAIT_KEYS] == [2, 1, 1, 1, 1]
    assert row["max_wait_s"] == 400.0


def attempt(cid: str, t: float, outcome: str | None, *, amd: str | None = None,
            disposition: str | None = None, connect: float | None = None,
            ended: float | None = None, abandoned: bool = False) -> outcomes.Attempt:
    return outcomes.Attempt(cid, t, "3" if connect else None, outcome, amd, abandoned,
                            disposition, connect, ended)


def test_dispositions_count_inbound_wrapups_and_campaign_attempts() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 1), "UTC", Interval.DAY)
    t = outcomes.dispositions(
        [outcomes.Wrapup(at(2026, 12, 1, 9), "3", "sale"), outcomes.Wrapup(at(2026, 12, 1, 10), "3", "sale")],
        [attempt("8", at(2026, 12, 1, 11), "human", disposition="callback"),
         attempt("8", at(2026, 12, 2, 11), "human", disposition="callback")],  # outside
        b)
    assert [(r["source"], r["code"], r["count"]) for r in t.rows] == [
        ("inbound", "sale", 2), ("8", "callback", 1)]


def test_campaign_results_use_the_wallboards_formulas() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 1), "UTC", Interval.DAY)
    tries = [attempt("8", at(2026, 12, 1, 9), "human", amd="HUMAN", disposition="sale",
                     connect=at(2026, 12, 1, 9, 0, 10), ended=at(2026, 12, 1, 9, 30, 10)),
             attempt("8", at(2026, 12, 1, 9, 5), "machine", amd="MACHINE"),
             attempt("8", at(2026, 12, 1, 9, 6), "abandoned", abandoned=True),
             attempt("8", at(2026, 12, 1, 9, 7), "no_answer")]
    t = outcomes.campaigns(tries, b, {(0, "3"): 3600.0}, {"8": ["3"]}, {"8": 3.0})
    (row,) = t.rows
    assert (row["attempts"], row["connects"], row["disposed"]) == (4, 1, 1)
    assert (row["outcome:human"], row["outcome:machine"], row["amd:machine"]) == (1, 1, 1)
    assert row["talk_min_per_agent_hour"] == 30.0 and row["agent_hours"] == 1.0
    assert row["abandon_rate_pct"] == 50.0  # 1 abandoned of 2 live answers


def test_hlr_counts_per_status_and_provider() -> None:
    b = buckets(date(2026, 12, 1), date(2026, 12, 1), "UTC", Interval.DAY)
    t = outcomes.hlr([outcomes.Lookup(at(2026, 12, 1, 9), "active", "fake"),
                      outcomes.Lookup(at(2026, 12, 1, 9), "active", "fake"),
                      outcomes.Lookup(at(2026, 12, 1, 9), "inactive", "fake")], b)
    assert [(r["status"], r["count"]) for r in t.rows] == [("active", 2), ("inactive", 1)]


def test_chunks_hold_whole_intervals() -> None:
    from controlplane.reports.periods import chunks

    days = chunks(date(2026, 11, 1), date(2026, 12, 11), Interval.DAY)
    assert days[0] == (date(2026, 11, 1), date(2026, 11, 7)) and len(days) == 6
    assert days[-1] == (date(2026, 12, 6), date(2026, 12, 11))
    months = chunks(date(2026, 10, 15), date(2026, 12, 2), Interval.MONTH)
    assert months == [(date(2026, 10, 15), date(2026, 10, 31)),
                      (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 12, 1), date(2026, 12, 2))]
    weeks = chunks(date(2026, 12, 2), date(2026, 12, 20), Interval.WEEK)
    assert all(a.weekday() == 0 for a, _ in weeks[1:]) and weeks[-1][1] == date(2026, 12, 20)
