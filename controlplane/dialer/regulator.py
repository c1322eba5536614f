"""Abandon-rate regulator: budget per window, hard cap, allowed marginal risk.

Theory of operation: the pacer may take a risk of abandoning a call only while
the campaign has *headroom* under the cap in every window it answers for: the
current calendar day (Centrala keeps every day under the cap, which implies the
30-day US figure) and the regulator's own window (30 days US, 24 h UK). For a
window with ``L`` live answers, ``A`` abandons and ``F`` estimated AMD false
positives (UK only), the headroom in calls is::

    h = target * (L + F) - (A + F),      target = cap * safety

``L`` includes a cautious projection of the live answers the rest of the day
will bring (half the rate seen so far, at most ``lookahead_s`` ahead, never past
the end of the shift), so that the first minutes of a day are not all dialled
progressively. Near the end of the shift the projection vanishes and ``h`` is
computed from realised calls only.

============================================  ===============================
condition                                     allowed marginal risk theta
============================================  ===============================
h - pending margin < 1 (budget spent)         0 -> hard cap: progressive only
otherwise                                     theta_max * min(1, h' / h_full)
============================================  ===============================

``pending margin`` is the expected number of abandons among calls already in
flight plus two standard deviations, so that the calls already dialled cannot
push the window over the cap on their own.

Where false positives count (UK), pacing alone cannot keep the rate down: even
progressive dialling adds an estimated false positive for every AMD "machine"
verdict. :func:`amd_allowed` therefore projects the day's final rate and asks
for calls without AMD while it would exceed 90 % of the cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .compliance import DayCounts, Regulator, estimate_amd_false_positives, window_totals
from .events import AttemptEnded, DayStarted, Event, LiveAnswered, MachineDisposition


@dataclass(frozen=True, slots=True)
class RegulatorConfig:
    """Tuning of the abandon regulator (defaults used by the benchmarks)."""

    regulator: Regulator
    fp_share: float = 0.0  # share of AMD "machine" verdicts that are people
    safety: float = 0.8  # target = cap * safety
    theta_max: float = 0.08  # marginal risk allowed with full headroom
    h_full: float = 4.0  # headroom (in calls) at which theta reaches theta_max
    lookahead_s: float = 1800.0
    projection_factor: float = 0.5
    history_days: int = 30
    amd_off_at: float = 0.9  # AMD off when the day's projected rate exceeds cap * this


@dataclass(frozen=True, slots=True)
class RegulatorState:
    """Per-day counters (oldest first, current day last) and day timing."""

    config: RegulatorConfig
    days: tuple[DayCounts, ...] = ()
    carry: DayCounts = DayCounts()  # regulator window before today (cached at day start)
    history: DayCounts = DayCounts()  # history_days before today (cached at day start)
    day_started_at: float = 0.0
    shift_s: float = 0.0
    prev_live_rate: float = 0.0  # live answers per second on the last full day


def _bump(
    state: RegulatorState, live: int = 0, abandoned: int = 0, machine: int = 0
) -> RegulatorState:
    days = state.days or (DayCounts(),)
    d = days[-1]
    today = DayCounts(
        live=max(d.live + live, 0),
        abandoned=d.abandoned + abandoned,
        machine_verdicts=d.machine_verdicts + machine,
    )
    return replace(state, days=days[:-1] + (today,))


def step(state: RegulatorState, event: Event, now: float) -> RegulatorState:
    """Fold one event into the counters (events it does not count are ignored)."""
    if isinstance(event, LiveAnswered):
        return _bump(state, live=1, abandoned=int(event.abandoned))
    if isinstance(event, MachineDisposition):
        return _bump(state, live=-1)
    if isinstance(event, AttemptEnded):
        return _bump(state, machine=1) if event.outcome == "machine" else state
    if isinstance(event, DayStarted):
        prev = state.prev_live_rate
        if state.days and state.shift_s > 0:
            prev = state.days[-1].live / state.shift_s
        days = (state.days + (DayCounts(),))[-state.config.history_days :]
        carry = window_totals(days[:-1], state.config.regulator.window_days - 1)
        history = window_totals(days[:-1], state.config.history_days - 1)
        return replace(
            state,
            days=days,
            carry=carry,
            history=history,
            day_started_at=now,
            shift_s=event.shift_s,
            prev_live_rate=prev,
        )
    return state


def projected_lives(state: RegulatorState, now: float, remaining_s: float | None) -> float:
    """Cautious count of live answers still to come today."""
    cfg = state.config
    elapsed = now - state.day_started_at
    today = state.days[-1].live if state.days else 0
    rate = today / elapsed if elapsed >= 600.0 else state.prev_live_rate
    if remaining_s is None:
        remaining_s = max(state.shift_s - elapsed, 0.0)
    return cfg.projection_factor * rate * min(max(remaining_s, 0.0), cfg.lookahead_s)


def headroom(state: RegulatorState, now: float, remaining_s: float | None = None) -> float:
    """Smallest headroom (in abandoned calls) over the day and the regulator window."""
    cfg = state.config
    if not state.days:
        return 0.0
    extra = projected_lives(state, now, remaining_s)
    target = cfg.regulator.cap * cfg.safety
    worst = math.inf
    today = state.days[-1]
    windows = [today]
    if cfg.regulator.window_days > 1:
        c = state.carry
        windows.append(
            DayCounts(
                c.live + today.live,
                c.abandoned + today.abandoned,
                c.machine_verdicts + today.machine_verdicts,
            )
        )
    for t in windows:
        fp = 0.0
        if cfg.regulator.counts_amd_false_positives:
            fp = estimate_amd_false_positives(t.machine_verdicts, cfg.fp_share)
            fp *= (t.live + extra) / t.live if t.live > 0 else 1.0
        lives = t.live + extra
        worst = min(worst, target * (lives + fp) - (t.abandoned + fp))
    return worst


def amd_allowed(state: RegulatorState, now: float, remaining_s: float | None = None) -> bool:
    """Whether calls may use AMD (only a question where false positives count).

    Projects today's final rate assuming the rest of the day brings live
    answers at today's pace (yesterday's in the first 10 minutes) with the
    long-run ratio of estimated false positives per live answer. If that
    lands above ``cap * amd_off_at``, AMD is switched off: calls answered from
    then on go straight to an agent and add no false positives, so the ratio
    falls back as live answers accumulate.
    """
    cfg = state.config
    if not cfg.regulator.counts_amd_false_positives or not state.days:
        return True
    today, hist = state.days[-1], state.history
    machine, live = hist.machine_verdicts + today.machine_verdicts, hist.live + today.live
    fp_per_live = cfg.fp_share * machine / live if live > 0 else 0.0
    elapsed = now - state.day_started_at
    rate = today.live / elapsed if elapsed >= 600.0 else state.prev_live_rate
    if remaining_s is None:
        remaining_s = max(state.shift_s - elapsed, 0.0)
    future = rate * max(remaining_s, 0.0)
    fp = estimate_amd_false_positives(today.machine_verdicts, cfg.fp_share) + fp_per_live * future
    lives = today.live + future
    if lives + fp <= 0:
        return True
    return (today.abandoned + fp) / (lives + fp) < cfg.regulator.cap * cfg.amd_off_at


def allowed_risk(
    state: RegulatorState, now: float, pending_risk: float, remaining_s: float | None = None
) -> float:
    """Marginal abandon probability the pacer may accept now (0 = hard cap)."""
    return risk_for_headroom(state.config, headroom(state, now, remaining_s), pending_risk)


def risk_for_headroom(cfg: RegulatorConfig, h: float, pending_risk: float) -> float:
    """The theta table of the module docstring, for a known headroom ``h``."""
    margin = pending_risk + 2.0 * math.sqrt(max(pending_risk, 0.0))
    h -= margin
    if h < 1.0:
        return 0.0
    return cfg.theta_max * min(1.0, h / cfg.h_full)
