"""What the contacts pages and API share: the write path (transaction + audit), reads.

Every operation takes the logged-in user's tenant; a contact of another tenant is "not
found". Writes are audited in their own transaction: ``contact.created``,
``contact.updated``, ``contact.deleted`` and ``contact.merged`` (what moved, and the old
contact's id; names and e-mails stay out of the audit detail, the merge log keeps them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import url_for

from controlplane.admin.store import Page
from controlplane.contacts import history, service, store
from controlplane.db import transaction
from controlplane.models import Role
from controlplane.security import audit
from web.auth import client_address, current_user
from web.services import services

ROLES = (Role.ADMIN, Role.SUPERVISOR)


def listing(args: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Page]:
    tid = current_user().tenant_id
    with services().sessions() as s:
        page = store.contacts(s, tid, **args)
        rows = [{"id": c.id, "name": store.display_name(c), "first_name": c.first_name,
                 "last_name": c.last_name, "email": c.email, "main_number": number,
                 "updated_at": c.updated_at} for c, number in page.rows]
    return rows, page


def _audit(s: Any, kind: str, detail: dict[str, Any]) -> None:
    me = current_user()
    audit.record(s, kind, tenant_id=me.tenant_id, actor=me.address, source=client_address(),
                 detail=detail)


def save(contact_id: int | None, values: Mapping[str, Any]) -> int:
    """Create or change a contact; its id."""
    tid = current_user().tenant_id
    with transaction(services().sessions) as s:
        contact = store.contact(s, tid, contact_id) if contact_id is not None else None
        saved = service.save(s, tid, contact, values)
        _audit(s, "contact.created" if contact_id is None else "contact.updated",
               {"contact": saved.id, "fields": sorted(values)})
        return saved.id


def delete(contact_id: int) -> None:
    tid = current_user().tenant_id
    with transaction(services().sessions) as s:
        service.delete_contact(s, store.contact(s, tid, contact_id))
        _audit(s, "contact.deleted", {"contact": contact_id})


def merge(contact_id: int, from_id: int) -> dict[str, Any]:
    """Merge ``from_id`` into ``contact_id``; the merge log row as JSON."""
    me = current_user()
    with transaction(services().sessions) as s:
        keep = store.contact(s, me.tenant_id, contact_id)
        other = store.contact(s, me.tenant_id, from_id)
        log = service.merge(s, keep, other, me.address)
        _audit(s, "contact.merged", {"contact": contact_id, "merged": from_id, **log.moved})
        return merge_json(log)


def merge_json(m: Any) -> dict[str, Any]:
    return {"id": m.id, "merged_id": m.merged_id, "merged_name": m.merged_name,
            "merged_email": m.merged_email, "actor": m.actor, "moved": dict(m.moved),
            "merged_at": m.merged_at.isoformat()}


def card(contact_id: int) -> dict[str, Any]:
    """Everything the contact page shows: the contact, duplicates, merges, its timeline."""
    tid = current_user().tenant_id
    with services().sessions() as s:
        c = store.contact(s, tid, contact_id)
        out = store.to_json(c, store.phones(s, c.id))
        out["duplicates"] = [{"id": d.id, "name": store.display_name(d), "email": d.email}
                             for d in store.duplicates(s, c)]
        out["merges"] = [merge_json(m) for m in store.merges(s, c.id)]
        out["history"] = [with_links(e) for e in history.events(s, c)]
    return out


def contact_json(contact_id: int) -> dict[str, Any]:
    tid = current_user().tenant_id
    with services().sessions() as s:
        c = store.contact(s, tid, contact_id)
        return store.to_json(c, store.phones(s, c.id))


def with_links(event: dict[str, Any]) -> dict[str, Any]:
    """The event with ``recording_url`` where its call was recorded."""
    out = dict(event)
    if event.get("recording") and event.get("call_record_id"):
        out["recording_url"] = url_for("calls.recording", record_id=event["call_record_id"])
    return out
