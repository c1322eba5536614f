"""The contacts room's rules: saving a contact (numbers, custom fields), deleting, merging.

Saving takes a mapping of the fields sent (the API's body, or the page's form read into
the same shape) and checks it all before touching a row, reporting every wrong field:
names and e-mail are one line each, the time zone is an IANA name, each number is valid
in the tenant's region (:mod:`controlplane.campaigns.numbers`), at most one is the main
number. A number that is another contact's is a 409 naming that contact.

Numbers are rows of ``contact_phone``, which campaign records point to. Replacing the
list updates rows in place (same number: same row), so a record keeps its number; a
removed number's records are pointed at the contact's main number first, because
deleting the row would delete them (``ON DELETE CASCADE``) and their dial attempts
refuse that.

Merging (:func:`merge`) moves the other contact's numbers, campaign records (or, when both
are in one campaign, the other record's attempts and recontacts onto the kept record),
custom fields the kept one lacks and blank name/e-mail, writes a :class:`ContactMerge` row
and deletes the other. Deleting a contact whose calls are in the compliance log
(``dial_attempt``) is refused: the log must keep them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from controlplane.campaigns import numbers
from controlplane.campaigns.exceptions import CampaignError
from controlplane.contacts import store
from controlplane.contacts.exceptions import ContactInUse, FieldIssue, InvalidFields, NumberTaken
from controlplane.models import CampaignRecord, Contact, ContactPhone, DialAttempt, Recontact
from controlplane.models.base import utcnow
from controlplane.models.contact_merges import ContactMerge

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TEXT_FIELDS = {"first_name": 100, "last_name": 100, "email": 254}


def _text(values: Mapping[str, Any], issues: list[FieldIssue]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, top in TEXT_FIELDS.items():
        if name not in values:
            continue
        text = (values[name] or "").strip()
        if len(text) > top or any(ord(ch) < 32 for ch in text):
            issues.append(FieldIssue(name, _("one line of at most %(n)s characters", n=top)))
        out[name] = text
    if out.get("email") and not EMAIL.match(out["email"]):
        issues.append(FieldIssue("email", _("not an e-mail address (name@example.com)")))
    if "timezone" in values:
        zone = (values["timezone"] or "").strip() or None
        if zone is not None:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                issues.append(FieldIssue("timezone", _("not a time zone (e.g. Europe/Warsaw)")))
        out["timezone"] = zone
    if "custom" in values:
        custom = values["custom"] or {}
        for key in custom:
            if not str(key).strip():
                issues.append(FieldIssue("custom", _("a custom field needs a name")))
        out["custom"] = {str(k).strip(): v for k, v in custom.items()}
    return out


def _numbers(phones: list[Mapping[str, Any]], default_region: str,
             issues: list[FieldIssue]) -> list[numbers.Normalised]:
    """The numbers in order, main first; issues for invalid, repeated or two mains."""
    found: list[numbers.Normalised] = []
    main = -1
    for i, phone in enumerate(phones):
        field = f"phones[{i}].number"
        try:
            n = numbers.normalise(str(phone.get("number") or ""), default_region)
        except CampaignError as err:
            issues.append(FieldIssue(field, _("not a valid phone number: %(reason)s", reason=str(err))))
            continue
        if any(n.e164 == other.e164 for other in found):
            issues.append(FieldIssue(field, _("%(number)s is given twice", number=n.e164)))
            continue
        if phone.get("main"):
            if main >= 0:
                issues.append(FieldIssue(f"phones[{i}].main", _("only one number can be the main one")))
            main = len(found)
        found.append(n)
    if main > 0:
        found.insert(0, found.pop(main))
    return found


def save(s: Session, tenant_id: int, contact: Contact | None,
         values: Mapping[str, Any]) -> Contact:
    """Create (``contact`` None) or change a contact from ``values``; InvalidFields or
    NumberTaken before anything is written."""
    issues: list[FieldIssue] = []
    fields = _text(values, issues)
    wanted = (_numbers(list(values["phones"] or []), store.region(s, tenant_id), issues)
              if "phones" in values else None)
    if issues:
        raise InvalidFields(issues)
    if wanted is not None:
        held = store.owners(s, tenant_id, [n.e164 for n in wanted])
        for i, n in enumerate(wanted):
            owner = held.get(n.e164)
            if owner is not None and (contact is None or owner.id != contact.id):
                raise NumberTaken(n.e164, f"phones[{i}].number", owner.id,
                                  store.display_name(owner))
    if contact is None:
        contact = Contact(tenant_id=tenant_id, custom={})
        s.add(contact)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.updated_at = utcnow()  # also when only the numbers changed
    s.flush()
    if wanted is not None:
        _replace_phones(s, contact, wanted)
    return contact


def _replace_phones(s: Session, contact: Contact, wanted: list[numbers.Normalised]) -> None:
    current = {p.number: p for p in store.phones(s, contact.id)}
    kept: list[ContactPhone] = []
    for position, n in enumerate(wanted):
        row = current.pop(n.e164, None)
        if row is None:
            row = ContactPhone(tenant_id=contact.tenant_id, contact_id=contact.id,
                               number=n.e164)
            s.add(row)
        row.kind, row.country, row.region, row.position = n.kind, n.country, n.region, position
        kept.append(row)
    s.flush()
    if current:
        gone = [p.id for p in current.values()]
        if kept:  # records of a removed number now dial the main one
            s.execute(update(CampaignRecord).where(CampaignRecord.phone_id.in_(gone))
                      .values(phone_id=kept[0].id))
        elif s.scalar(select(func.count()).select_from(CampaignRecord)
                      .where(CampaignRecord.phone_id.in_(gone))):
            raise InvalidFields([FieldIssue(
                "phones", _("the contact is in campaigns: it needs at least one number"))])
        s.execute(delete(ContactPhone).where(ContactPhone.id.in_(gone)))
    s.flush()


def delete_contact(s: Session, contact: Contact) -> None:
    """Delete the contact (its numbers and campaign records go with it), unless its calls
    are in the compliance log."""
    attempts = s.scalar(select(func.count()).select_from(DialAttempt).join(
        CampaignRecord, CampaignRecord.id == DialAttempt.record_id)
        .where(CampaignRecord.contact_id == contact.id)) or 0
    if attempts:
        raise ContactInUse(
            f"contact #{contact.id} was called {attempts} time(s); the compliance log keeps "
            f"those calls, so the contact cannot be deleted (merge it into another instead)",
            details={"reason": "dial_attempts", "attempts": attempts})
    s.delete(contact)
    s.flush()


def merge(s: Session, keep: Contact, other: Contact, actor: str) -> ContactMerge:
    """Merge ``other`` into ``keep`` (same tenant, checked by the caller) and delete it;
    returns the merge log row."""
    if keep.id == other.id:
        raise InvalidFields([FieldIssue("from_id", _("a contact cannot be merged into itself"))])
    moved_numbers = [p.number for p in store.phones(s, other.id)]
    top = s.scalar(select(func.max(ContactPhone.position))
                   .where(ContactPhone.contact_id == keep.id))
    for i, phone in enumerate(store.phones(s, other.id)):
        phone.contact_id = keep.id
        phone.position = (top + 1 + i) if top is not None else i
    kept_campaigns = {r.campaign_id: r for r in s.scalars(
        select(CampaignRecord).where(CampaignRecord.contact_id == keep.id))}
    records = joined = 0
    for record in list(s.scalars(select(CampaignRecord)
                                 .where(CampaignRecord.contact_id == other.id))):
        target = kept_campaigns.get(record.campaign_id)
        if target is None:
            record.contact_id = keep.id
            records += 1
            continue
        # Both were in this campaign: the kept record takes the other's history.
        s.execute(update(DialAttempt).where(DialAttempt.record_id == record.id)
                  .values(record_id=target.id))
        s.execute(update(Recontact).where(Recontact.record_id == record.id)
                  .values(record_id=target.id))
        target.attempts += record.attempts
        s.flush()
        s.delete(record)
        joined += 1
    custom = dict(other.custom or {})
    custom.update(keep.custom or {})
    taken = sorted(set(custom) - set(keep.custom or {}))
    keep.custom = custom
    filled = []
    for name in ("first_name", "last_name", "email"):
        if not getattr(keep, name).strip() and getattr(other, name).strip():
            setattr(keep, name, getattr(other, name))
            filled.append(name)
    if keep.timezone is None and other.timezone:
        keep.timezone = other.timezone
    s.execute(update(ContactMerge).where(ContactMerge.contact_id == other.id)
              .values(contact_id=keep.id))  # earlier merges into the other stay visible
    log = ContactMerge(tenant_id=keep.tenant_id, contact_id=keep.id, merged_id=other.id,
                       merged_name=store.display_name(other)[:201], merged_email=other.email,
                       actor=actor[:200],
                       moved={"numbers": moved_numbers, "campaign_records": records,
                              "records_joined": joined, "custom_fields": taken,
                              "filled": filled})
    s.add(log)
    s.flush()
    s.delete(other)
    s.flush()
    return log
