"""The wallboard's pure figures: folding log rows into a day, agents, campaigns, colours."""

from __future__ import annotations

from controlplane.acd import wallboard_figures as wf
from controlplane.acd.agent_events import Status, StatusChanged
from controlplane.acd.stats import QueueLogRecord, queue_report

START = 1_000_000.0


def rec(call: str, kind: str, at: float, agent: str | None = None) -> QueueLogRecord:
    return QueueLogRecord(call, "7", kind, START + at, agent)


def test_rows_fold_once_and_only_today() -> None:
    day = wf.DayLog(START)
    rows = [(1, rec("y", "enter", -10)), (2, rec("a", "enter", 5)),
            (3, rec("a", "answer", 12, "u1")), (4, rec("a", "end", 100))]
    assert day.add_queue(rows) == 3
    assert day.add_queue(rows[2:]) == 0  # re-read rows are not counted twice
    assert day.answers == {"u1": 1} and day.last_queue_id == 4
    fig = wf.queue_day(day, "7", START + 200, 20.0)
    # the live figure is the report's over the same rows
    report = queue_report([r for _, r in rows[1:]], "7", START + 200, 20.0)
    assert (fig["answered"], fig["avg_handle_s"]) == (report.answered, report.avg_handle_s)
    assert fig["service_level_pct"] == 100.0


def test_status_before_midnight_counts_from_midnight() -> None:
    day = wf.DayLog(START)
    day.add_statuses([(1, StatusChanged("u1", Status.LOGGED_OUT, Status.READY, None, START - 500)),
                      (2, StatusChanged("u1", Status.READY, Status.LOGGED_OUT, None, START + 600))])
    assert wf.logged_in_seconds(day, START + 1000) == {"u1": 600.0}


def test_campaign_figures_and_levels() -> None:
    c = wf.CampaignDay(1, attempts=100, connects=30, live=40, abandoned=2, talk_s=3600.0)
    fig = wf.campaign_figures(c, agent_seconds=2 * 3600.0, cap_pct=3.0)
    assert fig["talk_min_per_agent_hour"] == 30.0  # 60 talk minutes over 2 agent-hours
    assert fig["abandon_rate_pct"] == 5.0 and fig["over_cap"] is True
    assert wf.campaign_figures(wf.CampaignDay(1, 0, 0, 0, 0, 0.0), 0.0, 3.0)[
        "abandon_rate_pct"] is None
    assert [wf.level(v, 20, 40) for v in (None, 5, 20, 40)] == ["ok", "ok", "warn", "alarm"]
    assert [wf.level_low(v, 80, 60) for v in (None, 90, 70, 50)] == ["ok", "ok", "warn", "alarm"]


def test_agent_figures() -> None:
    assert wf.agent_figures({"status": "break", "since": START, "reason": "lunch"}, 3,
                            START + 61.4) == {"status": "break", "reason": "lunch",
                                              "in_state_s": 61, "calls_today": 3}
    assert wf.agent_figures(None, 0, START)["in_state_s"] is None
