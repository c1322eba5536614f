"""The contacts room's SQL: a tenant's contacts listed, searched, found, and their duplicates.

Every query takes the tenant id and filters on it: a contact of another tenant is never
listed and is "not found" by id. Search (``q``) is word by word: every word must match the
first or last name, the e-mail or a number (digits anywhere in the E.164 form); a ``q``
that reads as a phone number in the tenant's region also finds that exact E.164 number,
so ``600 100 200`` finds ``+48600100200``. Sorting is by a whitelisted column
(:func:`controlplane.admin.store.sort_of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from controlplane.admin.store import Page, paged, sort_of
from controlplane.campaigns import numbers
from controlplane.campaigns.exceptions import CampaignError
from controlplane.contacts.exceptions import ContactNotFound
from controlplane.models import Contact, ContactPhone
from controlplane.models.contact_merges import ContactMerge
from controlplane.security.outbound_store import load_policy

SORT = {"name": Contact.last_name, "first_name": Contact.first_name, "email": Contact.email,
        "created": Contact.created_at, "updated": Contact.updated_at, "id": Contact.id}


def region(s: Session, tenant_id: int) -> str:
    """The tenant's phone region (its outbound policy's; PL when it never saved one)."""
    return load_policy(s, tenant_id).region


def as_e164(raw: str, default_region: str) -> str | None:
    """``raw`` as an E.164 number when it reads as one, else None (search is lenient)."""
    try:
        return numbers.normalise(raw, default_region).e164
    except CampaignError:
        return None


def _escaped(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _word(word: str) -> ColumnElement[bool]:
    pattern = _escaped(word)
    cond: list[ColumnElement[bool]] = [c.ilike(pattern, escape="\\") for c in
                                       (Contact.first_name, Contact.last_name, Contact.email)]
    digits = "".join(ch for ch in word if ch.isdigit())
    if len(digits) >= 3 and len(digits) >= len(word.strip("+-()")) - 1:
        cond.append(exists().where(ContactPhone.contact_id == Contact.id,
                                   ContactPhone.number.like(_escaped(digits), escape="\\")))
    return or_(*cond)


def search_condition(q: str | None, default_region: str) -> ColumnElement[bool] | None:
    """The WHERE clause of a search (None: no search)."""
    if not q or not q.strip():
        return None
    words = and_(*(_word(w) for w in q.split()))
    e164 = as_e164(q, default_region)
    if e164 is None:
        return words
    return or_(words, exists().where(ContactPhone.contact_id == Contact.id,
                                     ContactPhone.number == e164))


def contacts(s: Session, tenant_id: int, q: str | None, sort: str | None, page: int,
             per_page: int) -> Page:
    """The tenant's contacts, rows of ``(Contact, main number | None)``."""
    main = (select(ContactPhone.number).where(ContactPhone.contact_id == Contact.id)
            .order_by(ContactPhone.position, ContactPhone.id).limit(1)
            .correlate(Contact).scalar_subquery())
    stmt = select(Contact, main).where(Contact.tenant_id == tenant_id)
    cond = search_condition(q, region(s, tenant_id))
    if cond is not None:
        stmt = stmt.where(cond)
    order = sort_of(sort, SORT, "name")
    if (sort or "name").lstrip("-") == "name":  # then first name, as people read a name
        desc = (sort or "").startswith("-")
        order.append(Contact.first_name.desc() if desc else Contact.first_name.asc())
    return paged(s, stmt.order_by(*order, Contact.id), page, per_page)


def contact(s: Session, tenant_id: int, contact_id: int) -> Contact:
    row = s.scalar(select(Contact).where(Contact.id == contact_id,
                                         Contact.tenant_id == tenant_id))
    if row is None:
        raise ContactNotFound(f"no contact {contact_id} in your tenant")
    return row


def phones(s: Session, contact_id: int) -> list[ContactPhone]:
    """The contact's numbers, main first."""
    return list(s.scalars(select(ContactPhone).where(ContactPhone.contact_id == contact_id)
                          .order_by(ContactPhone.position, ContactPhone.id)))


def owners(s: Session, tenant_id: int, e164s: Sequence[str]) -> dict[str, Contact]:
    """Which contact of the tenant holds each of these numbers."""
    if not e164s:
        return {}
    rows = s.execute(select(ContactPhone.number, Contact)
                     .join(Contact, Contact.id == ContactPhone.contact_id)
                     .where(ContactPhone.tenant_id == tenant_id,
                            ContactPhone.number.in_(list(e164s))))
    return {number: c for number, c in rows}


def duplicates(s: Session, c: Contact, limit: int = 20) -> list[Contact]:
    """Likely duplicates of ``c`` in its tenant: the same e-mail (any case), or the same
    first and last name (both given, any case)."""
    same: list[ColumnElement[bool]] = []
    if c.email.strip():
        same.append(func.lower(Contact.email) == c.email.strip().lower())
    if c.first_name.strip() and c.last_name.strip():
        same.append(and_(func.lower(Contact.first_name) == c.first_name.strip().lower(),
                         func.lower(Contact.last_name) == c.last_name.strip().lower()))
    if not same:
        return []
    return list(s.scalars(select(Contact).where(Contact.tenant_id == c.tenant_id,
                                                Contact.id != c.id, or_(*same))
                          .order_by(Contact.id).limit(limit)))


def merges(s: Session, contact_id: int) -> list[ContactMerge]:
    """The contact's merge log, newest first."""
    return list(s.scalars(select(ContactMerge).where(ContactMerge.contact_id == contact_id)
                          .order_by(ContactMerge.merged_at.desc(), ContactMerge.id.desc())))


def display_name(c: Contact) -> str:
    return " ".join(p for p in (c.first_name.strip(), c.last_name.strip()) if p)


def to_json(c: Contact, phone_rows: Sequence[ContactPhone]) -> dict[str, Any]:
    return {
        "id": c.id, "first_name": c.first_name, "last_name": c.last_name,
        "name": display_name(c), "email": c.email, "timezone": c.timezone,
        "custom": dict(c.custom or {}),
        "phones": [{"id": p.id, "number": p.number, "main": i == 0, "kind": p.kind,
                    "country": p.country, "region": p.region}
                   for i, p in enumerate(phone_rows)],
        "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat(),
    }
