"""Centrala pacing and its abandon regulator: modes, caps and hand-computed budgets."""

from dataclasses import replace

import pytest

from controlplane.dialer import pacing
from controlplane.dialer import regulator as reg
from controlplane.dialer.compliance import UK_OFCOM, US_TSR, DayCounts
from controlplane.dialer.events import (
    AttemptEnded,
    CallHandled,
    DayStarted,
    Dial,
    FloorView,
    LiveAnswered,
    Tick,
)

MIX = ["human", "machine", "no_answer", "no_answer", "busy", "human", "machine", "unobtain"]


def fresh(regulator=US_TSR, **kw):
    return pacing.initial_state(pacing.CentralaConfig(reg.RegulatorConfig(regulator), **kw))


def warm(state, attempts=400, handled=60):
    """Feed enough history to leave the no-history fallback."""
    state, _ = pacing.step(state, DayStarted(0, 8 * 3600.0), 0.0)
    for i in range(attempts):
        outcome = MIX[i % len(MIX)]
        elapsed = 14.0 if outcome in ("human", "machine") else 30.0
        state, _ = pacing.step(state, AttemptEnded(outcome, elapsed), float(i))
    for _ in range(handled):
        state, _ = pacing.step(state, CallHandled(150.0, 20.0), 500.0)
    return state


def with_day(state, live, abandoned, machine=0):
    days = (DayCounts(live=live, abandoned=abandoned, machine_verdicts=machine),)
    return replace(state, regulator=replace(state.regulator, days=days))


def tick(state, view, now=1000.0):
    state, cmds = pacing.step(state, Tick(view), now)
    return state, cmds


BUSY_FLOOR = FloorView(
    logged_in=20,
    ready=4,
    talk_elapsed=tuple(float(10 * i) for i in range(14)),
    wrap_elapsed=(5.0, 12.0),
    ringing_elapsed=(1.0, 3.0),
    shift_remaining_s=0.0 + 3600.0,
)


@pytest.mark.parametrize("state_kind", ["fresh", "warm"])
def test_never_dials_without_agents(state_kind):
    state = fresh() if state_kind == "fresh" else with_day(warm(fresh()), 5000, 0)
    view = FloorView(logged_in=0, ready=0, ringing_elapsed=(2.0,))
    state, cmds = tick(state, view)
    assert cmds == []
    assert state.mode == "idle"


def test_never_dials_after_shift_end():
    state = with_day(warm(fresh()), 5000, 0)
    _, cmds = tick(state, replace(BUSY_FLOOR, shift_remaining_s=0.0))
    assert cmds == []


@pytest.mark.parametrize(
    ("ready", "ringing", "expected"),
    [(5, (), 5), (5, (1.0, 2.0), 3), (2, (1.0, 2.0, 3.0), 0)],
)
def test_falls_back_to_progressive_without_history(ready, ringing, expected):
    view = FloorView(logged_in=10, ready=ready, ringing_elapsed=ringing)
    state, cmds = tick(fresh(), view)
    assert state.mode == "progressive_no_history"
    assert cmds == ([Dial(expected, guaranteed_agent=True)] if expected else [])


def test_falls_back_to_progressive_with_too_few_agents():
    state = with_day(warm(fresh()), 5000, 0)
    view = FloorView(logged_in=2, ready=2)
    state, cmds = tick(state, view)
    assert state.mode == "progressive_few_agents"
    assert cmds == [Dial(2, guaranteed_agent=True)]


def test_history_thresholds_are_both_needed():
    state = warm(fresh(), attempts=400, handled=10)
    state, _ = tick(with_day(state, 5000, 0), BUSY_FLOOR)
    assert state.mode == "progressive_no_history"


def test_predictive_with_budget_dials_ahead_of_progressive():
    state = with_day(warm(fresh()), live=5000, abandoned=0)
    state, cmds = tick(state, BUSY_FLOOR)
    assert state.mode == "predictive"
    assert len(cmds) == 1 and not cmds[0].guaranteed_agent
    assert cmds[0].count > pacing.progressive_count(BUSY_FLOOR)


@pytest.mark.parametrize(("live", "abandoned"), [(100, 3), (1000, 24), (0, 0)])
def test_hard_cap_when_budget_spent(live, abandoned):
    # target 2.4 %: 3/100 and 24/1000 leave no headroom; so does an empty day
    state = with_day(warm(fresh()), live=live, abandoned=abandoned)
    view = replace(BUSY_FLOOR, shift_remaining_s=0.0 + 1e-3)
    state, cmds = tick(state, view)
    assert state.mode == "progressive_hard_cap"
    assert cmds == [Dial(2, guaranteed_agent=True)]  # 4 ready - 2 ringing


def test_pending_lines_cap():
    state = with_day(warm(fresh(max_pending_per_agent=1.0)), live=5000, abandoned=0)
    view = replace(BUSY_FLOOR, ready=2, ringing_elapsed=(1.0,) * 20)
    _, cmds = tick(state, view)
    assert cmds == []  # 20 pending lines = 1.0 x 20 agents


def test_marginal_risk_grows_with_each_call():
    fc = pacing.Forecast(
        supply_mean=4.0, supply_var=1.0, demand_mean=1.0, demand_var=0.5, p_human=0.25
    )
    risks = [fc.marginal_risk(k) for k in range(30)]
    assert risks == sorted(risks)
    k = pacing.predictive_count(fc, theta=0.1, room=100)
    assert fc.marginal_risk(k - 1) <= 0.1 < fc.marginal_risk(k)
    assert pacing.predictive_count(fc, theta=0.1, room=3) == 3
    assert 0.0 <= fc.pending_risk() < 0.1


def test_regulator_headroom_us_day_and_window():
    cfg = reg.RegulatorConfig(US_TSR)  # target = 3 % x 0.8 = 2.4 %
    st = reg.RegulatorState(cfg, days=(DayCounts(200, 2),), carry=DayCounts())
    # realised only (no time left): 0.024 * 200 - 2 = 2.8
    assert reg.headroom(st, now=0.0, remaining_s=0.0) == pytest.approx(2.8)
    # the 30-day window is the binding one when earlier days used the budget
    st = replace(st, carry=DayCounts(1000, 30))
    assert reg.headroom(st, now=0.0, remaining_s=0.0) == pytest.approx(0.024 * 1200 - 32)


def test_regulator_headroom_uk_counts_false_positives():
    cfg = reg.RegulatorConfig(UK_OFCOM, fp_share=0.02)
    st = reg.RegulatorState(cfg, days=(DayCounts(1000, 0, machine_verdicts=1000),))
    # FP = 20: 0.024 * (1000 + 20) - (0 + 20) = 4.48
    assert reg.headroom(st, now=0.0, remaining_s=0.0) == pytest.approx(4.48)


def test_regulator_counts_and_allowed_risk():
    cfg = reg.RegulatorConfig(US_TSR, theta_max=0.08, h_full=4.0)
    st = reg.step(reg.RegulatorState(cfg), DayStarted(0, 3600.0), 0.0)
    for i in range(500):
        st = reg.step(st, LiveAnswered(abandoned=i < 2), 1.0)
    st = reg.step(st, AttemptEnded("machine", 12.0), 2.0)
    assert st.days[-1] == DayCounts(500, 2, 1)
    # headroom 0.024 * 500 - 2 = 10 -> full theta
    assert reg.allowed_risk(st, 10.0, pending_risk=0.0, remaining_s=0.0) == pytest.approx(0.08)
    # pending calls eat the margin: 10 - (8 + 2 * sqrt(8)) < 1 -> hard cap
    assert reg.allowed_risk(st, 10.0, pending_risk=8.0, remaining_s=0.0) == 0.0
    # a new day starts from zero but remembers yesterday's live rate
    st = reg.step(st, DayStarted(1, 3600.0), 86400.0)
    assert st.days[-1] == DayCounts() and st.prev_live_rate == pytest.approx(500 / 3600)
    assert reg.projected_lives(st, 86400.0, remaining_s=1800.0) == pytest.approx(
        0.5 * 500 / 3600 * 1800
    )


@pytest.mark.parametrize(
    ("regulator", "live", "machine", "remaining_s", "allowed"),
    [
        # US does not count AMD false positives: AMD always allowed
        (US_TSR, 100, 10_000, 0.0, True),
        # UK, day over: FP = 0.02 x 100 = 2 -> 2 / 102 = 1.96 % < 2.7 %
        (UK_OFCOM, 100, 100, 0.0, True),
        # UK, day over: FP = 0.02 x 150 = 3 -> 3 / 103 = 2.9 % > 2.7 %: AMD off
        (UK_OFCOM, 100, 150, 0.0, False),
        # UK, same counters with most of the day ahead at a normal ratio: stays on
        (UK_OFCOM, 100, 150, 36_000.0, True),
    ],
)
def test_amd_switch(regulator, live, machine, remaining_s, allowed):
    cfg = reg.RegulatorConfig(regulator, fp_share=0.02)
    history = DayCounts(live=3000, abandoned=0, machine_verdicts=3000)
    st = reg.RegulatorState(
        cfg,
        days=(DayCounts(live, 0, machine),),
        history=history,
        day_started_at=0.0,
        shift_s=3600.0,
    )
    assert reg.amd_allowed(st, now=3600.0, remaining_s=remaining_s) is allowed


def test_dial_command_carries_amd_switch():
    state = pacing.initial_state(
        pacing.CentralaConfig(reg.RegulatorConfig(UK_OFCOM, fp_share=0.02))
    )
    state = with_day(state, live=100, abandoned=0, machine=150)
    state, cmds = tick(state, FloorView(logged_in=10, ready=3, shift_remaining_s=0.5))
    assert cmds == [Dial(3, guaranteed_agent=True, amd=False)]
    assert state.amd is False
