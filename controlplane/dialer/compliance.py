"""Abandoned-call formulas and redial lockouts (pure functions).

Theory of operation: a call is *abandoned* when a live person answered and no
agent was connected within :data:`ABANDON_GRACE_S` (2 s) of the end of their
greeting. The dialer then plays a recorded message (caller identity, purpose,
a number to call back, no sales content) and releases the call. Regulators cap
the share of abandoned calls over a window and restrict redials:

=========  ========================  ==========  ===========================
regulator  numerator                 window      denominator
=========  ========================  ==========  ===========================
US (TSR)   abandoned                 30 days     live answers (incl. abandoned)
UK Ofcom   abandoned + AMD false     24 hours    live answers + AMD false
           positives (estimated)                 positives (estimated)
=========  ========================  ==========  ===========================

Both cap the rate at 3 % per campaign. AMD false positives (a person hung up on
because AMD said "machine") are invisible to the dialer, so Ofcom asks for a
reasoned estimate: the share of AMD "machine" verdicts found to be people when a
sample of them is listened to, times the number of such verdicts.

Redial lockout table (event -> earliest redial without a guaranteed agent):

==================  ==========
event               lockout
==================  ==========
abandoned call      72 hours
machine detected    24 hours
==================  ==========

A redial with an agent guaranteed (reserved before dialling) is always allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ABANDON_CAP = 0.03
ABANDON_GRACE_S = 2.0
HOUR_S = 3600.0
DAY_S = 24 * HOUR_S

LOCKOUT_S = {"abandoned": 72 * HOUR_S, "machine": 24 * HOUR_S}


@dataclass(frozen=True, slots=True)
class Regulator:
    """How one regulator counts abandoned calls."""

    name: str
    window_days: int
    counts_amd_false_positives: bool
    cap: float = ABANDON_CAP


US_TSR = Regulator("us_tsr", window_days=30, counts_amd_false_positives=False)
UK_OFCOM = Regulator("uk_ofcom", window_days=1, counts_amd_false_positives=True)
REGULATORS = {r.name: r for r in (US_TSR, UK_OFCOM)}


@dataclass(frozen=True, slots=True)
class DayCounts:
    """Per-campaign counters for one day.

    ``live`` counts calls answered by a person that the dialer recognised as a
    person (connected to an agent or abandoned); ``abandoned`` is a subset of
    it. ``machine_verdicts`` counts AMD "machine" classifications.
    """

    live: int = 0
    abandoned: int = 0
    machine_verdicts: int = 0


def abandon_deadline(greeting_end: float) -> float:
    """Latest time an agent may be connected before the call counts as abandoned."""
    return greeting_end + ABANDON_GRACE_S


def is_abandoned(greeting_end: float, agent_connected_at: float | None) -> bool:
    """True if no agent was connected within the grace period after the greeting."""
    return agent_connected_at is None or agent_connected_at > abandon_deadline(greeting_end)


def estimate_amd_false_positives(machine_verdicts: float, fp_share: float) -> float:
    """Reasoned estimate of people hung up on by AMD.

    ``fp_share`` is the share of AMD "machine" verdicts found to be live people
    in a listened sample (Ofcom's "reasoned estimate").
    """
    if not 0.0 <= fp_share < 1.0:
        raise ValueError(f"fp_share must be in [0, 1), got {fp_share!r}")
    return machine_verdicts * fp_share


def us_abandon_rate(abandoned: float, live: float) -> float:
    """US TSR rate: abandoned / live answers (abandoned calls included in both)."""
    return abandoned / live if live > 0 else 0.0


def uk_abandon_rate(abandoned: float, live: float, amd_false_positives: float) -> float:
    """UK Ofcom rate: AMD false positives count as abandoned live calls."""
    denominator = live + amd_false_positives
    return (abandoned + amd_false_positives) / denominator if denominator > 0 else 0.0


def abandon_rate(
    regulator: Regulator, abandoned: float, live: float, amd_false_positives: float = 0.0
) -> float:
    """Rate of ``regulator`` for the given counters."""
    if regulator.counts_amd_false_positives:
        return uk_abandon_rate(abandoned, live, amd_false_positives)
    return us_abandon_rate(abandoned, live)


def window_totals(days: Sequence[DayCounts], window_days: int) -> DayCounts:
    """Sum of the last ``window_days`` entries of ``days`` (oldest first)."""
    if window_days <= 0:
        return DayCounts()
    recent = days[-window_days:]
    return DayCounts(
        live=sum(d.live for d in recent),
        abandoned=sum(d.abandoned for d in recent),
        machine_verdicts=sum(d.machine_verdicts for d in recent),
    )


def rolling_rates(
    regulator: Regulator, days: Sequence[DayCounts], fp_share: float = 0.0
) -> list[float]:
    """Regulator rate of every window ending on each day (shorter at the start)."""
    rates = []
    for end in range(1, len(days) + 1):
        t = window_totals(days[:end], regulator.window_days)
        fp = estimate_amd_false_positives(t.machine_verdicts, fp_share)
        rates.append(abandon_rate(regulator, t.abandoned, t.live, fp))
    return rates


def lockout_until(event: str, at: float) -> float:
    """Earliest time the number may be redialled without a guaranteed agent."""
    try:
        return at + LOCKOUT_S[event]
    except KeyError:
        raise ValueError(f"no lockout rule for event {event!r}") from None


def may_redial(
    history: Iterable[tuple[str, float]], now: float, guaranteed_agent: bool = False
) -> bool:
    """Whether a number with ``history`` of ``(event, time)`` may be dialled at ``now``.

    Events without a lockout rule (e.g. ``"no_answer"``) are ignored.
    """
    if guaranteed_agent:
        return True
    return all(now >= at + LOCKOUT_S[event] for event, at in history if event in LOCKOUT_S)
