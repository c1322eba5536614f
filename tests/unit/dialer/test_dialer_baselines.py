"""Progressive, fixed ratio and the VICIdial ADAPT_TAPERED port on hand examples."""

from dataclasses import replace

import pytest

from controlplane.dialer import baselines as b
from controlplane.dialer.events import AttemptEnded, DayStarted, Dial, FloorView, LiveAnswered, Tick


@pytest.mark.parametrize(
    ("logged_in", "ready", "ringing", "analysing", "expected"),
    [
        (10, 3, 0, 0, 3),
        (10, 3, 1, 1, 1),
        (10, 3, 4, 0, 0),
        (0, 0, 0, 0, 0),
    ],
)
def test_progressive(logged_in, ready, ringing, analysing, expected):
    view = FloorView(logged_in, ready, ringing_elapsed=(1.0,) * ringing, analysing=analysing)
    assert b.progressive_calls(view) == expected


@pytest.mark.parametrize(
    ("ratio", "ready", "talking", "wrap", "pending", "expected"),
    [
        (1.0, 2, 6, 2, 0, 4),  # 10 agents, 6 lines bridged: 4 more
        (1.5, 2, 6, 2, 3, 6),  # int(15) - (3 + 6)
        (1.1, 0, 10, 0, 12, 0),  # already over the ratio
    ],
)
def test_fixed_ratio(ratio, ready, talking, wrap, pending, expected):
    view = FloorView(
        logged_in=ready + talking + wrap,
        ready=ready,
        talk_elapsed=(30.0,) * talking,
        wrap_elapsed=(5.0,) * wrap,
        ringing_elapsed=(1.0,) * pending,
    )
    assert b.fixed_ratio_calls(view, ratio) == expected
    assert b.fixed_ratio_calls(replace(view, logged_in=0, ready=0), ratio) == 0


# today's drop statistics over the 3 % limit (100 calls, drops 4 % of answers)
OVER = {"stats": b.DropStats(calls_today=100, drops_answers_today_pct=4.0)}


def _state(level=1.0, **kw):
    return b.VicidialState(b.VicidialConfig(), level=level, **kw)


@pytest.mark.parametrize(
    ("level", "differential", "agents_avg", "stats", "clock_s", "expected"),
    [
        # 2 ready agents of 20 on average: +10 %
        (1.0, 2.0, 20.0, {}, 0.0, 1.1),
        # 4 more calls waiting than agents ready: -20 % (intensity 0)
        (2.0, -4.0, 20.0, {}, 0.0, 1.6),
        # never above adaptive_maximum_level
        (2.9, 4.0, 20.0, {}, 0.0, 3.0),
        # never below 1.0
        (1.0, -10.0, 20.0, {}, 0.0, 1.0),
        # over the drop limit at 12:00 with latest 17:00: 500/1000 taper
        (2.4, 0.0, 20.0, OVER, 3 * 3600, 1.2),
        # at 09:00 the taper is 800/1000
        (2.5, 0.0, 20.0, OVER, 0.0, 2.0),
        # after the latest server time: straight to 1.0
        (2.5, 0.0, 20.0, OVER, 9 * 3600, 1.0),
        # fewer than 51 calls today: no drop rule
        (
            2.5,
            0.0,
            20.0,
            {"stats": b.DropStats(calls_today=50, drops_answers_today_pct=40.0)},
            0.0,
            2.5,
        ),
        # more than half of the last minute's calls dropped: halve
        (3.0, 0.0, 20.0, {"stats": b.DropStats(calls_one=21, drops_one_pct=60.0)}, 0.0, 1.5),
    ],
)
def test_tapered_level(level, differential, agents_avg, stats, clock_s, expected):
    state = _state(level, **stats)
    assert b.tapered_level(state, differential, agents_avg, clock_s) == pytest.approx(expected)


def test_intensity_scales_positive_and_negative_moves():
    up = b.VicidialState(b.VicidialConfig(intensity=50.0), level=1.0)
    assert b.tapered_level(up, 2.0, 20.0, 0.0) == pytest.approx(1.15)
    down = b.VicidialState(b.VicidialConfig(intensity=50.0), level=2.0)
    assert b.tapered_level(down, -4.0, 20.0, 0.0) == pytest.approx(1.8)


def test_hhmm_clock_mapping():
    state = b.VicidialState(b.VicidialConfig(clock_scale=8.0), day_started_at=100.0)
    assert b.hhmm(state, 100.0) == 900
    assert b.hhmm(state, 100.0 + 450.0) == 1000  # 450 s x 8 = one server hour
    assert b.hhmm(state, 100.0 + 3600.0) == 1700


def test_dial_goal_counts_bridged_lines():
    view = FloorView(
        logged_in=12,
        ready=2,
        talk_elapsed=(10.0,) * 8,
        wrap_elapsed=(3.0, 4.0),
        ringing_elapsed=(1.0,) * 4,
        analysing=1,
    )
    # goal = round(2.0 x (2 READY + 8 INCALL)) = 20; active = 5 pending + 8 bridged
    assert b.vicidial_calls(_state(2.0), view) == 7
    assert b.vicidial_calls(_state(1.0), view) == 0


def test_level_recalculated_every_fifteen_seconds():
    state, _ = b.vicidial_step(_state(1.0), DayStarted(0, 3600.0), 0.0)
    view = FloorView(logged_in=20, ready=4, talk_elapsed=(30.0,) * 16)
    levels = []
    for t in range(31):
        state, cmds = b.vicidial_step(state, Tick(view), float(t))
        levels.append(state.level)
    # recalculated at t = 0, 15, 30 only: 1.0 * 1.2 -> 1.44 -> 1.728
    assert levels[0] == pytest.approx(1.2)
    assert levels[1:15] == [pytest.approx(1.2)] * 14
    assert levels[15] == pytest.approx(1.44)
    assert levels[30] == pytest.approx(1.728)
    assert cmds == [Dial(round(1.728 * 20) - 16)]


def test_drop_statistics_feed_the_taper():
    state, _ = b.vicidial_step(_state(2.0), DayStarted(0, 3600.0), 0.0)
    for i in range(60):
        state, _ = b.vicidial_step(state, AttemptEnded("human", 10.0), float(i) / 10)
        state, _ = b.vicidial_step(state, LiveAnswered(abandoned=i < 6), float(i) / 10)
    view = FloorView(logged_in=20, ready=0, talk_elapsed=(30.0,) * 20)
    state, _ = b.vicidial_step(state, Tick(view), 10.0)
    # 6 drops / 60 answers = 10 % > 3 % with 60 calls today: taper 800/1000
    assert state.stats.drops_answers_today_pct == pytest.approx(10.0)
    assert state.level == pytest.approx(2.0 * 0.8)


def test_no_dial_without_agents():
    state, cmds = b.vicidial_step(_state(3.0), Tick(FloorView(logged_in=0, ready=0)), 0.0)
    assert cmds == [] and state.level == 3.0
