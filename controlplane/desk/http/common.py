"""What the desk's pages and API share: the viewer, the write path, reads as JSON.

The write path (:func:`write`): the change runs in one transaction with its audit line
(``ticket.updated``, ``ticket.merged``…, ids and field names only: a customer's words stay
out of the security log), the ticket's own history, webhook events, the business rules it
triggers and a reply's delivery job (:mod:`controlplane.desk.service` writes those).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis
from flask import Response, send_file
from sqlalchemy.orm import Session

from controlplane.admin.store import Page
from controlplane.db import transaction
from controlplane.desk import attachments, catalog, presence, routing, service, store
from controlplane.desk.exceptions import (
    AttachmentNotFound,
    DeskNotFound,
    FieldIssue,
    InvalidFields,
    TicketNotFound,
)
from controlplane.desk.store import Viewer
from controlplane.desk.templates import render as tpl_render
from controlplane.models import Role
from controlplane.models.desk import TicketEvent, TicketView
from controlplane.models.tickets import Ticket
from controlplane.security import audit
from web.auth import client_address, current_user
from web.services import services

ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
SUPERVISING = (Role.ADMIN, Role.SUPERVISOR)
T = TypeVar("T")


def viewer() -> Viewer:
    me = current_user()
    return Viewer(me.tenant_id, me.id, str(me.role), f"{me.login}@{me.tenant_domain}",
                  me.display_name)


def write(change: Callable[[Session, Viewer], T], kind: str,
          detail: Callable[[T], dict[str, Any]]) -> T:
    """Run ``change`` and audit ``kind`` in one transaction; what ``change`` returned."""
    v = viewer()
    with transaction(services().sessions) as s:
        result = change(s, v)
        audit.record(s, kind, tenant_id=v.tenant_id, actor=v.actor, source=client_address(),
                     detail=detail(result))
    return result


def listing(f: Mapping[str, Any], sort: str | None, page: int,
            per_page: int) -> tuple[list[dict[str, Any]], Page]:
    with services().sessions() as s:
        got = store.tickets(s, viewer(), f, sort, page, per_page)
        rows = [{**service.ticket_json(t), "assignee": who, "category": cat, "queue": queue}
                for t, who, cat, queue in got.rows]
    return rows, got


def view_filters(view_id: int | None) -> dict[str, Any]:
    """A saved view's filters (the viewer's own views only)."""
    if view_id is None:
        return {}
    me = current_user()
    with services().sessions() as s:
        row = s.get(TicketView, view_id)
        if row is None or row.user_id != me.id:
            raise DeskNotFound(f"no saved view {view_id} of yours")
        return dict(row.filters or {})


def event_json(e: TicketEvent) -> dict[str, Any]:
    return {"id": e.id, "kind": e.kind, "actor": e.actor, "old": e.old, "new": e.new,
            "detail": dict(e.detail or {}), "created_at": e.created_at.isoformat()}


def others(ticket_id: int) -> list[dict[str, Any]]:
    """Who else is on the ticket (an unreachable Redis shows nobody, not an error)."""
    v = viewer()
    try:
        return [p.to_json() for p in presence.others(services().redis, v.tenant_id,
                                                     ticket_id, v.user_id)]
    except redis.RedisError:
        return []


def here(ticket_id: int, state: str) -> list[dict[str, Any]]:
    """Mark the viewer on the ticket (after checking they may see it); who else is."""
    v = viewer()
    with services().sessions() as s:
        store.ticket(s, v, ticket_id)
    with contextlib.suppress(redis.RedisError):
        presence.mark(services().redis, v.tenant_id, ticket_id, v.user_id or 0,
                      v.name or v.actor, state)
    return others(ticket_id)


def detail(ticket_id: int) -> dict[str, Any]:
    """Everything the ticket page and ``GET /api/v1/tickets/<id>`` show."""
    with services().sessions() as s:
        t = store.ticket(s, viewer(), ticket_id)
        into = s.get(Ticket, t.merged_into_id) if t.merged_into_id else None
        return {"ticket": service.ticket_json(t),
                "messages": [service.message_json(m) for m in store.messages(s, t)],
                "events": [event_json(e) for e in store.events(s, t.id)],
                "minutes": store.minutes(s, t.id),
                "presence": others(t.id),
                "merged_into_number": into.number if into else None,
                "acd_holder": routing.holder(s, t.tenant_id, t.id)}


def attachment(ticket_id: int, message_id: int, index: int) -> attachments.AttachmentFile:
    """A file attached to a message of the ticket's thread, when the viewer may see the
    ticket (a merged ticket's messages belong to the thread it was merged into)."""
    v = viewer()
    with services().sessions() as s:
        t = store.ticket(s, v, ticket_id)
        message = next((m for m in store.messages(s, t) if m.id == message_id), None)
        if message is None:
            raise AttachmentNotFound(f"no message {message_id} on ticket {ticket_id}")
        return attachments.file_of(services().settings.runtime_dir, v.tenant_id, message,
                                   index)


def download(ticket_id: int, message_id: int, index: int) -> Response:
    """The attachment as a download (page and API): its own type, offered under a safe
    name, never shown in the panel's origin (``attachment``, ``nosniff``), not cached."""
    f = attachment(ticket_id, message_id, index)
    resp = send_file(f.path, mimetype=f.content_type, as_attachment=True,
                     download_name=f.name, conditional=True, max_age=0)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def ticket_json(ticket_id: int) -> dict[str, Any]:
    with services().sessions() as s:
        return service.ticket_json(store.ticket(s, viewer(), ticket_id))


def create(values: Mapping[str, Any]) -> int:
    fields = {k: values.get(k) for k in ("priority", "category_id", "queue_id",
                                         "assignee_user_id") if values.get(k) is not None}
    return write(lambda s, v: service.open_ticket(
        s, v, subject=values["subject"], body=values["body"], requester=values["requester"],
        requester_name=values.get("requester_name") or "", fields=fields).id,
        "ticket.created", lambda tid: {"ticket": tid})


def patch(ticket_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """Change the ticket; it as it is now (read in the change's transaction: an agent who
    moves a ticket to a queue they are not in may no longer see it afterwards)."""
    def change(s: Session, v: Viewer) -> tuple[dict[str, Any], list[str]]:
        t = store.ticket(s, v, ticket_id, lock=True)
        changes = service.change(s, v, t, values)
        return service.ticket_json(t), sorted(changes)
    out, _fields = write(change, "ticket.updated",
                         lambda r: {"ticket": ticket_id, "fields": r[1]})
    return out


def post(ticket_id: int, body: str, note: bool) -> dict[str, Any]:
    """Add a reply or a note (a reply on an e-mail or SMS ticket is queued for delivery in
    the same transaction, :mod:`controlplane.desk.delivery`)."""
    def add(s: Session, v: Viewer) -> dict[str, Any]:
        row = service.post(s, v, store.ticket(s, v, ticket_id, lock=True), body, note=note)
        return service.message_json(row)
    return write(add, "ticket.noted" if note else "ticket.replied",
                 lambda m: {"ticket": ticket_id, "message": m["id"]})


def log_time(ticket_id: int, minutes: int, note: str) -> int:
    return write(lambda s, v: service.log_time(s, v, store.ticket(s, v, ticket_id), minutes,
                                               note),
                 "ticket.time_logged", lambda total: {"ticket": ticket_id, "minutes": minutes})


def merge(ticket_id: int, into: int) -> None:
    def run(s: Session, v: Viewer) -> None:
        source = store.ticket(s, v, ticket_id, lock=True)
        try:
            target = store.ticket(s, v, into, lock=True)
        except TicketNotFound as err:
            raise InvalidFields([FieldIssue("into", "no such ticket you may see")]) from err
        service.merge(s, v, source, target)
    write(run, "ticket.merged", lambda _: {"ticket": ticket_id, "into": into})


def take_next() -> int:
    return write(lambda s, v: service.next_ticket(s, v).id, "ticket.taken",
                 lambda tid: {"ticket": tid})


def my_views() -> list[dict[str, Any]]:
    with services().sessions() as s:
        return [catalog.view_json(v) for v in catalog.views(s, current_user().id)]


def templates() -> list[dict[str, Any]]:
    """The tenant's active response templates (the reply box's list)."""
    with services().sessions() as s:
        return [catalog.template_json(t)
                for t in catalog.list_templates(s, current_user().tenant_id, active_only=True)]


def render(ticket_id: int, template_id: int) -> str:
    v = viewer()
    with services().sessions() as s:
        t = store.ticket(s, v, ticket_id)
        tpl = catalog.template(s, v.tenant_id, template_id)
        return tpl_render(tpl.body, store.template_parameters(s, t, v))
