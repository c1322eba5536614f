"""Centrala predictive pacing policy: ``step(state, event, now) -> (state, commands)``.

Theory of operation (``docs/dialer-pacing.md`` is the full specification).
Once a second, on a :class:`~.events.Tick`, the policy answers "how many calls
do I start now?":

1. *Supply*: agents free when a call dialled now would reach its human verdict.
   Ready agents count 1; an agent talking for ``e`` s counts
   ``P(rest of talk + wrap-up <= horizon | talk > e)``; an agent in wrap-up for
   ``e`` s counts ``P(wrap-up <= e + horizon | wrap-up > e)``. The horizon is the
   estimated dial-to-verdict time (ring + AMD); durations are online log-normal
   fits (:mod:`.estimators`). Queued callers are subtracted.
2. *Demand*: lives expected from calls already dialled. A call ringing for
   ``e`` s becomes human with P(human | unresolved at ``e``) from the ring
   histogram; a call in AMD with P(human | answered).
3. *Decision*: with ``D = supply - demand`` approximated as normal, the k-th new
   call is dialled while ``P(D - k p <= 0) <= theta``, ``p`` being P(human) of a
   fresh attempt. ``theta`` comes from the abandon regulator (:mod:`.regulator`).
4. *Caps*: never below the progressive count, never more pending lines than
   ``max_pending_per_agent`` per logged-in agent, never more than
   ``max_dial_per_tick`` calls per tick.

Mode table (checked in this order on every tick):

==================================================  ==========================
condition                                           mode
==================================================  ==========================
no agent logged in, or shift over                   idle: dial nothing
fewer than ``min_agents`` logged in                 progressive (fallback)
fewer than ``min_attempts`` / ``min_handled`` seen  progressive (fallback)
regulator headroom spent (theta == 0)               progressive (hard cap)
otherwise                                           predictive
==================================================  ==========================

Progressive means one call per ready agent not already covered by a pending
line, each with the agent guaranteed; it cannot abandon.

Where the regulator counts AMD false positives (UK), every ``Dial`` also says
whether to use AMD: off while today's projected rate would exceed 90 % of the
cap from false positives alone (:func:`.regulator.amd_allowed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from statistics import NormalDist

from . import regulator as reg
from .estimators import ForecastTables, LogNormalEstimator, OutcomeMix, RingHistogram, build_tables
from .events import (
    AttemptEnded,
    CallHandled,
    Dial,
    Event,
    FloorView,
    Tick,
)

_SQRT2 = math.sqrt(2.0)
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class CentralaConfig:
    """Tuning of the policy; defaults are the ones the benchmark reports."""

    regulator: reg.RegulatorConfig
    min_agents: int = 3
    min_attempts: int = 300
    min_handled: int = 30
    max_pending_per_agent: float = 2.0
    max_dial_per_tick: int = 10
    refresh_every: int = 400  # events between rebuilds of the forecast tables
    prior_talk_s: float = 150.0
    prior_wrap_s: float = 20.0
    prior_to_human_s: float = 15.0


@dataclass(frozen=True, slots=True)
class Forecast:
    """Normal approximation of free agents and expected lives at the horizon."""

    supply_mean: float
    supply_var: float
    demand_mean: float
    demand_var: float
    p_human: float

    def marginal_risk(self, k: int) -> float:
        """P(the (k+1)-th new call finds no agent | it is a live answer)."""
        mu = self.supply_mean - self.demand_mean - k * self.p_human
        var = self.supply_var + self.demand_var + k * self.p_human * (1.0 - self.p_human)
        sd = math.sqrt(max(var, 0.05))
        return 0.5 * (1.0 + math.erf((0.5 - mu) / (sd * _SQRT2)))

    def pending_risk(self) -> float:
        """Expected abandons among calls already in flight: E[(demand - supply)^+]."""
        mu = self.supply_mean - self.demand_mean
        sd = math.sqrt(max(self.supply_var + self.demand_var, 0.05))
        z = mu / sd
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        return max(sd * pdf - mu * 0.5 * (1.0 + math.erf(-z / _SQRT2)), 0.0)


@dataclass(frozen=True, slots=True)
class CentralaState:
    """Everything the policy remembers between events."""

    config: CentralaConfig
    regulator: reg.RegulatorState
    mix: OutcomeMix = OutcomeMix()
    ring: RingHistogram = RingHistogram()
    talk: LogNormalEstimator = field(default_factory=lambda: LogNormalEstimator(150.0, 0.8))
    wrap: LogNormalEstimator = field(default_factory=lambda: LogNormalEstimator(20.0, 0.5))
    to_human: LogNormalEstimator = field(default_factory=lambda: LogNormalEstimator(15.0, 0.5))
    tables: ForecastTables | None = None
    attempts: int = 0
    handled: int = 0
    since_refresh: int = 0
    mode: str = "idle"
    amd: bool = True


def initial_state(config: CentralaConfig) -> CentralaState:
    """Fresh state with priors taken from ``config``."""
    return CentralaState(
        config=config,
        regulator=reg.RegulatorState(config.regulator),
        talk=LogNormalEstimator(config.prior_talk_s, 0.8),
        wrap=LogNormalEstimator(config.prior_wrap_s, 0.5),
        to_human=LogNormalEstimator(config.prior_to_human_s, 0.5),
    )


def progressive_count(view: FloorView) -> int:
    """One call per ready agent not already covered by a pending line."""
    return max(view.ready - view.pending_lines, 0)


def forecast(view: FloorView, tables: ForecastTables, mix: OutcomeMix) -> Forecast:
    """Supply of free agents and demand of pending lives at the horizon."""
    tf, wf, rh = tables.talk_free, tables.wrap_free, tables.ring_human
    nt, nw, nr = len(tf) - 1, len(wf) - 1, len(rh) - 1
    # Elapsed times past the end of a table read its last entry.
    ps = [tf[int(e)] if e < nt else tf[nt] for e in view.talk_elapsed]
    ps += [wf[int(e)] if e < nw else wf[nw] for e in view.wrap_elapsed]
    s_mean = float(view.ready - view.queued) + sum(ps)
    s_var = sum(ps) - sum([p * p for p in ps])
    qs = [rh[int(e)] if e < nr else rh[nr] for e in view.ringing_elapsed]
    q = mix.human_given_answered
    d_mean = sum(qs) + view.analysing * q
    d_var = sum(qs) - sum([p * p for p in qs]) + view.analysing * q * (1.0 - q)
    return Forecast(s_mean, s_var, d_mean, d_var, mix.share("human"))


def predictive_count(fc: Forecast, theta: float, room: int) -> int:
    """Largest k <= room such that every one of the k calls has risk <= theta.

    ``marginal_risk(k) <= theta`` is tested as ``(0.5 - mu_k) / sd_k <= z_theta``
    (same inequality, no erf per call).
    """
    if room <= 0 or theta <= 0.0:
        return 0
    z = _NORMAL.inv_cdf(min(theta, 1.0 - 1e-12))
    b = 0.5 - fc.supply_mean + fc.demand_mean
    v = fc.supply_var + fc.demand_var
    p, c = fc.p_human, fc.p_human * (1.0 - fc.p_human)
    k = 0
    while k < room and b + k * p <= z * math.sqrt(max(v + k * c, 0.05)):
        k += 1
    return k


def _refresh(state: CentralaState) -> CentralaState:
    tables = build_tables(
        state.talk, state.wrap, state.to_human, state.ring, state.mix.share("human")
    )
    return replace(state, tables=tables, since_refresh=0)


def _decide(state: CentralaState, view: FloorView, now: float) -> tuple[str, int]:
    cfg = state.config
    if view.logged_in <= 0 or (view.shift_remaining_s is not None and view.shift_remaining_s <= 0):
        return "idle", 0
    prog = progressive_count(view)
    if view.logged_in < cfg.min_agents:
        return "progressive_few_agents", prog
    if state.tables is None or state.attempts < cfg.min_attempts or state.handled < cfg.min_handled:
        return "progressive_no_history", prog
    h = reg.headroom(state.regulator, now, view.shift_remaining_s)
    if h < 1.0:  # spent even before counting the calls in flight: skip the forecast
        return "progressive_hard_cap", prog
    fc = forecast(view, state.tables, state.mix)
    theta = reg.risk_for_headroom(state.config.regulator, h, fc.pending_risk())
    if theta <= 0.0:
        return "progressive_hard_cap", prog
    room = int(cfg.max_pending_per_agent * view.logged_in) - view.pending_lines
    room = min(room, cfg.max_dial_per_tick)
    return "predictive", max(predictive_count(fc, theta, room), min(prog, cfg.max_dial_per_tick))


def step(state: CentralaState, event: Event, now: float) -> tuple[CentralaState, list[Dial]]:
    """Fold ``event`` into ``state``; on a tick, return the dial command."""
    if isinstance(event, Tick):
        mode, n = _decide(state, event.view, now)
        amd = reg.amd_allowed(state.regulator, now, event.view.shift_remaining_s)
        if mode != state.mode or amd != state.amd:
            state = replace(state, mode=mode, amd=amd)
        if n <= 0:
            return state, []
        return state, [Dial(n, guaranteed_agent=mode != "predictive", amd=amd)]
    regulator = reg.step(state.regulator, event, now)
    if isinstance(event, AttemptEnded):
        is_human = event.outcome == "human"
        state = replace(
            state,
            regulator=regulator,
            mix=state.mix.update(event.outcome),
            ring=state.ring.update(event.elapsed_s, is_human),
            to_human=state.to_human.update(event.elapsed_s) if is_human else state.to_human,
            attempts=state.attempts + 1,
            since_refresh=state.since_refresh + 1,
        )
    elif isinstance(event, CallHandled):
        state = replace(
            state,
            regulator=regulator,
            talk=state.talk.update(event.talk_s),
            wrap=state.wrap.update(event.wrap_s),
            handled=state.handled + 1,
            since_refresh=state.since_refresh + 1,
        )
    else:  # LiveAnswered, MachineDisposition, DayStarted: counters only
        return replace(state, regulator=regulator), []
    cfg = state.config
    ready = state.attempts >= cfg.min_attempts and state.handled >= cfg.min_handled
    if ready and (state.tables is None or state.since_refresh >= cfg.refresh_every):
        state = _refresh(state)
    return state, []
