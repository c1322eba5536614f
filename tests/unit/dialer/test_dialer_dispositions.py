"""Dispositions: follow-up actions, success flag, recontacts (schedule, move, cancel)."""

from datetime import time

import pytest

from controlplane.dialer.compliance import HOUR_S, UK_OFCOM
from controlplane.dialer.dispositions import (
    REMINDER_LEAD_S,
    CancelReminder,
    Disposition,
    FollowUp,
    MoveToCampaign,
    Recontact,
    RemindAgent,
    apply_disposition,
    cancel_recontact,
    move_recontact,
)
from controlplane.dialer.records import (
    CallingWindow,
    DialerRecordsError,
    DialRecord,
    Outcome,
    RecordKind,
    RecordState,
    apply_update,
)
from controlplane.dialer.retry import DEFAULT_RETRY_RULES, after_attempt
from controlplane.dialer.selection import SkipReason, Strategy, select

NOW = 1_750_000_000.0
ALWAYS = CallingWindow(time(0), time(23, 59, 59, 999999))

SALE = Disposition("sale", "Sale", success=True)
DNC = Disposition("dnc", "Do not call", success=False, follow_up=FollowUp.CLOSE)
MOVE = Disposition("upsell", "Upsell", True, FollowUp.MOVE, move_to_campaign=12)
CALLBACK = Disposition("callback", "Call me back", False, FollowUp.RECONTACT, Recontact(True))
LATER = Disposition("later", "Try later", False, FollowUp.RECONTACT, Recontact(False, 3 * HOUR_S))
MINE_LATER = Disposition("mine", "Mine, later", False, FollowUp.RECONTACT, Recontact(True, HOUR_S))


def talked(**kw):
    """A record just after a human answer (state done), 2 attempts into its cycle."""
    r = DialRecord(9, 90, "+48221000009", "Europe/Warsaw", attempts=1, **kw)
    return apply_update(r, after_attempt(r, Outcome.HUMAN, DEFAULT_RETRY_RULES, NOW, UK_OFCOM))


@pytest.mark.parametrize(
    ("disposition", "at", "state", "kind", "due", "user", "commands"),
    [
        (SALE, None, RecordState.DONE, RecordKind.FRESH, None, None, ()),
        (DNC, None, RecordState.CLOSED, RecordKind.FRESH, None, None, ()),
        (
            MOVE,
            None,
            RecordState.CLOSED,
            RecordKind.FRESH,
            None,
            None,
            (MoveToCampaign(9, 90, "+48221000009", 12),),
        ),
        (
            CALLBACK,
            NOW + 86400,
            RecordState.SCHEDULED,
            RecordKind.PRIVATE_RECONTACT,
            NOW + 86400,
            "anna",
            (RemindAgent("anna", 9, NOW + 86400 - REMINDER_LEAD_S, NOW + 86400),),
        ),
        (
            MINE_LATER,
            None,
            RecordState.SCHEDULED,
            RecordKind.PRIVATE_RECONTACT,
            NOW + HOUR_S,
            "anna",
            (RemindAgent("anna", 9, NOW + HOUR_S - REMINDER_LEAD_S, NOW + HOUR_S),),
        ),
        (
            LATER,
            None,
            RecordState.SCHEDULED,
            RecordKind.SYSTEM_RECONTACT,
            NOW + 3 * HOUR_S,
            None,
            (CancelReminder(9),),
        ),
        # The agent's time wins over the default delay.
        (
            LATER,
            NOW + 600,
            RecordState.SCHEDULED,
            RecordKind.SYSTEM_RECONTACT,
            NOW + 600,
            None,
            (CancelReminder(9),),
        ),
    ],
)
def test_follow_up_table(disposition, at, state, kind, due, user, commands):
    r = talked()
    res = apply_disposition(r, disposition, agent="anna", now=NOW, recontact_at=at)
    u = res.update
    assert (u.state, u.kind, u.next_due_at, u.assigned_user) == (state, kind, due, user)
    assert res.commands == commands
    assert (res.success, res.code) == (disposition.success, disposition.code)
    assert disposition.code in u.reason
    if state is RecordState.SCHEDULED:
        assert (u.attempts, u.outcome_counts) == (0, ())  # a recontact starts a new cycle
    else:
        assert (u.attempts, u.outcome_counts) == (r.attempts, r.outcome_counts)


def test_recontact_keeps_a_running_lockout():
    r = talked(locked_until=NOW + 72 * HOUR_S)
    u = apply_disposition(r, LATER, agent="anna", now=NOW).update
    assert u.locked_until == NOW + 72 * HOUR_S


def test_private_recontact_is_dialled_only_for_its_agent_when_due():
    r = apply_update(
        talked(), apply_disposition(talked(), MINE_LATER, agent="anna", now=NOW).update
    )
    s = Strategy(0, 100, 0)
    early = select([r], s, NOW + HOUR_S - 1, 1, window=ALWAYS, agent="anna")
    assert early.records == () and early.skipped[0].reason is SkipReason.NOT_DUE
    assert select([r], s, NOW + HOUR_S, 1, window=ALWAYS, agent="anna").records == (r,)
    other = select([r], s, NOW + HOUR_S, 1, window=ALWAYS, agent="bob")
    assert other.records == () and other.skipped[0].reason is SkipReason.RESERVED


@pytest.mark.parametrize(
    ("disposition", "at", "message"),
    [
        (CALLBACK, None, "must give a recontact time"),
        (CALLBACK, NOW, "is not after now"),
        (LATER, NOW - 1, "is not after now"),
        (SALE, NOW + 60, "does not recontact"),
    ],
)
def test_bad_recontact_times_are_refused(disposition, at, message):
    with pytest.raises(DialerRecordsError, match=message) as err:
        apply_disposition(talked(), disposition, agent="anna", now=NOW, recontact_at=at)
    assert str(err.value).startswith(f"record 9, disposition '{disposition.code}': ")


def test_empty_agent_is_refused():
    with pytest.raises(DialerRecordsError, match="agent is empty"):
        apply_disposition(talked(), SALE, agent="", now=NOW)


def scheduled_private():
    return apply_update(
        talked(),
        apply_disposition(talked(), CALLBACK, agent="anna", now=NOW, recontact_at=NOW + 600).update,
    )


def test_move_recontact_to_another_time_keeps_agent_and_reminds_again():
    u, cmds = move_recontact(scheduled_private(), now=NOW, at=NOW + 7200)
    assert (u.next_due_at, u.kind, u.assigned_user) == (
        NOW + 7200,
        RecordKind.PRIVATE_RECONTACT,
        "anna",
    )
    assert cmds == (RemindAgent("anna", 9, NOW + 7200 - REMINDER_LEAD_S, NOW + 7200),)


def test_move_recontact_for_anyone_drops_the_reminder():
    u, cmds = move_recontact(scheduled_private(), now=NOW, for_anyone=True)
    assert (u.next_due_at, u.kind, u.assigned_user) == (
        NOW + 600,
        RecordKind.SYSTEM_RECONTACT,
        None,
    )
    assert cmds == (CancelReminder(9),)


def test_cancel_recontact_closes_the_record():
    u, cmds = cancel_recontact(scheduled_private(), by="supervisor")
    assert (u.state, u.next_due_at, u.reason) == (
        RecordState.CLOSED,
        None,
        "recontact cancelled by supervisor",
    )
    assert cmds == (CancelReminder(9),)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: move_recontact(scheduled_private(), now=NOW, at=NOW - 1), "not after now"),
        (
            lambda: move_recontact(DialRecord(1, 1, "+48221000001", "UTC"), now=NOW, at=NOW + 9),
            "not a scheduled recontact",
        ),
        (lambda: cancel_recontact(talked(), by="x"), "record 9: not a scheduled recontact"),
    ],
)
def test_bad_recontact_changes_are_refused(call, message):
    with pytest.raises(DialerRecordsError, match=message):
        call()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Disposition("", "x", True), "code is empty"),
        (lambda: Disposition("cb", "x", True, FollowUp.RECONTACT), "'cb': recontact settings"),
        (lambda: Disposition("cb", "x", True, FollowUp.NONE, Recontact()), "recontact settings"),
        (lambda: Disposition("mv", "x", True, FollowUp.MOVE), "move_to_campaign"),
        (
            lambda: Disposition("cb", "x", True, FollowUp.RECONTACT, Recontact(True, -1.0)),
            "after_s -1",
        ),
    ],
)
def test_bad_dispositions_are_refused(make, message):
    with pytest.raises(DialerRecordsError, match=message):
        make()
