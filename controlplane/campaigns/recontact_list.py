"""Recontacts as supervisors see them: listed with their contact, number, campaign and
agent, rescheduled or cancelled.

Listing joins each recontact to its record's contact, the number dialled, the campaign
and the agent it is private to; filters are campaign, agent, status and a due window.
Times people type without an offset ("2026-12-05T14:30", what a ``datetime-local``
input sends) are read in the tenant's time zone (:func:`read_time`); times are stored
and answered in UTC. Rescheduling is :func:`controlplane.campaigns.recontacts.move_recontact`
(the old row kept as ``moved``, a new one scheduled), to a time in the future;
cancelling is :func:`~controlplane.campaigns.recontacts.cancel_recontact`. Nothing here
commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.admin.store import Page, paged
from controlplane.campaigns import recontacts
from controlplane.campaigns.exceptions import InvalidField
from controlplane.models.campaigns import Campaign, CampaignRecord, Contact, ContactPhone, Recontact
from controlplane.models.tenancy import User

STATUSES = ("scheduled", "done", "moved", "cancelled")


def read_time(text: str, zone: str, field: str) -> datetime:
    """An ISO 8601 time; without an offset it is wall time in ``zone``. InvalidField
    naming ``field`` when it cannot be read."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise InvalidField(field, "not a date and time (ISO 8601, e.g. 2026-12-05T14:30)") from err
    if moment.tzinfo is None:
        try:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise InvalidField(field, f"the tenant's time zone {zone!r} is unknown") from err
    return moment


def _joined() -> Any:
    return (select(Recontact, Contact, ContactPhone.number, Campaign, User)
            .join(CampaignRecord, CampaignRecord.id == Recontact.record_id)
            .join(Contact, Contact.id == CampaignRecord.contact_id)
            .join(ContactPhone, ContactPhone.id == CampaignRecord.phone_id)
            .join(Campaign, Campaign.id == CampaignRecord.campaign_id)
            .outerjoin(User, User.id == Recontact.user_id))


def listing(s: Session, tenant: int, *, campaign_id: int | None = None,
            user_id: int | None = None, due_after: datetime | None = None,
            due_before: datetime | None = None, status: str = "scheduled", page: int = 1,
            per_page: int = 50) -> tuple[list[dict[str, Any]], Page]:
    """The tenant's recontacts, soonest due first (``status`` "all": every status)."""
    stmt = _joined().where(Recontact.tenant_id == tenant)
    if status != "all":
        stmt = stmt.where(Recontact.status == status)
    if campaign_id is not None:
        stmt = stmt.where(Campaign.id == campaign_id)
    if user_id is not None:
        stmt = stmt.where(Recontact.user_id == user_id)
    if due_after is not None:
        stmt = stmt.where(Recontact.due_at >= due_after)
    if due_before is not None:
        stmt = stmt.where(Recontact.due_at <= due_before)
    found = paged(s, stmt.order_by(Recontact.due_at, Recontact.id), page, per_page)
    return [to_json(*row) for row in found.rows], found


def one(s: Session, tenant: int, recontact_id: int) -> dict[str, Any]:
    """One recontact of the tenant as :func:`listing` shows it; NotFound otherwise."""
    recontacts.get_recontact(s, tenant, recontact_id)
    row = s.execute(_joined().where(Recontact.id == recontact_id)).one()
    return to_json(*row)


def agents(s: Session, tenant: int) -> list[tuple[int, str]]:
    """(id, name) of the tenant's active users, for the page's agent filter."""
    return [(u.id, u.display_name or u.login) for u in s.scalars(
        select(User).where(User.tenant_id == tenant, User.active.is_(True))
        .order_by(User.login))]


def reschedule(s: Session, tenant: int, recontact_id: int, due_at: datetime, now: datetime,
               *, by: int, user: dict[str, int | None] | None = None) -> Recontact:
    """Move a scheduled recontact to ``due_at`` (in the future; 400 naming ``due_at``);
    ``user`` {"user_id": …} moves it to that agent (None: anyone) too."""
    if due_at <= now:
        raise InvalidField("due_at", f"{due_at.isoformat()} is not in the future")
    if user is None:
        return recontacts.move_recontact(s, tenant, recontact_id, due_at, moved_by=by)
    return recontacts.move_recontact(s, tenant, recontact_id, due_at,
                                     user_id=user["user_id"], moved_by=by)


def to_json(r: Recontact, contact: Contact, number: str, campaign: Campaign,
            user: User | None) -> dict[str, Any]:
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return {"id": r.id, "status": r.status, "due_at": r.due_at.isoformat(),
            "reminder_at": r.reminder_at.isoformat() if r.reminder_at else None,
            "note": r.note, "record_id": r.record_id, "moved_from_id": r.moved_from_id,
            "contact_id": contact.id, "contact_name": name, "number": number,
            "campaign_id": campaign.id, "campaign": campaign.name,
            "user_id": r.user_id,
            "agent": (user.display_name or user.login) if user is not None else None}
