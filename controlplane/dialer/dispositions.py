"""Agent dispositions ("classifiers") and recontact management (pure; spec §6).

Theory of operation: after a call the agent picks a :class:`Disposition`; the
campaign service calls :func:`apply_disposition` and writes back the returned
record update, executes the commands, and stores the disposition code and
``success`` flag on the attempt's compliance row. Follow-up actions:

==============  ==============================================================
follow-up       record update / commands
==============  ==============================================================
``none``        ``done`` (a conversation took place; nothing more to do)
``recontact``   ``scheduled`` again at the time the agent gave or after the
                disposition's delay; ``private_recontact`` assigned to the agent
                (plus a :class:`RemindAgent`) or ``system_recontact`` for
                anyone; a new cycle (attempts and outcome counts reset)
``close``       ``closed``: never dialled again in this campaign
``move``        ``closed`` here, and :class:`MoveToCampaign` (the contact is
                added to the target campaign as a fresh record)
==============  ==============================================================

Compliance lockouts (``locked_until``) survive every follow-up: a recontact
inside a lockout is dialled only with an agent guaranteed.

Scheduled recontacts can later be moved (:func:`move_recontact`, also to make
a private one for anyone) or cancelled (:func:`cancel_recontact`). One reminder
exists per record: a new :class:`RemindAgent` replaces the previous one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

from controlplane.dialer.records import (
    DialerRecordsError,
    DialRecord,
    RecordKind,
    RecordState,
    RecordUpdate,
)

REMINDER_LEAD_S = 300.0  # a private recontact's agent is reminded 5 min before


class FollowUp(StrEnum):
    """What a disposition does to the record."""

    NONE = "none"
    RECONTACT = "recontact"
    CLOSE = "close"
    MOVE = "move"


@dataclass(frozen=True, slots=True)
class Recontact:
    """How a ``recontact`` disposition schedules the next call.

    ``after_s``: default delay when the agent gives no time (``None``: the
    agent must give one). ``private``: only the disposing agent gets it.
    """

    private: bool = True
    after_s: float | None = None


@dataclass(frozen=True, slots=True)
class Disposition:
    """One classifier of a campaign, with its success flag and follow-up."""

    code: str
    label: str
    success: bool
    follow_up: FollowUp = FollowUp.NONE
    recontact: Recontact | None = None
    move_to_campaign: int | None = None

    def __post_init__(self) -> None:
        where = f"disposition {self.code!r}"
        if not self.code:
            raise DialerRecordsError("disposition: code is empty")
        if (self.follow_up is FollowUp.RECONTACT) != (self.recontact is not None):
            raise DialerRecordsError(
                f"{where}: recontact settings go with follow-up recontact only"
            )
        if (self.follow_up is FollowUp.MOVE) != (self.move_to_campaign is not None):
            raise DialerRecordsError(f"{where}: move_to_campaign goes with follow-up move only")
        if self.recontact is not None and (self.recontact.after_s or 0) < 0:
            raise DialerRecordsError(f"{where}: recontact after_s {self.recontact.after_s} < 0")


@dataclass(frozen=True, slots=True)
class MoveToCampaign:
    """Add the contact's number to ``campaign_id`` as a fresh record."""

    record_id: int
    contact_id: int
    number: str
    campaign_id: int


@dataclass(frozen=True, slots=True)
class RemindAgent:
    """Remind ``agent`` at ``at`` of the recontact due at ``due_at`` (replaces any earlier)."""

    agent: str
    record_id: int
    at: float
    due_at: float


@dataclass(frozen=True, slots=True)
class CancelReminder:
    """Drop the reminder of ``record_id``, if any."""

    record_id: int


Command = MoveToCampaign | RemindAgent | CancelReminder


@dataclass(frozen=True, slots=True)
class DispositionResult:
    """What a disposition does: the record update, commands, and the success flag."""

    update: RecordUpdate
    commands: tuple[Command, ...]
    success: bool
    code: str


def _base(record: DialRecord, reason: str) -> RecordUpdate:
    """An update that leaves ``record`` as it is, with ``reason``."""
    return RecordUpdate(
        record_id=record.record_id,
        state=record.state,
        kind=record.kind,
        attempts=record.attempts,
        outcome_counts=record.outcome_counts,
        last_outcome=record.last_outcome,
        next_due_at=record.next_due_at,
        locked_until=record.locked_until,
        assigned_user=record.assigned_user,
        reason=reason,
    )


def _schedule(
    record: DialRecord, at: float, agent: str | None, reason: str
) -> tuple[RecordUpdate, tuple[Command, ...]]:
    """A recontact at ``at``: private to ``agent`` or (``None``) for anyone."""
    kind = RecordKind.SYSTEM_RECONTACT if agent is None else RecordKind.PRIVATE_RECONTACT
    update = dataclasses.replace(
        _base(record, reason),
        state=RecordState.SCHEDULED,
        kind=kind,
        attempts=0,
        outcome_counts=(),
        next_due_at=at,
        assigned_user=agent,
    )
    if agent is None:
        return update, (CancelReminder(record.record_id),)
    return update, (RemindAgent(agent, record.record_id, max(at - REMINDER_LEAD_S, 0.0), at),)


def apply_disposition(
    record: DialRecord,
    disposition: Disposition,
    *,
    agent: str,
    now: float,
    recontact_at: float | None = None,
) -> DispositionResult:
    """Apply the disposition ``agent`` set on ``record`` at ``now``.

    ``recontact_at`` is the time the agent chose for a recontact; it wins over
    the disposition's default delay.
    """
    where = f"record {record.record_id}, disposition {disposition.code!r}"
    if not agent:
        raise DialerRecordsError(f"{where}: agent is empty")
    if recontact_at is not None and disposition.follow_up is not FollowUp.RECONTACT:
        raise DialerRecordsError(f"{where}: a recontact time was given but it does not recontact")
    commands: tuple[Command, ...] = ()
    follow = disposition.follow_up
    if follow is FollowUp.NONE:
        update = dataclasses.replace(
            _base(record, f"{disposition.code}: done"), state=RecordState.DONE, next_due_at=None
        )
    elif follow is FollowUp.CLOSE:
        update = dataclasses.replace(
            _base(record, f"{disposition.code}: closed"), state=RecordState.CLOSED, next_due_at=None
        )
    elif follow is FollowUp.MOVE:
        target = disposition.move_to_campaign
        assert target is not None  # checked in Disposition.__post_init__
        update = dataclasses.replace(
            _base(record, f"{disposition.code}: moved to campaign {target}"),
            state=RecordState.CLOSED,
            next_due_at=None,
        )
        commands = (MoveToCampaign(record.record_id, record.contact_id, record.number, target),)
    else:
        rc = disposition.recontact
        assert rc is not None  # checked in Disposition.__post_init__
        if recontact_at is not None:
            at = recontact_at
        elif rc.after_s is not None:
            at = now + rc.after_s
        else:
            raise DialerRecordsError(f"{where}: the agent must give a recontact time")
        if at <= now:
            raise DialerRecordsError(f"{where}: recontact time {at} is not after now ({now})")
        owner = agent if rc.private else None
        update, commands = _schedule(record, at, owner, f"{disposition.code}: recontact")
    return DispositionResult(update, commands, disposition.success, disposition.code)


def move_recontact(
    record: DialRecord,
    *,
    now: float,
    at: float | None = None,
    for_anyone: bool = False,
) -> tuple[RecordUpdate, tuple[Command, ...]]:
    """Move a scheduled recontact to ``at`` and/or release it to any agent."""
    where = f"record {record.record_id}"
    if record.state is not RecordState.SCHEDULED or record.kind is RecordKind.FRESH:
        raise DialerRecordsError(
            f"{where}: not a scheduled recontact ({record.state}, {record.kind})"
        )
    due = at if at is not None else record.next_due_at
    if due is None or due <= now:
        raise DialerRecordsError(f"{where}: new recontact time {due} is not after now ({now})")
    owner = None if for_anyone else record.assigned_user
    update, commands = _schedule(record, due, owner, "recontact moved")
    # Moving keeps the cycle's counters: only a disposition starts a new cycle.
    update = dataclasses.replace(
        update, attempts=record.attempts, outcome_counts=record.outcome_counts
    )
    return update, commands


def cancel_recontact(record: DialRecord, *, by: str) -> tuple[RecordUpdate, tuple[Command, ...]]:
    """Cancel a scheduled recontact: the record is closed and its reminder dropped."""
    if record.state is not RecordState.SCHEDULED or record.kind is RecordKind.FRESH:
        raise DialerRecordsError(
            f"record {record.record_id}: not a scheduled recontact ({record.state}, {record.kind})"
        )
    update = dataclasses.replace(
        _base(record, f"recontact cancelled by {by}"),
        state=RecordState.CLOSED,
        next_due_at=None,
    )
    return update, (CancelReminder(record.record_id),)
