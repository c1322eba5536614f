"""The desk's pages: ``/tickets`` (filters, saved views, paging, "next ticket") and
``/tickets/<id>`` (the thread with channel icons and times in the tenant's zone, the reply
box and private note, the ticket's fields, time tracking, merge, history, and who else is
on the ticket, refreshed by ``web/static/ticket_presence.js``).

Forms post to small ``POST`` routes that call the same operations as the API
(:mod:`.common`) and come back to the ticket with a message. A hand-edited list URL never
fails: filter values the schema refuses are dropped.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pydantic import ValidationError
from werkzeug.wrappers import Response as BaseResponse

from controlplane.desk import catalog, store
from controlplane.desk.exceptions import (
    InvalidFields,
    NothingWaiting,
    TemplateInvalid,
    TicketMerged,
    TicketNotFound,
)
from controlplane.desk.http import common, labels
from controlplane.desk.http.common import ROLES
from controlplane.desk.schemas import TicketListQuery, TicketPatch
from web.auth import current_user, login_required
from web.services import services

bp = Blueprint("desk", __name__)
FILTERS = ("status", "priority", "category_id", "assignee", "queue_id", "channel", "q")
PATCH_FIELDS = ("status", "priority", "category_id", "assignee_user_id", "queue_id")


def _query() -> TicketListQuery:
    """The list's query string; refused values are dropped (a page never fails on a URL)."""
    args = {k: v for k, v in request.args.items() if k in TicketListQuery.model_fields}
    for _attempt in range(len(args) + 1):
        try:
            return TicketListQuery.model_validate(args)
        except ValidationError as err:
            for e in err.errors():
                if e["loc"]:
                    args.pop(str(e["loc"][0]), None)
    return TicketListQuery()


def _choices() -> dict[str, Any]:
    tid = current_user().tenant_id
    with services().sessions() as s:
        return {"categories": [(c.id, c.name) for c in store.categories(s, tid)],
                "queues": store.queues(s, tid), "users": store.users(s, tid)}


def _labels() -> dict[str, Any]:
    return {"status_labels": labels.STATUS, "priority_labels": labels.PRIORITY,
            "channel_labels": labels.CHANNEL, "icons": labels.ICON,
            "direction_labels": labels.DIRECTION, "event_labels": labels.EVENT,
            "delivery_labels": labels.DELIVERY, "sort_labels": labels.SORT,
            "presence_labels": labels.PRESENCE}


@bp.get("/tickets")
@login_required(*ROLES)
def index() -> Any:
    query = _query()
    given = query.model_dump(exclude_unset=True)
    try:
        saved = common.view_filters(query.view_id)
    except Exception:  # noqa: BLE001 - another user's or a deleted view: just no view
        saved, query = {}, query.model_copy(update={"view_id": None})
    f = {**saved, **{k: v for k, v in given.items() if k in FILTERS}}
    rows, page = common.listing(f, query.sort, query.page, query.per_page)
    args = {k: v for k, v in request.args.items() if v}
    return render_template("tickets.html", rows=rows, page=page, args=args, f=f,
                           sort=query.sort or "-updated", views=common.my_views(),
                           view_id=query.view_id, **_choices(), **_labels())


@bp.post("/tickets/next")
@login_required(*ROLES)
def take_next() -> BaseResponse:
    try:
        ticket_id = common.take_next()
    except NothingWaiting:
        flash(_("No unassigned ticket waits in your queues."), "ok")
        return redirect(url_for("desk.index"))
    flash(_("This ticket is now yours."), "ok")
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


@bp.get("/tickets/<int:ticket_id>")
@login_required(*ROLES)
def ticket(ticket_id: int) -> Any:
    d = common.detail(ticket_id)
    return render_template("ticket.html", d=d, t=d["ticket"], templates=common.templates(),
                           **_choices(), **_labels())


@bp.get("/tickets/<int:ticket_id>/messages/<int:message_id>/attachments/<int:index>")
@login_required(*ROLES)
def attachment(ticket_id: int, message_id: int, index: int) -> BaseResponse:
    return common.download(ticket_id, message_id, index)


def _back(ticket_id: int) -> BaseResponse:
    return redirect(url_for("desk.ticket", ticket_id=ticket_id))


def _refused(err: Exception) -> None:
    if isinstance(err, InvalidFields):
        for issue in err.issues:
            flash(_("%(field)s: %(message)s", field=issue.field, message=issue.message),
                  "error")
    elif isinstance(err, TicketMerged):
        flash(_("This ticket was merged into #%(number)s; work on that one.",
                number=err.details["merged_into_number"]), "error")
    elif isinstance(err, TemplateInvalid):
        flash(_("The template does not work: %(message)s", message=err.message), "error")


@bp.post("/tickets/<int:ticket_id>/fields")
@login_required(*ROLES)
def fields(ticket_id: int) -> BaseResponse:
    raw: dict[str, Any] = {}
    for key in PATCH_FIELDS:
        if key not in request.form:
            continue
        value = request.form.get(key, "").strip()
        raw[key] = (int(value) if value.isdigit() else None) if key.endswith("_id") else value
    try:
        values = TicketPatch.model_validate(raw, strict=False).given()
        common.patch(ticket_id, values)
    except ValidationError:
        flash(_("Some values were not accepted."), "error")
        return _back(ticket_id)
    except (InvalidFields, TicketMerged) as err:
        _refused(err)
        return _back(ticket_id)
    flash(_("Ticket saved"), "ok")
    try:
        common.ticket_json(ticket_id)
    except TicketNotFound:  # moved to a queue the agent is not in: no longer theirs to see
        return redirect(url_for("desk.index"))
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/messages")
@login_required(*ROLES)
def reply(ticket_id: int) -> BaseResponse:
    body = request.form.get("body", "").strip()
    note = request.form.get("note") == "1"
    if not body:
        flash(_("Write something first."), "error")
        return _back(ticket_id)
    try:
        common.post(ticket_id, body[:20_000], note)
    except (InvalidFields, TicketMerged) as err:
        _refused(err)
        return _back(ticket_id)
    flash(_("Note added") if note else _("Reply sent"), "ok")
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/time")
@login_required(*ROLES)
def log_time(ticket_id: int) -> BaseResponse:
    raw = request.form.get("minutes", "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 1440:
        flash(_("Minutes: a whole number from 1 to 1440."), "error")
        return _back(ticket_id)
    common.log_time(ticket_id, int(raw), request.form.get("note", "").strip()[:200])
    flash(_("Time logged"), "ok")
    return _back(ticket_id)


@bp.post("/tickets/<int:ticket_id>/merge")
@login_required(*ROLES)
def merge(ticket_id: int) -> BaseResponse:
    raw = request.form.get("into", "").strip().lstrip("#")
    try:
        with services().sessions() as s:
            into = store.by_number(s, common.viewer(), int(raw)).id if raw.isdigit() else 0
        if not into:
            raise TicketNotFound("no number")
        common.merge(ticket_id, into)
    except TicketNotFound:
        flash(_("Give the number of a ticket you can see."), "error")
        return _back(ticket_id)
    except (InvalidFields, TicketMerged) as err:
        _refused(err)
        return _back(ticket_id)
    flash(_("Ticket merged"), "ok")
    return redirect(url_for("desk.ticket", ticket_id=into))


@bp.post("/tickets/views")
@login_required(*ROLES)
def save_view() -> BaseResponse:
    name = request.form.get("name", "").strip()[:100]
    filters = {k: request.form.get(k) for k in FILTERS if request.form.get(k)}
    if not name:
        flash(_("Give the view a name."), "error")
        return redirect(url_for("desk.index", **filters))
    view = common.write(lambda s, v: catalog.save_view(s, v, name, filters).id,
                        "ticket.view_saved", lambda i: {"view": i})
    flash(_("View saved"), "ok")
    return redirect(url_for("desk.index", view_id=view))


@bp.post("/tickets/views/<int:view_id>/delete")
@login_required(*ROLES)
def delete_view(view_id: int) -> BaseResponse:
    common.write(lambda s, v: catalog.delete_view(s, v, view_id), "ticket.view_deleted",
                 lambda _: {"view": view_id})
    flash(_("View deleted"), "ok")
    return redirect(url_for("desk.index"))
