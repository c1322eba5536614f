"""Campaigns, contacts (the miniCRM), records and the blacklist in the database; the
recontact functions (:mod:`controlplane.campaigns.recontacts`) are re-exported here.

Every function takes the caller's ``Session`` and never commits: the caller decides the
transaction (``controlplane.db.transaction``). A CSV import writes in bulk through
:mod:`controlplane.campaigns.bulk_contacts` with the same rules, one transaction per
batch. Objects are always looked up *within a tenant*; another tenant's object is
reported as not found.

De-duplication: a contact is identified by its numbers. Numbers are stored in E.164,
unique per tenant, so adding a contact whose number is already stored updates that
contact instead; numbers that belong to two different contacts are a :class:`Conflict`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from sqlalchemy import ColumnElement, and_, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from controlplane.campaigns import numbers
from controlplane.campaigns.exceptions import Conflict, InvalidValue, NotFound
from controlplane.campaigns.fields import NAME_MAX, check_priority, check_timezone
from controlplane.campaigns.fields import PRIORITY_RANGE as PRIORITY_RANGE
from controlplane.campaigns.fields import ContactFields as ContactFields
from controlplane.campaigns.recontacts import (  # noqa: F401  (part of the store's API)
    cancel_recontact,
    get_recontact,
    move_recontact,
    schedule_recontact,
)
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    KINDS,
    MODES,
    BlacklistEntry,
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
)
from controlplane.models.tenancy import Tenant

# --- tenants and campaigns --------------------------------------------------------------


def tenant_id(session: Session, domain: str) -> int:
    """The id of the tenant whose domain is ``domain``; :class:`NotFound` otherwise."""
    found = session.scalar(select(Tenant.id).where(Tenant.domain == domain.strip().lower()))
    if found is None:
        raise NotFound(f"no tenant with domain {domain!r}")
    return found


def create_campaign(
    session: Session,
    tenant: int,
    name: str,
    *,
    mode: str = "progressive",
    kind: str = "outbound",
    queue: str | None = None,
    region: str = "PL",
    timezone: str = "Europe/Warsaw",
    window: tuple[time, time] | None = None,
) -> Campaign:
    """A new draft campaign ``name`` (unique in the tenant) worked by the agents of
    ``queue`` (a queue name of the tenant). Other settings keep the table's defaults."""
    if not name or name != name.strip() or len(name) > NAME_MAX:
        raise InvalidValue(
            f"invalid campaign name {name!r} (1-{NAME_MAX} characters, no surrounding spaces)"
        )
    if mode not in MODES:
        raise InvalidValue(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    if kind not in KINDS:
        raise InvalidValue(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if find_campaign(session, tenant, name) is not None:
        raise Conflict(f"campaign {name!r} already exists")
    row = Campaign(
        tenant_id=tenant,
        name=name,
        mode=mode,
        kind=kind,
        default_region=numbers.region_code(region),
        default_timezone=check_timezone(timezone),
    )
    if queue is not None:
        queue_id = session.scalar(
            select(Queue.id).where(Queue.tenant_id == tenant, Queue.name == queue)
        )
        if queue_id is None:
            raise NotFound(f"no queue named {queue!r}")
        row.queue_id = queue_id
    if window is not None:
        row.window_start, row.window_end = window
    session.add(row)
    session.flush()
    return row


def find_campaign(session: Session, tenant: int, name: str) -> Campaign | None:
    """The tenant's campaign called ``name``, or None."""
    return session.scalar(
        select(Campaign).where(Campaign.tenant_id == tenant, Campaign.name == name)
    )


def get_campaign(session: Session, tenant: int, name: str) -> Campaign:
    """The tenant's campaign called ``name``; :class:`NotFound` otherwise."""
    row = find_campaign(session, tenant, name)
    if row is None:
        raise NotFound(f"no campaign named {name!r}")
    return row


def list_campaigns(session: Session, tenant: int) -> list[Campaign]:
    """The tenant's campaigns by name."""
    return list(
        session.scalars(
            select(Campaign).where(Campaign.tenant_id == tenant).order_by(Campaign.name)
        )
    )


# --- contacts ---------------------------------------------------------------------------


def find_owner(session: Session, tenant: int, e164s: Sequence[str]) -> Contact | None:
    """The contact that already holds any of ``e164s``, or None; :class:`Conflict` when
    they are held by different contacts."""
    phones = list(
        session.scalars(
            select(ContactPhone).where(
                ContactPhone.tenant_id == tenant, ContactPhone.number.in_(list(e164s))
            )
        )
    )
    owners = sorted({p.contact_id for p in phones})
    if len(owners) > 1:
        raise held_by_two(sorted((p.number, p.contact_id) for p in phones))
    return session.get(Contact, owners[0]) if owners else None


def held_by_two(held: Sequence[tuple[str, int]]) -> Conflict:
    """The error for numbers stored on different contacts: ``held`` is (number, contact
    id) pairs, sorted by number."""
    text = ", ".join(f"{number} (contact #{contact})" for number, contact in held)
    return Conflict(f"numbers of different contacts: {text}")


def upsert_contact(
    session: Session, tenant: int, phones: Sequence[numbers.Normalised], fields: ContactFields
) -> tuple[Contact, list[ContactPhone], bool]:
    """Add a contact with ``phones`` (first = main number), or update the one already
    holding one of them (adding its new numbers). Returns the contact, its rows for
    ``phones`` in order, and whether it was created."""
    if not phones:
        raise InvalidValue("a contact needs at least one phone number")
    if fields.timezone is not None:
        check_timezone(fields.timezone)
    wanted = list(dict.fromkeys(p.e164 for p in phones))
    contact = find_owner(session, tenant, wanted)
    created = contact is None
    if contact is None:
        contact = Contact(tenant_id=tenant, custom={})
        session.add(contact)
    for name in ("first_name", "last_name", "email", "timezone"):
        value = getattr(fields, name)
        if value is not None:
            setattr(contact, name, value)
    if fields.custom:
        contact.custom = {**(contact.custom or {}), **fields.custom}  # new dict: JSON changes
    session.flush()
    stored = {
        p.number: p
        for p in session.scalars(select(ContactPhone).where(ContactPhone.contact_id == contact.id))
    }
    position = max((p.position for p in stored.values()), default=-1) + 1
    rows: list[ContactPhone] = []
    for phone in phones:
        row = stored.get(phone.e164)
        if row is None:
            row = ContactPhone(
                tenant_id=tenant, contact_id=contact.id, number=phone.e164, position=position
            )
            position += 1
            session.add(row)
            stored[phone.e164] = row
        row.kind, row.country, row.region = phone.kind, phone.country, phone.region
        rows.append(row)
    session.flush()
    return contact, rows, created


def add_contact(
    session: Session,
    tenant: int,
    raw_numbers: Sequence[str],
    region: str,
    fields: ContactFields | None = None,
) -> tuple[Contact, list[ContactPhone], bool]:
    """:func:`upsert_contact` for numbers as people write them, read in ``region``."""
    phones = [numbers.normalise(raw, region) for raw in raw_numbers]
    return upsert_contact(session, tenant, phones, fields or ContactFields())


def attach(
    session: Session,
    campaign: Campaign,
    contact: Contact,
    phone: ContactPhone,
    priority: int | None = None,
) -> tuple[CampaignRecord, bool]:
    """Put ``contact`` into ``campaign`` to be dialled on ``phone``; a contact already in
    it keeps its record (state, attempts) and gets the new phone and priority. Returns
    the record and whether it was created."""
    if contact.tenant_id != campaign.tenant_id or phone.contact_id != contact.id:
        raise InvalidValue("the contact, its phone and the campaign must belong together")
    if priority is not None:
        check_priority(priority)
    record = session.scalar(
        select(CampaignRecord).where(
            CampaignRecord.campaign_id == campaign.id, CampaignRecord.contact_id == contact.id
        )
    )
    created = record is None
    if record is None:
        record = CampaignRecord(
            tenant_id=campaign.tenant_id,
            campaign_id=campaign.id,
            contact_id=contact.id,
            phone_id=phone.id,
            priority=priority or 0,
            outcome_counts={},
        )
        session.add(record)
    else:
        record.phone_id = phone.id
        if priority is not None:
            record.priority = priority
    session.flush()
    return record, created


# --- blacklist --------------------------------------------------------------------------


def add_blacklist(
    session: Session,
    pattern: str,
    *,
    tenant: int | None = None,
    campaign: int | None = None,
    is_prefix: bool = False,
    region: str = "PL",
    reason: str = "",
) -> BlacklistEntry:
    """Never dial ``pattern`` (a number read in ``region``, or an international prefix):
    platform-wide (no tenant), in all the tenant's campaigns, or in one campaign. Adding
    an entry that exists returns it."""
    if campaign is not None:
        owner = session.get(Campaign, campaign)
        if owner is None or owner.tenant_id != tenant:
            raise NotFound(f"no campaign #{campaign} in this tenant")
    text = numbers.prefix(pattern) if is_prefix else numbers.normalise(pattern, region).e164
    same = session.scalar(
        select(BlacklistEntry).where(
            BlacklistEntry.pattern == text,
            BlacklistEntry.is_prefix == is_prefix,
            _is(BlacklistEntry.tenant_id, tenant),
            _is(BlacklistEntry.campaign_id, campaign),
        )
    )
    if same is not None:
        return same
    row = BlacklistEntry(
        tenant_id=tenant, campaign_id=campaign, pattern=text, is_prefix=is_prefix, reason=reason
    )
    session.add(row)
    session.flush()
    return row


def blacklisted(
    session: Session, e164: str, *, tenant: int, campaign: int | None = None
) -> BlacklistEntry | None:
    """The entry forbidding ``e164`` in ``campaign`` of ``tenant`` (platform-wide, the
    tenant's or that campaign's; exact or by prefix), or None. The longest pattern wins."""
    scope = or_(
        BlacklistEntry.tenant_id.is_(None),
        and_(
            BlacklistEntry.tenant_id == tenant,
            or_(BlacklistEntry.campaign_id.is_(None), BlacklistEntry.campaign_id == campaign),
        ),
    )
    match = or_(
        and_(BlacklistEntry.is_prefix.is_(False), BlacklistEntry.pattern == e164),
        and_(BlacklistEntry.is_prefix.is_(True), literal(e164).like(BlacklistEntry.pattern + "%")),
    )
    rows = session.scalars(select(BlacklistEntry).where(scope, match))
    return max(rows, key=lambda r: (len(r.pattern), not r.is_prefix, r.id), default=None)


def _is(column: InstrumentedAttribute[int | None], value: int | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value
