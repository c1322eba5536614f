"""Retry rules per outcome, attempt caps, closure and UK redial lockouts."""

import pytest

from controlplane.dialer.compliance import HOUR_S, UK_OFCOM, US_TSR
from controlplane.dialer.records import (
    DialerRecordsError,
    DialRecord,
    Outcome,
    RecordKind,
    RecordState,
    RetryRule,
    apply_update,
)
from controlplane.dialer.retry import DEFAULT_RETRY_RULES, RetryRules, after_attempt

NOW = 1_750_000_000.0
RULES = RetryRules(
    max_attempts=6,
    per_outcome={
        Outcome.NO_ANSWER: RetryRule(3, 2 * HOUR_S),
        Outcome.BUSY: RetryRule(3, 900.0),
        Outcome.MACHINE: RetryRule(2, 4 * HOUR_S),
        Outcome.ABANDONED: RetryRule(2, 600.0),
    },
)
NA, BUSY, MACH, ABAN = Outcome.NO_ANSWER, Outcome.BUSY, Outcome.MACHINE, Outcome.ABANDONED
FRESH, SYSTEM, PRIVATE = RecordKind.FRESH, RecordKind.SYSTEM_RECONTACT, RecordKind.PRIVATE_RECONTACT
SCHED, CLOSED = RecordState.SCHEDULED, RecordState.CLOSED


def rec(**kw):
    if kw.get("kind") is PRIVATE:
        kw.setdefault("assigned_user", "anna")
    return DialRecord(7, 70, "+48221000007", "Europe/Warsaw", **kw)


@pytest.mark.parametrize(
    ("record", "outcome", "regulator", "state", "attempts", "next_due", "locked", "kind", "why"),
    [
        (rec(), NA, US_TSR, SCHED, 1, NOW + 2 * HOUR_S, None, SYSTEM, "retry"),
        (
            rec(attempts=2, outcome_counts=((NA, 2),)),
            NA,
            US_TSR,
            CLOSED,
            3,
            None,
            None,
            FRESH,
            "3 attempts used",
        ),
        (
            rec(attempts=2, outcome_counts=((NA, 2),)),
            BUSY,
            US_TSR,
            SCHED,
            3,
            NOW + 900,
            None,
            SYSTEM,
            "retry",
        ),
        (
            rec(attempts=5, outcome_counts=((NA, 1), (BUSY, 1))),
            BUSY,
            US_TSR,
            CLOSED,
            6,
            None,
            None,
            FRESH,
            "max attempts 6",
        ),
        (rec(), Outcome.HUMAN, US_TSR, RecordState.DONE, 1, None, None, FRESH, "disposition"),
        (
            rec(attempts=5),
            Outcome.HUMAN,
            UK_OFCOM,
            RecordState.DONE,
            6,
            None,
            None,
            FRESH,
            "disposition",
        ),
        (
            rec(),
            Outcome.UNALLOCATED,
            US_TSR,
            RecordState.FAILED,
            1,
            None,
            None,
            FRESH,
            "never retried",
        ),
        (rec(), Outcome.FAILED, US_TSR, CLOSED, 1, None, None, FRESH, "no retry rule for failed"),
        # Lockouts: UK only, from compliance.py; next_due still follows the rule.
        (rec(), ABAN, UK_OFCOM, SCHED, 1, NOW + 600, NOW + 72 * HOUR_S, SYSTEM, "retry"),
        (rec(), ABAN, US_TSR, SCHED, 1, NOW + 600, None, SYSTEM, "retry"),
        (rec(), MACH, UK_OFCOM, SCHED, 1, NOW + 4 * HOUR_S, NOW + 24 * HOUR_S, SYSTEM, "retry"),
        (rec(), MACH, US_TSR, SCHED, 1, NOW + 4 * HOUR_S, None, SYSTEM, "retry"),
        (rec(), NA, UK_OFCOM, SCHED, 1, NOW + 2 * HOUR_S, None, SYSTEM, "retry"),
        # A running longer lockout is never shortened; a closed record keeps its lockout.
        (
            rec(locked_until=NOW + 100 * HOUR_S),
            MACH,
            UK_OFCOM,
            SCHED,
            1,
            NOW + 4 * HOUR_S,
            NOW + 100 * HOUR_S,
            SYSTEM,
            "retry",
        ),
        (
            rec(attempts=1, outcome_counts=((ABAN, 1),)),
            ABAN,
            UK_OFCOM,
            CLOSED,
            2,
            None,
            NOW + 72 * HOUR_S,
            FRESH,
            "2 attempts used",
        ),
        # A private recontact stays with its agent.
        (
            rec(kind=PRIVATE, next_due_at=NOW - 5),
            BUSY,
            US_TSR,
            SCHED,
            1,
            NOW + 900,
            None,
            PRIVATE,
            "retry",
        ),
        (
            rec(kind=SYSTEM, next_due_at=NOW - 5),
            NA,
            US_TSR,
            SCHED,
            1,
            NOW + 2 * HOUR_S,
            None,
            SYSTEM,
            "retry",
        ),
    ],
)
def test_outcome_table(record, outcome, regulator, state, attempts, next_due, locked, kind, why):
    u = after_attempt(record, outcome, RULES, NOW, regulator)
    assert (u.state, u.attempts, u.next_due_at, u.locked_until, u.kind) == (
        state,
        attempts,
        next_due,
        locked,
        kind,
    )
    assert why in u.reason
    assert u.last_outcome is outcome
    assert dict(u.outcome_counts)[outcome] == record.count(outcome) + 1
    assert u.assigned_user == record.assigned_user


@pytest.mark.parametrize(
    ("rules", "skips_before", "state", "next_due"),
    [
        (RULES, 0, SCHED, NOW - 10),  # no skipped rule: left as it was
        (RetryRules(6, {Outcome.SKIPPED: RetryRule(2, 60.0)}), 0, SCHED, NOW + 60),
        (RetryRules(6, {Outcome.SKIPPED: RetryRule(2, 60.0)}), 1, CLOSED, None),
    ],
)
def test_a_skip_is_not_an_attempt(rules, skips_before, state, next_due):
    counts = ((Outcome.SKIPPED, skips_before),) if skips_before else ()
    r = rec(attempts=2, next_due_at=NOW - 10, outcome_counts=counts)
    u = after_attempt(r, Outcome.SKIPPED, rules, NOW, UK_OFCOM)
    assert (u.state, u.attempts, u.next_due_at, u.kind) == (state, 2, next_due, FRESH)


def test_default_rules_walk_a_never_answering_number_to_closure():
    r = rec()
    dues = []
    for i in range(3):
        u = after_attempt(r, NA, DEFAULT_RETRY_RULES, NOW + i * 10 * HOUR_S, UK_OFCOM)
        dues.append(u.next_due_at)
        r = apply_update(r, u)
    assert dues == [NOW + 2 * HOUR_S, NOW + 12 * HOUR_S, None]
    assert (r.state, r.attempts, r.count(NA)) == (CLOSED, 3, 3)


def test_mixed_outcomes_hit_the_overall_cap():
    rules = RetryRules(4, {NA: RetryRule(10, 60.0), BUSY: RetryRule(10, 60.0)})
    r = rec()
    for outcome in (NA, BUSY, NA):
        r = apply_update(r, after_attempt(r, outcome, rules, NOW, US_TSR))
        assert r.state is SCHED
    u = after_attempt(r, BUSY, rules, NOW, US_TSR)
    assert (u.state, u.attempts) == (CLOSED, 4) and "max attempts 4" in u.reason


@pytest.mark.parametrize("state", [RecordState.DONE, RecordState.CLOSED, RecordState.FAILED])
def test_only_scheduled_records_take_attempts(state):
    with pytest.raises(DialerRecordsError, match=f"record 7: .*state {state}"):
        after_attempt(rec(state=state), NA, RULES, NOW, US_TSR)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: RetryRules(0), "max_attempts 0"),
        (lambda: RetryRules(3, {Outcome.HUMAN: RetryRule(1, 1.0)}), "human cannot have"),
        (lambda: RetryRules(3, {Outcome.UNALLOCATED: RetryRule(1, 1.0)}), "unallocated cannot"),
        (lambda: RetryRule(-1, 1.0), "max_attempts -1"),
        (lambda: RetryRule(1, -5.0), "interval_s -5"),
    ],
)
def test_bad_rules_are_refused(make, message):
    with pytest.raises(DialerRecordsError, match=message):
        make()


def test_rules_are_frozen_copies():
    source = {NA: RetryRule(3, 60.0)}
    rules = RetryRules(3, source)
    source[BUSY] = RetryRule(1, 1.0)
    assert BUSY not in rules.per_outcome
    with pytest.raises(TypeError):
        rules.per_outcome[BUSY] = RetryRule(1, 1.0)  # type: ignore[index]


def test_update_for_another_record_is_refused():
    u = after_attempt(rec(), NA, RULES, NOW, US_TSR)
    other = DialRecord(8, 80, "+48221000008", "Europe/Warsaw")
    with pytest.raises(DialerRecordsError, match="record 7 applied to record 8"):
        apply_update(other, u)
