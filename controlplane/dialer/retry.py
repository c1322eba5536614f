"""What one attempt's outcome does to a record (pure; ``docs/dialer-records.md`` §4).

Theory of operation: when an attempt ends, the campaign service calls
:func:`after_attempt` with the record, the observed :class:`Outcome`, the
campaign's :class:`RetryRules` and the regulator; it writes back the returned
:class:`RecordUpdate`. Transitions (checked top to bottom):

==============  ==============================================================
outcome         result
==============  ==============================================================
``human``       ``done``: a person was served; the agent's disposition
                (:mod:`.dispositions`) decides closure or a recontact
``unallocated`` ``failed``: the number does not exist, never retried
``skipped``     no call was placed: attempts unchanged; with a ``skipped``
                rule, delayed by its interval and closed after its
                ``max_attempts`` skips; without one, left as it was
any other       attempts + 1; ``closed`` when the campaign's overall
                ``max_attempts`` is reached, when the outcome has no rule, or
                when this outcome has now ended ``rule.max_attempts``
                attempts; otherwise ``scheduled`` at now + ``rule.interval_s``
==============  ==============================================================

Compliance lockouts (UK Ofcom, :mod:`.compliance`): ``abandoned`` sets
``locked_until`` to now + 72 h and ``machine`` to now + 24 h (never shortening a
running lockout), whatever the retry rule says. ``next_due_at`` still follows
the rule: a lead that is due but locked may be dialled only with an agent
guaranteed (progressive), which :mod:`.selection` enforces. Under US TSR no
lockout is set.

A retried ``fresh`` record becomes a ``system_recontact`` (due again for
anyone); a private recontact stays private to its agent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from controlplane.dialer.compliance import HOUR_S, UK_OFCOM, Regulator, lockout_until
from controlplane.dialer.records import (
    DialerRecordsError,
    DialRecord,
    Outcome,
    RecordKind,
    RecordState,
    RecordUpdate,
    RetryRule,
)

# Regulators whose redial lockouts this module applies (by name, see compliance.py).
LOCKOUT_REGULATORS = frozenset({UK_OFCOM.name})
LOCKOUT_EVENTS = {Outcome.ABANDONED: "abandoned", Outcome.MACHINE: "machine"}


@dataclass(frozen=True, slots=True)
class RetryRules:
    """A campaign's retry rules: one :class:`RetryRule` per outcome, and a total cap.

    ``max_attempts`` caps the dialled attempts of one cycle (a recontact
    scheduled by a disposition starts a new cycle).
    """

    max_attempts: int
    per_outcome: Mapping[Outcome, RetryRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise DialerRecordsError(f"retry rules: max_attempts {self.max_attempts} < 1")
        for outcome in (Outcome.HUMAN, Outcome.UNALLOCATED):
            if outcome in self.per_outcome:
                raise DialerRecordsError(
                    f"retry rules: outcome {outcome} cannot have a retry rule "
                    "(human is closed by the disposition, unallocated is never retried)"
                )
        # Freeze the mapping: the dataclass is frozen, its contents must be too.
        object.__setattr__(self, "per_outcome", MappingProxyType(dict(self.per_outcome)))


def _bump(
    counts: tuple[tuple[Outcome, int], ...], outcome: Outcome
) -> tuple[tuple[Outcome, int], ...]:
    """``counts`` with ``outcome`` incremented (kept in first-seen order)."""
    d = dict(counts)
    d[outcome] = d.get(outcome, 0) + 1
    return tuple(d.items())


def _lockout(
    record: DialRecord, outcome: Outcome, now: float, regulator: Regulator
) -> float | None:
    """``locked_until`` after ``outcome`` under ``regulator`` (never shortened)."""
    event = LOCKOUT_EVENTS.get(outcome)
    if event is None or regulator.name not in LOCKOUT_REGULATORS:
        return record.locked_until
    until = lockout_until(event, now)
    return until if record.locked_until is None else max(until, record.locked_until)


def after_attempt(
    record: DialRecord,
    outcome: Outcome,
    rules: RetryRules,
    now: float,
    regulator: Regulator,
) -> RecordUpdate:
    """The record update after an attempt on ``record`` ended with ``outcome`` at ``now``."""
    if record.state is not RecordState.SCHEDULED:
        raise DialerRecordsError(
            f"record {record.record_id}: attempt outcome {outcome} on a record in state "
            f"{record.state} (only scheduled records are dialled)"
        )
    counts = _bump(record.outcome_counts, outcome)
    base = RecordUpdate(
        record_id=record.record_id,
        state=RecordState.CLOSED,
        kind=record.kind,
        attempts=record.attempts + 1,
        outcome_counts=counts,
        last_outcome=outcome,
        next_due_at=None,
        locked_until=_lockout(record, outcome, now, regulator),
        assigned_user=record.assigned_user,
        reason="",
    )

    def update(state: RecordState, reason: str) -> RecordUpdate:
        return dataclasses.replace(base, state=state, reason=reason)

    if outcome is Outcome.HUMAN:
        return update(RecordState.DONE, "human answered: the disposition decides")
    if outcome is Outcome.UNALLOCATED:
        return update(RecordState.FAILED, "number unallocated: never retried")
    if outcome is Outcome.REFUSED:  # nothing was dialled: no attempt counted
        return dataclasses.replace(base, state=RecordState.FAILED, attempts=record.attempts,
                                   locked_until=record.locked_until,
                                   reason="refused by the outbound policy: never retried")
    rule = rules.per_outcome.get(outcome)
    if outcome is Outcome.SKIPPED:
        return _after_skip(record, rule, counts, now)
    if record.attempts + 1 >= rules.max_attempts:
        return update(RecordState.CLOSED, f"max attempts {rules.max_attempts} reached")
    if rule is None:
        return update(RecordState.CLOSED, f"no retry rule for {outcome}")
    if dict(counts)[outcome] >= rule.max_attempts:
        return update(RecordState.CLOSED, f"{outcome} rule: {rule.max_attempts} attempts used")
    kind = RecordKind.SYSTEM_RECONTACT if record.kind is RecordKind.FRESH else record.kind
    return dataclasses.replace(
        base,
        state=RecordState.SCHEDULED,
        kind=kind,
        next_due_at=now + rule.interval_s,
        reason=f"{outcome}: retry in {rule.interval_s:g} s",
    )


def _after_skip(
    record: DialRecord,
    rule: RetryRule | None,
    counts: tuple[tuple[Outcome, int], ...],
    now: float,
) -> RecordUpdate:
    """A skipped record: no call was placed, so the attempt counter stays."""
    state, next_due, reason = RecordState.SCHEDULED, record.next_due_at, "skipped: left as it was"
    if rule is not None:
        if dict(counts)[Outcome.SKIPPED] >= rule.max_attempts:
            state, next_due = RecordState.CLOSED, None
            reason = f"skipped rule: {rule.max_attempts} skips used"
        else:
            next_due, reason = now + rule.interval_s, f"skipped: again in {rule.interval_s:g} s"
    return RecordUpdate(
        record_id=record.record_id,
        state=state,
        kind=record.kind,
        attempts=record.attempts,
        outcome_counts=counts,
        last_outcome=Outcome.SKIPPED,
        next_due_at=next_due,
        locked_until=record.locked_until,
        assigned_user=record.assigned_user,
        reason=reason,
    )


# A starting point for new campaigns (docs/dialer-records.md §4); campaigns set their own.
DEFAULT_RETRY_RULES = RetryRules(
    max_attempts=6,
    per_outcome={
        Outcome.NO_ANSWER: RetryRule(max_attempts=3, interval_s=2 * HOUR_S),
        Outcome.BUSY: RetryRule(max_attempts=3, interval_s=0.25 * HOUR_S),
        Outcome.MACHINE: RetryRule(max_attempts=2, interval_s=24 * HOUR_S),
        Outcome.FAILED: RetryRule(max_attempts=3, interval_s=0.5 * HOUR_S),
        Outcome.ABANDONED: RetryRule(max_attempts=2, interval_s=72 * HOUR_S),
    },
)
