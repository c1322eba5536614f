"""The SQL of a CSV import batch: look-ups in bulk, inserts and updates in bulk.

The rules are :mod:`controlplane.campaigns.store`'s (``upsert_contact`` and ``attach``):
a row updates the contact that holds its numbers or adds a new one; fields given replace
stored ones, empty ones keep them, custom fields merge; new numbers are appended after
the contact's last position; the contact's record in the campaign is created, or gets
the row's first number and priority. Only the shape differs: a handful of statements per
batch instead of several queries per row (the import went from ~470 to several thousand
rows/s on SQLite). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from controlplane.campaigns import numbers, store
from controlplane.models.base import utcnow
from controlplane.models.campaigns import Campaign, CampaignRecord, Contact, ContactPhone

# Bound parameters per IN (...): well under SQLite's limit (32766) and PostgreSQL's (65535).
CHUNK = 500
_FIELDS = ("first_name", "last_name", "email", "timezone")
# Core statements on the tables, not the ORM's bulk layer: the same SQL at a third of the
# Python cost (column defaults such as ``created_at`` are Core's and still apply).
_CONTACT: Table = Contact.__table__  # type: ignore[assignment]
_PHONE: Table = ContactPhone.__table__  # type: ignore[assignment]
_RECORD: Table = CampaignRecord.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A row to apply: ``owner`` is the stored contact it updates (None: a new contact);
    ``phones`` in the row's order, the first being the number to dial."""

    owner: int | None
    phones: list[numbers.Normalised]
    fields: store.ContactFields
    priority: int | None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def owners(session: Session, tenant: int, e164s: Iterable[str]) -> dict[str, int]:
    """number -> id of the tenant's contact holding it, for those of ``e164s`` stored."""
    found: dict[str, int] = {}
    for part in _chunks(sorted(set(e164s))):
        found.update(
            (number, contact)
            for number, contact in session.execute(
                select(ContactPhone.number, ContactPhone.contact_id).where(
                    ContactPhone.tenant_id == tenant, ContactPhone.number.in_(part)
                )
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the database holds for the contacts the batch updates, read before the
    batch's first write: on SQLite a writer holds the only write lock from its first
    INSERT to its commit, so no reads in between."""

    contacts: dict[int, Any]  # id -> (fields, custom)
    phones: dict[int, dict[str, Any]]  # contact id -> number -> phone row
    records: dict[int, Any]  # contact id -> the record in the campaign


def _stored(session: Session, campaign: Campaign, owners: list[int]) -> _Stored:
    found = _Stored({}, {}, {})
    for part in _chunks(owners):
        for c in session.execute(
            select(Contact.id, *(getattr(Contact, n) for n in _FIELDS), Contact.custom).where(
                Contact.id.in_(part)
            )
        ):
            found.contacts[c.id] = c
        for p in session.execute(
            select(
                ContactPhone.id,
                ContactPhone.contact_id,
                ContactPhone.number,
                ContactPhone.position,
                ContactPhone.kind,
                ContactPhone.country,
                ContactPhone.region,
            ).where(ContactPhone.contact_id.in_(part))
        ):
            found.phones.setdefault(p.contact_id, {})[p.number] = p
        for rec in session.execute(
            select(
                CampaignRecord.id,
                CampaignRecord.contact_id,
                CampaignRecord.phone_id,
                CampaignRecord.priority,
            ).where(CampaignRecord.campaign_id == campaign.id, CampaignRecord.contact_id.in_(part))
        ):
            found.records[rec.contact_id] = rec
    return found


def write(session: Session, campaign: Campaign, rows: Sequence[Accepted]) -> list[bool]:
    """Apply ``rows`` (already decided: no two reach the same contact or number); return,
    per row, whether the contact's record in ``campaign`` was created."""
    if not rows:
        return []
    now = utcnow()
    stored = _stored(session, campaign, [r.owner for r in rows if r.owner is not None])
    contact_ids = _contacts(session, campaign.tenant_id, rows, stored, now)
    main_phone = _phones(session, campaign.tenant_id, rows, contact_ids, stored)
    return _records(session, campaign, rows, contact_ids, main_phone, stored, now)


def _contacts(
    session: Session, tenant: int, rows: Sequence[Accepted], stored: _Stored, now: Any
) -> list[int]:
    """Insert the new contacts, update the stored ones; the contact id of every row."""
    changes = []
    for r in rows:
        if r.owner is None:
            continue
        old = stored.contacts[r.owner]
        merged: dict[str, Any] = {n: getattr(old, n) for n in _FIELDS}
        merged.update({n: v for n in _FIELDS if (v := getattr(r.fields, n)) is not None})
        merged["custom"] = {**(old.custom or {}), **r.fields.custom}
        if any(merged[n] != getattr(old, n) for n in _FIELDS) or merged["custom"] != old.custom:
            changes.append({"id": r.owner, **merged, "updated_at": now})
    values = [
        {
            "tenant_id": tenant,
            **{n: getattr(r.fields, n) or "" for n in ("first_name", "last_name", "email")},
            "timezone": r.fields.timezone,
            "custom": dict(r.fields.custom),
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
        if r.owner is None
    ]
    new_ids = iter(_insert_ids(session, _CONTACT, values))
    _update(session, _CONTACT, changes)
    return [r.owner if r.owner is not None else next(new_ids) for r in rows]


def _insert_ids(session: Session, table: Table, values: list[dict[str, Any]]) -> list[int]:
    """Insert ``values`` into ``table``; the new ids in the order of ``values``."""
    if not values:
        return []
    if session.get_bind().dialect.name != "sqlite":
        return list(
            session.scalars(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), values
            )
        )
    # On SQLite, RETURNING in parameter order costs one statement per row (SQLAlchemy has
    # no sentinel for it there). One executemany instead: from its first row the INSERT
    # holds the database's single write lock until the batch commits, and SQLite gives
    # each new row max(rowid) + 1, so ours are the last len(values) ids, in order.
    session.execute(insert(table), values)
    last = session.scalar(select(func.max(table.c.id)))
    assert last is not None
    return list(range(last - len(values) + 1, last + 1))


def _phones(
    session: Session,
    tenant: int,
    rows: Sequence[Accepted],
    contact_ids: list[int],
    stored: _Stored,
) -> list[int]:
    """Add the rows' new numbers, refresh the stored ones; the id of each row's first."""
    main: list[int | None] = [None] * len(rows)
    new: list[dict[str, Any]] = []
    new_is_main: list[int | None] = []  # the row whose first number each new one is
    refresh: list[dict[str, Any]] = []
    for i, (r, contact) in enumerate(zip(rows, contact_ids, strict=True)):
        have = stored.phones.get(contact, {})
        position = max((p.position for p in have.values()), default=-1) + 1
        for j, phone in enumerate(r.phones):
            looks = {"kind": phone.kind, "country": phone.country, "region": phone.region}
            old = have.get(phone.e164)
            if old is None:
                new.append(
                    {
                        "tenant_id": tenant,
                        "contact_id": contact,
                        "number": phone.e164,
                        "position": position,
                        **looks,
                    }
                )
                new_is_main.append(i if j == 0 else None)
                position += 1
                continue
            if (old.kind, old.country, old.region) != (phone.kind, phone.country, phone.region):
                refresh.append({"id": old.id, **looks})
            if j == 0:
                main[i] = old.id
    for row, phone_id in zip(new_is_main, _insert_ids(session, _PHONE, new), strict=True):
        if row is not None:
            main[row] = phone_id
    _update(session, _PHONE, refresh)
    assert all(m is not None for m in main)
    return main  # type: ignore[return-value]


def _records(
    session: Session,
    campaign: Campaign,
    rows: Sequence[Accepted],
    contact_ids: list[int],
    main_phone: list[int],
    stored: _Stored,
    now: Any,
) -> list[bool]:
    """Create or refresh each row's record in the campaign; whether each was created."""
    new: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    created: list[bool] = []
    for r, contact, phone in zip(rows, contact_ids, main_phone, strict=True):
        old = stored.records.get(contact)
        created.append(old is None)
        if old is None:
            new.append(
                {
                    "tenant_id": campaign.tenant_id,
                    "campaign_id": campaign.id,
                    "contact_id": contact,
                    "phone_id": phone,
                    "priority": r.priority or 0,
                    "outcome_counts": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
            continue
        priority = old.priority if r.priority is None else r.priority
        if (old.phone_id, old.priority) != (phone, priority):
            changes.append(
                {"id": old.id, "phone_id": phone, "priority": priority, "updated_at": now}
            )
    if new:
        session.execute(insert(_RECORD), new)
    _update(session, _RECORD, changes)
    return created


def _update(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """UPDATE ``table`` by id, one executemany for ``rows`` (dicts with the same keys)."""
    if not rows:
        return
    names = [k for k in rows[0] if k != "id"]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(name) for name in names})
    )
    session.execute(statement, [{"row_id": r["id"], **{n: r[n] for n in names}} for r in rows])
