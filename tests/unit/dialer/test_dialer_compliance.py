"""Abandon-rate formulas, windows and redial lockouts on hand-computed examples."""

import pytest

from controlplane.dialer.compliance import (
    DAY_S,
    HOUR_S,
    UK_OFCOM,
    US_TSR,
    DayCounts,
    abandon_deadline,
    abandon_rate,
    estimate_amd_false_positives,
    is_abandoned,
    lockout_until,
    may_redial,
    rolling_rates,
    uk_abandon_rate,
    us_abandon_rate,
    window_totals,
)


@pytest.mark.parametrize(
    ("abandoned", "live", "expected"),
    [
        (0, 0, 0.0),
        (3, 100, 0.03),
        (4, 100, 0.04),
        (30, 1000, 0.03),
        (31, 1000, 0.031),
    ],
)
def test_us_rate_is_abandoned_over_live_answers(abandoned, live, expected):
    assert us_abandon_rate(abandoned, live) == pytest.approx(expected)
    assert abandon_rate(US_TSR, abandoned, live, amd_false_positives=50) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("abandoned", "live", "machine_verdicts", "fp_share", "expected"),
    [
        # 20 people hung up on by AMD: (10 + 20) / (980 + 20) = 3.0 %
        (10, 980, 1000, 0.02, 0.030),
        # no AMD errors: plain abandoned / live
        (10, 1000, 1000, 0.0, 0.010),
        # FP alone can break the cap: (0 + 40) / (960 + 40) = 4 %
        (0, 960, 2000, 0.02, 0.040),
        # nothing answered at all
        (0, 0, 0, 0.02, 0.0),
    ],
)
def test_uk_rate_counts_estimated_amd_false_positives(
    abandoned, live, machine_verdicts, fp_share, expected
):
    fp = estimate_amd_false_positives(machine_verdicts, fp_share)
    assert uk_abandon_rate(abandoned, live, fp) == pytest.approx(expected)
    assert abandon_rate(UK_OFCOM, abandoned, live, fp) == pytest.approx(expected)


@pytest.mark.parametrize("share", [-0.1, 1.0, 1.5])
def test_fp_share_out_of_range_is_rejected(share):
    with pytest.raises(ValueError, match="fp_share"):
        estimate_amd_false_positives(100, share)


def test_us_window_is_thirty_days():
    # day 0 is terrible (10 %), the next 30 days are clean (1 %)
    days = [DayCounts(live=100, abandoned=10)] + [DayCounts(live=100, abandoned=1)] * 30
    rates = rolling_rates(US_TSR, days)
    assert rates[0] == pytest.approx(0.10)
    # day 29 still includes day 0: (10 + 29) / 3000
    assert rates[29] == pytest.approx(39 / 3000)
    # day 30 drops day 0 out of the window: 30 / 3000
    assert rates[30] == pytest.approx(0.01)
    assert window_totals(days, 30) == DayCounts(live=3000, abandoned=30)
    assert window_totals(days, 0) == DayCounts()


def test_uk_window_is_one_day():
    days = [
        DayCounts(live=100, abandoned=1, machine_verdicts=100),
        DayCounts(live=100, abandoned=5, machine_verdicts=0),
    ]
    rates = rolling_rates(UK_OFCOM, days, fp_share=0.02)
    assert rates[0] == pytest.approx((1 + 2) / (100 + 2))
    assert rates[1] == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("greeting_end", "connected_at", "abandoned"),
    [
        (10.0, 10.5, False),
        (10.0, 12.0, False),  # exactly 2 s is still in time
        (10.0, 12.01, True),
        (10.0, None, True),
    ],
)
def test_two_second_rule(greeting_end, connected_at, abandoned):
    assert abandon_deadline(greeting_end) == greeting_end + 2.0
    assert is_abandoned(greeting_end, connected_at) is abandoned


@pytest.mark.parametrize(
    ("history", "now", "guaranteed", "allowed"),
    [
        ([("abandoned", 0.0)], 71 * HOUR_S, False, False),
        ([("abandoned", 0.0)], 72 * HOUR_S, False, True),
        ([("abandoned", 0.0)], 1 * HOUR_S, True, True),
        ([("machine", 0.0)], 23.9 * HOUR_S, False, False),
        ([("machine", 0.0)], DAY_S, False, True),
        ([("no_answer", 0.0), ("busy", 10.0)], 20.0, False, True),
        ([("machine", 0.0), ("abandoned", DAY_S)], 2 * DAY_S, False, False),
        ([], 0.0, False, True),
    ],
)
def test_redial_lockouts(history, now, guaranteed, allowed):
    assert may_redial(history, now, guaranteed_agent=guaranteed) is allowed


def test_lockout_until_and_unknown_event():
    assert lockout_until("abandoned", 100.0) == 100.0 + 72 * HOUR_S
    assert lockout_until("machine", 100.0) == 100.0 + 24 * HOUR_S
    with pytest.raises(ValueError, match="no lockout rule"):
        lockout_until("busy", 0.0)
