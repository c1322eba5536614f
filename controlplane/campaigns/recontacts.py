"""Scheduled recontacts (call-backs) of campaign records: schedule, move, cancel.

A recontact is private to an agent (``user_id``) or for anyone (None). Its record is
``scheduled`` and due at the recontact's time, with the agent as ``assigned_user_id``
(a private recontact) or none (a system recontact), so the dialer sees it from the
record alone (``docs/dialer-records.md`` §3.2, §6): scheduling starts a new cycle
(attempts and outcome counts reset), moving keeps the cycle's counters and the old row
(``moved``, linked from the new one), cancelling closes the record. Like the store,
nothing here commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.campaigns.exceptions import Conflict, InvalidValue, NotFound
from controlplane.models.campaigns import CampaignRecord, Recontact
from controlplane.models.tenancy import User


def _aware(when: datetime, what: str) -> datetime:
    if when.tzinfo is None:
        raise InvalidValue(f"{what} must carry a time zone (UTC is stored)")
    return when


def _record(session: Session, tenant: int, record_id: int) -> CampaignRecord:
    record = session.get(CampaignRecord, record_id)
    if record is None or record.tenant_id != tenant:
        raise NotFound(f"no campaign record #{record_id} in this tenant")
    return record


def get_recontact(session: Session, tenant: int, recontact_id: int) -> Recontact:
    """The tenant's recontact ``recontact_id``; :class:`NotFound` otherwise."""
    row = session.get(Recontact, recontact_id)
    if row is None or row.tenant_id != tenant:
        raise NotFound(f"no recontact #{recontact_id} in this tenant")
    return row


def _check(
    session: Session,
    tenant: int,
    users: tuple[int | None, ...],
    due_at: datetime,
    reminder_at: datetime | None,
) -> None:
    for user in users:
        found = None if user is None else session.get(User, user)
        if user is not None and (found is None or found.tenant_id != tenant):
            raise NotFound(f"no user #{user} in this tenant")
    _aware(due_at, "due_at")
    if reminder_at is not None and _aware(reminder_at, "reminder_at") > due_at:
        raise InvalidValue("the reminder must not be after the recontact is due")


def _pending(session: Session, record: CampaignRecord) -> None:
    pending = session.scalar(
        select(Recontact.id).where(
            Recontact.record_id == record.id, Recontact.status == "scheduled"
        )
    )
    if pending is not None:
        raise Conflict(
            f"record #{record.id} already has recontact #{pending} scheduled (move or cancel it)"
        )


def _due(record: CampaignRecord, due_at: datetime, user_id: int | None) -> None:
    record.state, record.next_due_at, record.assigned_user_id = "scheduled", due_at, user_id


def schedule_recontact(
    session: Session,
    tenant: int,
    record_id: int,
    due_at: datetime,
    *,
    user_id: int | None = None,
    reminder_at: datetime | None = None,
    note: str = "",
    created_by: int | None = None,
) -> Recontact:
    """Call the record back at ``due_at``: by agent ``user_id`` only (a private
    recontact) or by anyone (None). The record becomes ``scheduled`` and due then, with
    a new cycle of attempts. A record has at most one scheduled recontact (move it)."""
    record = _record(session, tenant, record_id)
    _check(session, tenant, (user_id, created_by), due_at, reminder_at)
    _pending(session, record)
    row = Recontact(
        tenant_id=tenant,
        record_id=record.id,
        due_at=due_at,
        user_id=user_id,
        reminder_at=reminder_at,
        note=note,
        created_by=created_by,
    )
    session.add(row)
    _due(record, due_at, user_id)
    record.attempts, record.outcome_counts = 0, {}
    session.flush()
    return row


_KEEP = object()


def move_recontact(
    session: Session,
    tenant: int,
    recontact_id: int,
    due_at: datetime,
    *,
    user_id: int | None | object = _KEEP,
    reminder_at: datetime | None = None,
    moved_by: int | None = None,
) -> Recontact:
    """Move a scheduled recontact to ``due_at`` (and to ``user_id``, or anyone with
    None; same person when not given). The old row is kept as ``moved``; the record's
    attempts of this cycle are kept."""
    old = get_recontact(session, tenant, recontact_id)
    if old.status != "scheduled":
        raise Conflict(f"recontact #{old.id} is {old.status}, not scheduled")
    user = old.user_id if user_id is _KEEP else cast("int | None", user_id)
    _check(session, tenant, (user, moved_by), due_at, reminder_at)  # before anything changes
    old.status = "moved"
    new = Recontact(
        tenant_id=tenant,
        record_id=old.record_id,
        due_at=due_at,
        user_id=user,
        reminder_at=reminder_at,
        note=old.note,
        created_by=moved_by,
        moved_from_id=old.id,
    )
    session.add(new)
    _due(_record(session, tenant, old.record_id), due_at, user)
    session.flush()
    return new


def cancel_recontact(session: Session, tenant: int, recontact_id: int) -> Recontact:
    """Cancel a scheduled recontact; its record is ``closed`` (not called again unless
    scheduled again). A record being dialled right now is left alone."""
    row = get_recontact(session, tenant, recontact_id)
    if row.status != "scheduled":
        raise Conflict(f"recontact #{row.id} is {row.status}, not scheduled")
    row.status = "cancelled"
    record = _record(session, tenant, row.record_id)
    if record.state == "scheduled":
        record.state = "closed"
        record.next_due_at, record.assigned_user_id = None, None
    session.flush()
    return row
