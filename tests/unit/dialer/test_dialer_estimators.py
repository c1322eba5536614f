"""Online estimators: convergence, forgetting and the derived forecast tables."""

import math

import numpy as np
import pytest

from controlplane.dialer.estimators import (
    LogNormalEstimator,
    OutcomeMix,
    RingHistogram,
    build_tables,
)
from controlplane.dialer.events import OUTCOMES


def _lognormal(rng, mean, sd, n):
    s2 = math.log1p((sd / mean) ** 2)
    return rng.lognormal(math.log(mean) - s2 / 2, math.sqrt(s2), n)


@pytest.mark.parametrize(("mean", "sd"), [(150.0, 120.0), (20.0, 10.0), (12.0, 7.0)])
def test_lognormal_estimator_converges(mean, sd):
    rng = np.random.default_rng(1)
    est = LogNormalEstimator(prior_mean=50.0, window=5000)
    for x in _lognormal(rng, mean, sd, 4000):
        est = est.update(float(x))
    assert est.mean == pytest.approx(mean, rel=0.06)
    mu, sigma = est.params
    assert sigma == pytest.approx(math.sqrt(math.log1p((sd / mean) ** 2)), rel=0.06)
    assert float(est.cdf(np.array([mean * 100]))[0]) > 0.999


def test_lognormal_estimator_uses_prior_until_data():
    est = LogNormalEstimator(prior_mean=150.0, prior_cv=0.8)
    assert est.mean == pytest.approx(150.0)
    assert est.update(10.0).mean == pytest.approx(150.0)  # one point: still the prior
    assert est.update(10.0).update(10.0).mean == pytest.approx(10.0, rel=0.01)


def test_outcome_mix_converges_to_shares():
    rng = np.random.default_rng(2)
    p = [0.245, 0.255, 0.35, 0.10, 0.05]
    mix = OutcomeMix(window=100_000)
    for i in rng.choice(5, size=5000, p=p):
        mix = mix.update(OUTCOMES[i])
    for name, share in zip(OUTCOMES, p, strict=True):
        assert mix.share(name) == pytest.approx(share, abs=0.02)
    assert mix.answer_rate == pytest.approx(0.5, abs=0.02)
    assert mix.machine_rate == pytest.approx(0.51, abs=0.03)


def test_outcome_mix_forgets_old_regime():
    mix = OutcomeMix(window=200)
    for _ in range(1000):
        mix = mix.update("no_answer")
    for _ in range(1000):
        mix = mix.update("human")
    assert mix.share("human") > 0.99
    assert mix.n == pytest.approx(200, rel=0.01)


def test_empty_outcome_mix_is_neutral():
    mix = OutcomeMix()
    assert mix.share("human") == 0.0
    assert mix.human_given_answered == 0.5


def test_ring_histogram_conditional_human_share():
    ring = RingHistogram(max_s=40)
    for _ in range(100):
        ring = ring.update(5.2, is_human=True)
        ring = ring.update(30.0, is_human=False)
    table = ring.human_given_unresolved(default=0.25)
    assert table[0] == pytest.approx(0.5)
    assert table[5] == pytest.approx(0.5)  # still unresolved in the 5th second
    assert table[6] == pytest.approx(0.0)  # past 6 s only no-answers remain
    assert table[35] == pytest.approx(0.25)  # no data: the default
    assert RingHistogram().human_given_unresolved(0.3)[0] == 0.3


def test_forecast_tables_are_probabilities_and_ordered():
    talk = LogNormalEstimator(150.0, 0.8)
    wrap = LogNormalEstimator(20.0, 0.5)
    to_human = LogNormalEstimator(15.0, 0.5)
    t = build_tables(talk, wrap, to_human, RingHistogram(), human_share=0.25)
    for table in (t.talk_free, t.wrap_free, t.ring_human):
        assert all(0.0 <= v <= 1.0 for v in table)
    # a wrap-up 30 s old is more likely over soon than one just started
    assert t.wrap_free[30] > t.wrap_free[0]
    # talking agents still owe a wrap-up: rarely free within the horizon
    assert t.talk_free[0] < 0.01
    assert t.wrap_free[0] > t.talk_free[100]
