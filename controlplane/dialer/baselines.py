"""Baseline pacing policies: progressive, fixed ratio, VICIdial ADAPT_TAPERED.

Theory of operation: each baseline answers a :class:`~.events.Tick` with the
number of calls to start, like :mod:`.pacing`. ``progressive`` and
``fixed_ratio`` are stateless functions of the floor; the VICIdial port keeps
the state that ``AST_VDadapt.pl`` keeps in its database tables.

Port of VICIdial's ``ADAPT_TAPERED`` (``bin/AST_VDadapt.pl`` v2.14 and the
``auto_dial_level`` use in ``bin/AST_VDauto_dial.pl``), read from public
mirrors of the AGPL source; only the arithmetic is reproduced here:

* every second (``count_agents_lines``) sample ready agents, calls waiting for
  an agent (``LIVE``) and logged-in agents; keep the last 15 samples.
  ``differential = avg(ready) - avg(waiting)``; ``agents_avg = avg(total)``.
* every 60 s (``calculate_drops``) refresh drop statistics: calls and drops of
  the last minute, calls, live answers and drops since midnight.
* every 15 s (``calculate_dial_level``)::

      mul    = (differential + dl_diff_target) / agents_avg       (0 if either is 0)
      pct    = 100 * mul, scaled by intensity: pct*(1+i/100) if pct >= 0
               else pct*|i/100 - 1|
      level  = round(level * (1 + pct/100), 3), capped at max_level, floored at 1
      if calls_one > 20 and drops_one/calls_one > 50 %:      level /= 2
      if calls_today > 50 and drops_today/answers_today > dropped_percentage:
          hours_left = latest_hhmm - now_hhmm        (HHMM arithmetic, as upstream)
          level = 1.0 if hours_left < 0 else level * min(1, hours_left / 1000)
      level = max(level, 1.0)

* every dial loop (``AST_VDauto_dial.pl``, ``available_only_ratio_tally=N``)::

      goal  = round(level * (READY + INCALL agents))
      dial  = goal - active lines (ringing, in AMD, waiting, and bridged to agents)

Mapping to Centrala's floor: idle agents are ``READY``, talking agents are
``INCALL``, agents in wrap-up are ``PAUSED`` (VICIdial's disposition screen), so
they count in ``agents_avg`` but not in the dial goal. Not ported: dial-level
thresholds, drop-rate groups, blended inbound, shared agents (all off by default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .events import AttemptEnded, DayStarted, Dial, Event, FloorView, LiveAnswered, Tick

# ---------------------------------------------------------------- progressive


def progressive_calls(view: FloorView) -> int:
    """One call per ready agent not already covered by a pending line."""
    if view.logged_in <= 0:
        return 0
    return max(view.ready - view.pending_lines, 0)


# ---------------------------------------------------------------- fixed ratio


def fixed_ratio_calls(view: FloorView, ratio: float) -> int:
    """Keep ``ratio`` lines per available agent (ready, talking or in wrap-up).

    Lines are pending calls plus calls bridged to agents; ratio 1.0 is
    progressive except that wrap-up agents are dialled for in advance.
    """
    if view.logged_in <= 0:
        return 0
    agents = view.ready + view.talking + len(view.wrap_elapsed)
    lines = view.pending_lines + view.talking
    return max(int(ratio * agents) - lines, 0)


# ---------------------------------------------------------------- VICIdial ADAPT_TAPERED


@dataclass(frozen=True, slots=True)
class VicidialConfig:
    """Campaign settings read by ``AST_VDadapt.pl`` (VICIdial defaults unless noted).

    ``latest_hhmm`` is ``adaptive_latest_server_time``; here the end of the
    shift (upstream default 2100). ``day_start_hhmm`` and ``clock_scale`` map
    simulated seconds onto the server wall clock that the taper reads.
    """

    dropped_percentage: float = 3.0
    max_level: float = 3.0
    intensity: float = 0.0
    dl_diff_target: float = 0.0
    latest_hhmm: int = 1700
    day_start_hhmm: int = 900
    clock_scale: float = 1.0
    stat_it: int = 15
    level_every_s: float = 15.0
    drops_every_s: float = 60.0


@dataclass(frozen=True, slots=True)
class DropLog:
    """Raw counters since midnight and the calls and drops of the last minute."""

    calls_today: int = 0
    answers_today: int = 0
    drops_today: int = 0
    recent_calls: tuple[float, ...] = ()  # times of calls logged recently
    recent_drops: tuple[float, ...] = ()  # times of drops logged recently


@dataclass(frozen=True, slots=True)
class DropStats:
    """Drop statistics as of the last ``calculate_drops`` (percentages as upstream)."""

    calls_one: int = 0
    drops_one_pct: float = 0.0
    calls_today: int = 0
    drops_answers_today_pct: float = 0.0


@dataclass(frozen=True, slots=True)
class VicidialState:
    """State of the port: dial level, per-second samples, drop log and statistics."""

    config: VicidialConfig = VicidialConfig()
    level: float = 1.0
    samples: tuple[tuple[int, int, int], ...] = ()  # (ready, waiting, total), newest last
    last_level_at: float = -math.inf
    last_drops_at: float = -math.inf
    day_started_at: float = 0.0
    log: DropLog = DropLog()
    stats: DropStats = DropStats()


def hhmm(state: VicidialState, now: float) -> int:
    """Server wall clock as the integer HHMM that VICIdial compares."""
    cfg = state.config
    start_min = (cfg.day_start_hhmm // 100) * 60 + cfg.day_start_hhmm % 100
    minutes = start_min + int((now - state.day_started_at) * cfg.clock_scale // 60)
    return (minutes // 60) * 100 + minutes % 60


def _calculate_drops(state: VicidialState, now: float) -> VicidialState:
    log = state.log
    calls = tuple(t for t in log.recent_calls if t > now - 60.0)
    drops = tuple(t for t in log.recent_drops if t > now - 60.0)
    calls_one, drops_one = len(calls), len(drops)
    drops_one_pct = 100.0 * drops_one / calls_one if calls_one and drops_one else 0.0
    pct_today = 0.0
    if log.calls_today > 0 and log.drops_today > 0:
        pct_today = 100.0 * log.drops_today / max(log.answers_today, 1)
    stats = DropStats(calls_one, round(drops_one_pct, 2), log.calls_today, round(pct_today, 2))
    log = replace(log, recent_calls=calls, recent_drops=drops)
    return replace(state, log=log, stats=stats, last_drops_at=now)


def tapered_level(
    state: VicidialState, differential: float, agents_avg: float, now: float
) -> float:
    """One ``calculate_dial_level`` pass for ``ADAPT_TAPERED``."""
    cfg = state.config
    target = differential + cfg.dl_diff_target
    mul = target / agents_avg if target != 0 and agents_avg != 0 else 0.0
    pct_raw = mul * 100.0
    imul = cfg.intensity / 100.0
    idiff = pct_raw * abs(imul - 1.0) if pct_raw < 0 else pct_raw * (imul + 1.0)
    level = round(state.level * (idiff / 100.0 + 1.0), 3)
    level = min(level, cfg.max_level)
    level = max(level, 1.0)
    hours_left = cfg.latest_hhmm - hhmm(state, now)
    rate = 1.0 if hours_left > 1000 else hours_left / 1000.0
    st = state.stats
    if st.calls_one > 20 and st.drops_one_pct > 50.0:
        level /= 2.0
    if st.calls_today > 50 and st.drops_answers_today_pct > cfg.dropped_percentage:
        level = 1.0 if hours_left < 0 else level * rate
    return max(level, 1.0)


def vicidial_calls(state: VicidialState, view: FloorView) -> int:
    """``AST_VDauto_dial.pl``: calls to place for the current dial level."""
    agents = view.ready + view.talking
    goal = round(state.level * agents)
    active = view.pending_lines + view.talking
    return max(goal - active, 0)


def vicidial_step(
    state: VicidialState, event: Event, now: float
) -> tuple[VicidialState, list[Dial]]:
    """Fold ``event`` into the port; on a tick, adapt the level and dial."""
    if isinstance(event, AttemptEnded):
        log = state.log
        log = replace(log, calls_today=log.calls_today + 1, recent_calls=log.recent_calls + (now,))
        return replace(state, log=log), []
    if isinstance(event, LiveAnswered):
        # A drop is the status of the call's log entry, not an extra call.
        log = state.log
        log = replace(
            log,
            answers_today=log.answers_today + 1,
            drops_today=log.drops_today + int(event.abandoned),
            recent_drops=log.recent_drops + ((now,) if event.abandoned else ()),
        )
        return replace(state, log=log), []
    if isinstance(event, DayStarted):
        return replace(state, day_started_at=now, log=DropLog()), []
    if not isinstance(event, Tick):
        return state, []
    view = event.view
    if view.logged_in <= 0:
        return state, []
    cfg = state.config
    sample = (view.ready, view.queued, view.logged_in)
    samples = (state.samples + (sample,))[-cfg.stat_it :]
    state = replace(state, samples=samples)
    # agents_avg > 0 holds here (this sample has logged-in agents), so the
    # upstream guard around both recalculations always passes.
    if now - state.last_drops_at >= cfg.drops_every_s:
        state = _calculate_drops(state, now)
    if now - state.last_level_at >= cfg.level_every_s:
        ready, waiting, total = (sum(col) / len(samples) for col in zip(*samples, strict=True))
        level = tapered_level(state, ready - waiting, total, now)
        state = replace(state, level=level, last_level_at=now)
    if view.shift_remaining_s is not None and view.shift_remaining_s <= 0:
        return state, []
    k = vicidial_calls(state, view)
    return state, ([Dial(k)] if k > 0 else [])
