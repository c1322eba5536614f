"""Online estimators for pacing: outcome mix, durations, forecast tables.

Theory of operation: every estimator is a frozen value with an ``update``
method that returns a new value, so the pacing state stays a plain value.
Estimators forget slowly (an exponential window of ``window`` observations) so
they follow a list that drifts during the day but are not thrown by one odd
call.

* :class:`OutcomeMix` -- share of each dial outcome (human, machine, no answer,
  busy, unobtainable): the answer rate and the machine rate.
* :class:`LogNormalEstimator` -- exponentially weighted mean and variance of
  ``log(duration)``: talk, wrap-up, time from dial to "human" verdict.
* :class:`RingHistogram` -- when unanswered calls end, and which become human;
  gives P(call still ringing at elapsed e ends up human).
* :func:`build_tables` -- turns the estimators into the lookup tables the policy
  reads on every tick (completion probabilities by elapsed second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .events import OUTCOMES

# scipy.special is imported where it is used: it costs the daemon a second at start-up
# (the daemon preloads it in a thread once connected; see controlplane.amd_live).

_HUMAN = OUTCOMES.index("human")
_MACHINE = OUTCOMES.index("machine")


def _weight(n: float, window: int) -> float:
    """Weight of a new observation: running mean first, then exponential."""
    return 1.0 / min(n + 1.0, float(window))


@dataclass(frozen=True, slots=True)
class OutcomeMix:
    """Exponentially weighted shares of the dial outcomes in :data:`OUTCOMES`."""

    counts: tuple[float, ...] = (0.0,) * len(OUTCOMES)
    window: int = 2000

    @property
    def n(self) -> float:
        """Effective number of observations."""
        return sum(self.counts)

    def update(self, outcome: str) -> OutcomeMix:
        """Record one attempt that ended with ``outcome``."""
        idx = OUTCOMES.index(outcome)
        n = self.n
        keep = 1.0 if n + 1 <= self.window else (self.window - 1) / n
        counts = [c * keep for c in self.counts]
        counts[idx] += 1.0
        return OutcomeMix(tuple(counts), self.window)

    def share(self, outcome: str) -> float:
        """Share of attempts ending with ``outcome`` (0 with no history)."""
        n = self.n
        return self.counts[OUTCOMES.index(outcome)] / n if n > 0 else 0.0

    @property
    def answer_rate(self) -> float:
        """Share of attempts answered (by a person or a machine)."""
        n = self.n
        return (self.counts[_HUMAN] + self.counts[_MACHINE]) / n if n > 0 else 0.0

    @property
    def machine_rate(self) -> float:
        """Share of answered attempts classified as machines."""
        answered = self.counts[_HUMAN] + self.counts[_MACHINE]
        return self.counts[_MACHINE] / answered if answered > 0 else 0.0

    @property
    def human_given_answered(self) -> float:
        """P(human verdict | answered): used for calls still in AMD."""
        return 1.0 - self.machine_rate if self.n > 0 else 0.5


@dataclass(frozen=True, slots=True)
class LogNormalEstimator:
    """Exponentially weighted estimate of a log-normal duration.

    ``prior_mean`` and ``prior_cv`` describe the distribution before any data
    (they only matter until the first observation).
    """

    prior_mean: float
    prior_cv: float = 1.0
    window: int = 500
    n: float = 0.0
    mu: float = 0.0
    var: float = 0.0

    def update(self, x: float) -> LogNormalEstimator:
        """Record one observed duration (values below 0.1 s are clamped)."""
        lx = math.log(max(x, 0.1))
        if self.n == 0:
            return LogNormalEstimator(self.prior_mean, self.prior_cv, self.window, 1.0, lx, 0.0)
        a = _weight(self.n, self.window)
        d = lx - self.mu
        var = (1.0 - a) * (self.var + a * d * d)
        return LogNormalEstimator(
            self.prior_mean, self.prior_cv, self.window, self.n + 1.0, self.mu + a * d, var
        )

    @property
    def params(self) -> tuple[float, float]:
        """``(mu, sigma)`` of ``log(duration)``; the prior until 2 observations."""
        if self.n < 2:
            s2 = math.log1p(self.prior_cv**2)
            return math.log(self.prior_mean) - s2 / 2, math.sqrt(s2)
        return self.mu, max(math.sqrt(self.var), 1e-3)

    @property
    def mean(self) -> float:
        """Mean duration in seconds."""
        mu, s = self.params
        return math.exp(mu + s * s / 2)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """P(duration <= x), vectorised."""
        mu, s = self.params
        from scipy.special import ndtr

        xs = np.maximum(np.asarray(x, dtype=float), 1e-9)
        return np.asarray(ndtr((np.log(xs) - mu) / s), dtype=float)

    def quantiles(self, k: int) -> np.ndarray:
        """``k`` equiprobable representative points of the distribution."""
        mu, s = self.params
        from scipy.special import ndtri

        z = np.asarray(ndtri((np.arange(k) + 0.5) / k), dtype=float)
        return np.exp(mu + s * z)


@dataclass(frozen=True, slots=True)
class RingHistogram:
    """When attempts resolve (1-s bins) and whether they became human."""

    max_s: int = 60
    window: int = 3000
    total: tuple[float, ...] = field(default=())
    human: tuple[float, ...] = field(default=())
    n: float = 0.0

    def update(self, elapsed_s: float, is_human: bool) -> RingHistogram:
        """Record one attempt resolved after ``elapsed_s`` seconds."""
        total = self.total or (0.0,) * (self.max_s + 1)
        human = self.human or (0.0,) * (self.max_s + 1)
        n = self.n
        if n >= 2 * self.window:  # amortised forgetting: halve the counts
            total = tuple(t / 2 for t in total)
            human = tuple(h / 2 for h in human)
            n /= 2
        b = min(int(elapsed_s), self.max_s)
        total = total[:b] + (total[b] + 1.0,) + total[b + 1 :]
        if is_human:
            human = human[:b] + (human[b] + 1.0,) + human[b + 1 :]
        return RingHistogram(self.max_s, self.window, total, human, n + 1.0)

    def human_given_unresolved(self, default: float) -> tuple[float, ...]:
        """Table by elapsed second: P(ends human | not resolved yet)."""
        if not self.total:
            return (default,) * (self.max_s + 1)
        tot = np.cumsum(np.asarray(self.total)[::-1])[::-1]
        hum = np.cumsum(np.asarray(self.human)[::-1])[::-1]
        table = np.where(tot >= 5.0, hum / np.maximum(tot, 1e-9), default)
        return tuple(float(v) for v in table)


@dataclass(frozen=True, slots=True)
class ForecastTables:
    """Lookup tables read on every tick (index = elapsed whole seconds).

    ``talk_free[e]``: P(an agent talking for ``e`` s is free when a call dialled
    now reaches the human verdict). ``wrap_free[e]``: same for an agent ``e`` s
    into wrap-up. ``ring_human[e]``: P(a call ringing for ``e`` s ends human).
    """

    talk_free: tuple[float, ...]
    wrap_free: tuple[float, ...]
    ring_human: tuple[float, ...]


def _conditional_done(
    est: LogNormalEstimator, elapsed: np.ndarray, extra: np.ndarray
) -> np.ndarray:
    """Mean over ``extra`` of P(D <= elapsed + extra | D > elapsed) for duration D."""
    base = est.cdf(elapsed)[:, None]
    later = est.cdf(elapsed[:, None] + extra[None, :])
    surv = np.maximum(1.0 - base, 1e-12)
    done: np.ndarray = np.clip((later - base) / surv, 0.0, 1.0).mean(axis=1)
    return done


def build_tables(
    talk: LogNormalEstimator,
    wrap: LogNormalEstimator,
    to_human: LogNormalEstimator,
    ring: RingHistogram,
    human_share: float,
    max_talk_s: int = 1200,
    max_wrap_s: int = 300,
    points: int = 5,
) -> ForecastTables:
    """Derive the per-tick lookup tables from the estimators.

    The horizon is the (random) time a call dialled now needs to reach its
    human verdict, represented by ``points`` quantiles. A talking agent is free
    at the horizon when the rest of the talk plus a wrap-up fit inside it; the
    sum over wrap-up quantiles is a discrete convolution.
    """
    horizon = to_human.quantiles(points)
    wraps = wrap.quantiles(points)
    extra = (horizon[:, None] - wraps[None, :]).ravel()
    talk_e = np.arange(max_talk_s + 1, dtype=float)
    wrap_e = np.arange(max_wrap_s + 1, dtype=float)
    # Combinations where the wrap-up alone outlasts the horizon clip to 0: "not free".
    talk_free = _conditional_done(talk, talk_e, np.maximum(extra, 0.0))
    wrap_free = _conditional_done(wrap, wrap_e, horizon)
    return ForecastTables(
        talk_free=tuple(float(v) for v in talk_free),
        wrap_free=tuple(float(v) for v in wrap_free),
        ring_human=ring.human_given_unresolved(human_share),
    )
