"""Record selection: share convergence, ordering, calling hours across DST, lockouts, blacklists."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from controlplane.dialer.compliance import HOUR_S, UK_OFCOM
from controlplane.dialer.records import (
    Blacklist,
    CallingWindow,
    DialerRecordsError,
    DialRecord,
    Outcome,
    RecordKind,
    RecordState,
    RetryRule,
    apply_update,
)
from controlplane.dialer.retry import RetryRules, after_attempt
from controlplane.dialer.selection import (
    MixState,
    RecontactOrder,
    SkipReason,
    Strategy,
    is_open,
    local_instant,
    next_open,
    select,
)

ALWAYS = CallingWindow(time(0, 0), time(23, 59, 59, 999999))
DAYTIME = CallingWindow(time(9, 0), time(21, 0))
NOW = datetime(2025, 6, 4, 10, 0, tzinfo=UTC).timestamp()  # a Wednesday, 12:00 in Warsaw


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def rec(rid, kind=RecordKind.FRESH, **kw):
    if kind is RecordKind.PRIVATE_RECONTACT:
        kw.setdefault("assigned_user", "anna")
    if kind is not RecordKind.FRESH:
        kw.setdefault("next_due_at", NOW - 60.0)
    kw.setdefault("timezone", "Europe/Warsaw")
    return DialRecord(rid, rid, kw.pop("number", f"+4822{rid:07d}"), kind=kind, **kw)


def pool(fresh=2000, private=2000, system=2000):
    """Due records of every kind (ids 1.., 100001.., 200001..)."""
    out = [rec(i) for i in range(1, fresh + 1)]
    out += [rec(100000 + i, RecordKind.PRIVATE_RECONTACT) for i in range(1, private + 1)]
    out += [rec(200000 + i, RecordKind.SYSTEM_RECONTACT) for i in range(1, system + 1)]
    return out


def kinds(records):
    return [r.kind for r in records]


@pytest.mark.parametrize(
    "shares", [(60, 30, 10), (50, 50, 0), (34, 33, 33), (100, 0, 0), (5, 0, 95)]
)
def test_shares_converge_over_1000_single_picks(shares):
    strategy = Strategy(*shares)
    remaining = pool(*(share * 10 + 2 for share in shares))  # never runs a class dry
    mix = MixState()
    picked = []
    worst = 0.0
    for t in range(1, 1001):
        sel = select(remaining, strategy, NOW, 1, window=ALWAYS, agent="anna", mix=mix)
        (r,) = sel.records
        mix = sel.mix
        picked.append(r.kind)
        remaining = [x for x in remaining if x.record_id != r.record_id]
        for kind, share in zip(RecordKind, shares, strict=True):
            worst = max(worst, abs(picked.count(kind) - share * t / 100))
    for kind, share in zip(RecordKind, shares, strict=True):
        assert abs(picked.count(kind) - share * 10) <= 10  # within ±1 % of 1000 picks
    assert worst <= 1.0  # and within one pick at every point of the run
    assert mix.picked == tuple(picked.count(k) for k in RecordKind)


def test_shares_converge_in_one_batch_of_1000():
    sel = select(pool(), Strategy(60, 30, 10), NOW, 1000, window=ALWAYS, agent="anna")
    got = kinds(sel.records)
    assert (got.count(RecordKind.FRESH), got.count(RecordKind.PRIVATE_RECONTACT)) == (600, 300)
    assert got.count(RecordKind.SYSTEM_RECONTACT) == 100
    # Interleaved, not blocks: every window of 10 picks holds 6/3/1.
    assert all(got[i : i + 10].count(RecordKind.FRESH) == 6 for i in range(0, 1000, 10))


def test_empty_class_is_filled_by_the_others_in_proportion():
    records = [r for r in pool() if r.kind is not RecordKind.PRIVATE_RECONTACT]
    got = kinds(select(records, Strategy(60, 30, 10), NOW, 700, window=ALWAYS).records)
    assert (got.count(RecordKind.FRESH), got.count(RecordKind.SYSTEM_RECONTACT)) == (600, 100)


def test_zero_share_class_is_used_only_when_the_others_are_empty():
    records = [rec(1), rec(2), rec(3, RecordKind.SYSTEM_RECONTACT)]
    got = select(records, Strategy(100, 0, 0), NOW, 3, window=ALWAYS).records
    assert [r.record_id for r in got] == [1, 2, 3]


def test_refilled_class_does_not_burst_to_catch_up():
    fresh_only = [rec(i) for i in range(1, 600)]
    first = select(fresh_only, Strategy(60, 30, 10), NOW, 500, window=ALWAYS)
    assert set(kinds(first.records)) == {RecordKind.FRESH}
    later = [rec(i) for i in range(1000, 1200)]
    later += [rec(5000 + i, RecordKind.SYSTEM_RECONTACT) for i in range(50)]
    got = kinds(select(later, Strategy(60, 30, 10), NOW, 70, window=ALWAYS, mix=first.mix).records)
    assert got.count(RecordKind.SYSTEM_RECONTACT) == 10  # its share, not 50 at once


def test_fresh_records_by_priority_then_id():
    records = [rec(5, priority=1), rec(3), rec(4, priority=1), rec(1, priority=-2), rec(2)]
    got = select(records, Strategy(), NOW, 5, window=ALWAYS).records
    assert [r.record_id for r in got] == [4, 5, 2, 3, 1]


@pytest.mark.parametrize(
    ("order", "expected"),
    [(RecontactOrder.MOST_OVERDUE, [2, 4, 3, 1]), (RecontactOrder.LEAST_OVERDUE, [1, 4, 3, 2])],
)
def test_recontacts_by_overdue_then_priority_then_id(order, expected):
    s = RecordKind.SYSTEM_RECONTACT
    records = [
        rec(1, s, next_due_at=NOW - 10),
        rec(3, s, next_due_at=NOW - 100),
        rec(4, s, next_due_at=NOW - 100, priority=5),
        rec(2, s, next_due_at=NOW - 1000),
    ]
    got = select(records, Strategy(0, 0, 100, recontact_order=order), NOW, 4, window=ALWAYS)
    assert [r.record_id for r in got.records] == expected


@pytest.mark.parametrize(
    ("agent", "grace", "due_ago", "given"),
    [
        ("anna", None, 60.0, True),  # its own agent
        ("bob", None, 10 * HOUR_S, False),  # another agent, no grace: never
        (None, None, 60.0, False),  # predictive, no agent known
        ("bob", 3600.0, 3599.0, False),  # grace not over yet
        ("bob", 3600.0, 3600.0, True),  # released to anyone
        (None, 3600.0, 7200.0, True),
    ],
)
def test_private_recontact_goes_to_its_agent_or_after_the_grace(agent, grace, due_ago, given):
    r = rec(1, RecordKind.PRIVATE_RECONTACT, next_due_at=NOW - due_ago)
    sel = select(
        [r], Strategy(0, 100, 0, private_grace_s=grace), NOW, 1, window=ALWAYS, agent=agent
    )
    assert (len(sel.records) == 1) is given
    if not given:
        (skip,) = sel.skipped
        assert skip.reason is SkipReason.RESERVED and "anna" in skip.detail
        assert skip.until == (None if grace is None else NOW - due_ago + grace)


@pytest.mark.parametrize(
    ("zone", "instant", "open_"),
    [
        # Warsaw, DST starts 2025-03-30 (CET +1 -> CEST +2); window 09:00-21:00 local.
        ("Europe/Warsaw", utc(2025, 3, 29, 7, 30), False),  # 08:30 CET (a fixed +2 would say open)
        ("Europe/Warsaw", utc(2025, 3, 29, 8, 0), True),  # 09:00 CET: start is inclusive
        ("Europe/Warsaw", utc(2025, 3, 29, 19, 59, 59), True),  # 20:59:59 CET
        ("Europe/Warsaw", utc(2025, 3, 29, 20, 0), False),  # 21:00 CET: end is exclusive
        ("Europe/Warsaw", utc(2025, 3, 31, 7, 0), True),  # 09:00 CEST (a fixed +1 would say shut)
        ("Europe/Warsaw", utc(2025, 3, 31, 6, 59, 59), False),
        ("Europe/Warsaw", utc(2025, 3, 31, 19, 0), False),  # 21:00 CEST
        ("Europe/Warsaw", utc(2025, 10, 27, 8, 0), True),  # back to CET: 09:00
        ("Europe/Warsaw", utc(2025, 10, 27, 7, 59), False),
        # New York, DST starts 2025-03-09 (EST -5 -> EDT -4), ends 2025-11-02.
        ("America/New_York", utc(2025, 3, 8, 14, 0), True),  # 09:00 EST
        ("America/New_York", utc(2025, 3, 8, 13, 59, 59), False),
        ("America/New_York", utc(2025, 3, 10, 13, 0), True),  # 09:00 EDT
        ("America/New_York", utc(2025, 3, 10, 12, 59, 59), False),
        ("America/New_York", utc(2025, 3, 10, 1, 0), False),  # 21:00 EDT on the 9th
        ("America/New_York", utc(2025, 3, 10, 0, 59, 59), True),
        ("America/New_York", utc(2025, 11, 3, 13, 30), False),  # 08:30 EST
        ("America/New_York", utc(2025, 11, 3, 14, 0), True),
    ],
)
def test_calling_hours_in_the_records_own_zone_across_dst(zone, instant, open_):
    assert is_open(DAYTIME, ZoneInfo(zone), instant) is open_
    sel = select([rec(1, timezone=zone)], Strategy(), instant, 1, window=DAYTIME)
    assert (len(sel.records) == 1) is open_
    if not open_:
        (skip,) = sel.skipped
        assert skip.reason is SkipReason.OUTSIDE_WINDOW and zone in skip.detail
        assert skip.until is not None and is_open(DAYTIME, ZoneInfo(zone), skip.until)


def test_same_instant_open_in_one_zone_and_shut_in_another():
    at = utc(2025, 6, 4, 7, 30)  # 09:30 in Warsaw, 03:30 in New York
    records = [rec(1, timezone="Europe/Warsaw"), rec(2, timezone="America/New_York")]
    sel = select(records, Strategy(), at, 10, window=DAYTIME)
    assert [r.record_id for r in sel.records] == [1]
    assert sel.skipped[0].record_id == 2
    assert sel.skipped[0].until == utc(2025, 6, 4, 13, 0)  # 09:00 EDT


@pytest.mark.parametrize(
    ("window", "now", "expected"),
    [
        # After Friday's end, Monday-to-Friday hours: next Monday 09:00 CEST.
        (
            CallingWindow(time(9), time(21), frozenset(range(5))),
            utc(2025, 6, 6, 19, 30),
            utc(2025, 6, 9, 7),
        ),
        # Spring-forward gap: 02:30 does not exist on 2025-03-30; opens at 03:00 CEST.
        (CallingWindow(time(2, 30), time(5)), utc(2025, 3, 29, 23), utc(2025, 3, 30, 1)),
        # Fall-back: 02:30 happens twice on 2025-10-26; the first (CEST) counts.
        (CallingWindow(time(2, 30), time(5)), utc(2025, 10, 25, 23), utc(2025, 10, 26, 0, 30)),
        # A holiday is skipped: Monday closed, Tuesday 09:00.
        (
            CallingWindow(time(9), time(21), closed_dates=frozenset({date(2025, 6, 9)})),
            utc(2025, 6, 8, 20),
            utc(2025, 6, 10, 7),
        ),
        # Already open: now.
        (DAYTIME, utc(2025, 6, 4, 10), utc(2025, 6, 4, 10)),
    ],
)
def test_next_open_in_warsaw(window, now, expected):
    assert next_open(window, ZoneInfo("Europe/Warsaw"), now) == expected


def test_local_instant_of_a_gap_time_is_the_transition():
    warsaw = ZoneInfo("Europe/Warsaw")
    assert local_instant(date(2025, 3, 30), time(2, 30), warsaw) == utc(2025, 3, 30, 1)
    assert local_instant(date(2025, 3, 30), time(3, 0), warsaw) == utc(2025, 3, 30, 1)
    assert local_instant(date(2025, 3, 30), time(1, 59), warsaw) == utc(2025, 3, 30, 0, 59)


def test_days_and_closed_dates_shut_the_window():
    weekdays = CallingWindow(time(9), time(21), frozenset(range(5)))
    sunday_noon = utc(2025, 6, 8, 10)
    assert select([rec(1)], Strategy(), sunday_noon, 1, window=weekdays).records == ()
    holiday = CallingWindow(time(9), time(21), closed_dates=frozenset({date(2025, 6, 4)}))
    assert select([rec(1)], Strategy(), NOW, 1, window=holiday).records == ()


def test_uk_abandon_lockout_blocks_redial_for_72_hours_unless_an_agent_is_guaranteed():
    rules = RetryRules(5, {Outcome.ABANDONED: RetryRule(3, 600.0)})
    r = apply_update(rec(1), after_attempt(rec(1), Outcome.ABANDONED, rules, NOW, UK_OFCOM))
    assert r.next_due_at == NOW + 600 and r.locked_until == NOW + 72 * HOUR_S
    s = Strategy(0, 0, 100)
    at_71h = NOW + 71 * HOUR_S
    sel = select([r], s, at_71h, 1, window=ALWAYS)
    assert sel.records == () and sel.skipped[0].reason is SkipReason.LOCKED
    assert sel.skipped[0].until == NOW + 72 * HOUR_S
    assert select([r], s, at_71h, 1, window=ALWAYS, guaranteed_agent=True).records == (r,)
    assert select([r], s, NOW + 72 * HOUR_S, 1, window=ALWAYS).records == (r,)


def test_uk_machine_lockout_is_24_hours():
    rules = RetryRules(5, {Outcome.MACHINE: RetryRule(3, 3600.0)})
    r = apply_update(rec(1), after_attempt(rec(1), Outcome.MACHINE, rules, NOW, UK_OFCOM))
    s = Strategy(0, 0, 100)
    assert select([r], s, NOW + 23 * HOUR_S, 1, window=ALWAYS).records == ()
    assert select([r], s, NOW + 24 * HOUR_S, 1, window=ALWAYS).records == (r,)


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("+48221000001", "platform exact +48221000001"),
        ("+482210000012", None),  # an exact entry is not a prefix
        ("+48221000002", None),
        ("+48701234567", "campaign prefix +4870"),
        ("+48709999999", "campaign prefix +48709"),  # the longest prefix is reported
        ("+48711234567", None),
        ("+4870", "campaign prefix +4870"),
    ],
)
def test_blacklist_exact_vs_prefix(number, expected):
    lists = [
        Blacklist(exact=frozenset({"+48221000001"}), scope="platform"),
        Blacklist(prefixes=("+4870", "+48709"), scope="campaign"),
    ]
    sel = select([rec(1, number=number)], Strategy(), NOW, 1, window=ALWAYS, blacklist=lists)
    if expected is None:
        assert len(sel.records) == 1 and sel.skipped == ()
    else:
        assert sel.records == ()
        assert (sel.skipped[0].reason, sel.skipped[0].detail) == (SkipReason.BLACKLISTED, expected)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (rec(1, state=RecordState.CLOSED), SkipReason.NOT_SCHEDULED),
        (rec(1, next_due_at=NOW + 1), SkipReason.NOT_DUE),
        (rec(1, timezone="Mars/Olympus"), SkipReason.BAD_TIMEZONE),
        (rec(1, timezone=""), SkipReason.BAD_TIMEZONE),
    ],
)
def test_records_that_are_not_due_say_why(record, reason):
    sel = select([record], Strategy(), NOW, 1, window=ALWAYS)
    assert sel.records == () and sel.skipped[0].reason is reason


def test_a_number_is_given_out_once_per_batch():
    records = [rec(1, number="+48221000001"), rec(2, number="+48221000001"), rec(3)]
    sel = select(records, Strategy(), NOW, 3, window=ALWAYS)
    assert [r.record_id for r in sel.records] == [1, 3]
    assert [(s.record_id, s.reason) for s in sel.skipped] == [(2, SkipReason.DUPLICATE)]


def test_batch_size_limits_and_empty_input():
    assert len(select(pool(10), Strategy(60, 30, 10), NOW, 7, window=ALWAYS).records) == 7
    assert select(pool(10), Strategy(), NOW, 0, window=ALWAYS).records == ()
    assert select([], Strategy(), NOW, 5, window=ALWAYS).records == ()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Strategy(60, 30, 20), "sum to 100"),
        (lambda: Strategy(110, -10, 0), "sum to 100"),
        (lambda: CallingWindow(time(21), time(9)), "before end"),
        (lambda: CallingWindow(time(9), time(21), frozenset({7})), "days"),
        (lambda: Blacklist(prefixes=("4870",), scope="platform"), "blacklist platform"),
        (lambda: rec(1, number="0221000001"), "record 1: number"),
        (
            lambda: DialRecord(1, 1, "+48221000001", "Europe/Warsaw", RecordKind.PRIVATE_RECONTACT),
            "assigned_user",
        ),
    ],
)
def test_bad_configuration_is_refused_with_where(make, message):
    with pytest.raises(DialerRecordsError, match=message):
        make()
