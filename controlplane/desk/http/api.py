"""``/api/v1/tickets``: the desk's JSON API. Every role; agents see the tickets of their
queues, those assigned to them and the general inbox (:mod:`controlplane.desk.store`).

* ``GET /tickets?status=&priority=&category_id=&assignee=mine|unassigned|<id>&queue_id=
  &channel=&q=&view_id=&sort=&page=&per_page=``; ``POST /tickets`` opens one.
* ``GET /tickets/<id>``: the ticket, its thread, history, minutes and who else is on it;
  ``PATCH /tickets/<id>``: status, priority, category, assignee, queue, subject.
* ``GET|POST /tickets/<id>/messages``: the thread; a reply (out through the ticket's
  channel) or a private note (``note: true``).
* ``GET /tickets/<id>/messages/<message>/attachments/<index>``: an e-mail's attachment, as
  a download.
* ``POST /tickets/<id>/time`` (minutes), ``POST /tickets/<id>/merge`` (``into``),
  ``GET|POST /tickets/<id>/presence`` (collision detection), ``POST /tickets/next``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from controlplane.desk import service, store
from controlplane.desk.http import common
from controlplane.desk.http.common import ROLES
from controlplane.desk.schemas import (
    MergeCreate,
    MessageCreate,
    MessageList,
    MessageResponse,
    PresenceCreate,
    PresenceList,
    TicketCreate,
    TicketDetail,
    TicketList,
    TicketListQuery,
    TicketPatch,
    TicketResponse,
    TimeCreate,
    TimeResponse,
)
from web.api.responses import responds
from web.auth import login_required
from web.services import services
from web.validation import validated

bp = Blueprint("desk_api", __name__, url_prefix="/api/v1")
FILTERS = ("status", "priority", "category_id", "assignee", "queue_id", "channel", "q")


@bp.get("/tickets")
@login_required(*ROLES)
@validated(query=TicketListQuery)
@responds(TicketList)
def api_list(query: TicketListQuery) -> Any:
    given = query.model_dump(exclude_unset=True)
    f = {**common.view_filters(query.view_id), **{k: v for k, v in given.items() if k in FILTERS}}
    rows, page = common.listing(f, query.sort, query.page, query.per_page)
    return jsonify({"tickets": rows, **page.meta()})


@bp.post("/tickets")
@login_required(*ROLES)
@validated(body=TicketCreate)
@responds(TicketResponse, 201)
def api_create(body: TicketCreate) -> Any:
    return jsonify({"ticket": common.ticket_json(common.create(body.model_dump()))}), 201


@bp.post("/tickets/next")
@login_required(*ROLES)
@validated()
@responds(TicketResponse)
def api_next() -> Any:
    return jsonify({"ticket": common.ticket_json(common.take_next())})


@bp.get("/tickets/<int:ticket_id>")
@login_required(*ROLES)
@validated()
@responds(TicketDetail)
def api_get(ticket_id: int) -> Any:
    d = common.detail(ticket_id)
    return jsonify({k: d[k] for k in ("ticket", "messages", "events", "minutes", "presence")})


@bp.patch("/tickets/<int:ticket_id>")
@login_required(*ROLES)
@validated(body=TicketPatch)
@responds(TicketResponse)
def api_patch(ticket_id: int, body: TicketPatch) -> Any:
    return jsonify({"ticket": common.patch(ticket_id, body.given())})


@bp.get("/tickets/<int:ticket_id>/messages")
@login_required(*ROLES)
@validated()
@responds(MessageList)
def api_messages(ticket_id: int) -> Any:
    with services().sessions() as s:
        t = store.ticket(s, common.viewer(), ticket_id)
        return jsonify({"messages": [service.message_json(m) for m in store.messages(s, t)]})


@bp.post("/tickets/<int:ticket_id>/messages")
@login_required(*ROLES)
@validated(body=MessageCreate)
@responds(MessageResponse, 201)
def api_post(ticket_id: int, body: MessageCreate) -> Any:
    return jsonify({"message": common.post(ticket_id, body.body, body.note)}), 201


@bp.post("/tickets/<int:ticket_id>/time")
@login_required(*ROLES)
@validated(body=TimeCreate)
@responds(TimeResponse, 201)
def api_time(ticket_id: int, body: TimeCreate) -> Any:
    return jsonify({"minutes": common.log_time(ticket_id, body.minutes, body.note)}), 201


@bp.post("/tickets/<int:ticket_id>/merge")
@login_required(*ROLES)
@validated(body=MergeCreate)
@responds(TicketResponse)
def api_merge(ticket_id: int, body: MergeCreate) -> Any:
    common.merge(ticket_id, body.into)
    return jsonify({"ticket": common.ticket_json(body.into)})


@bp.get("/tickets/<int:ticket_id>/presence")
@login_required(*ROLES)
@validated()
@responds(PresenceList)
def api_presence(ticket_id: int) -> Any:
    with services().sessions() as s:
        store.ticket(s, common.viewer(), ticket_id)
    return jsonify({"presence": common.others(ticket_id)})


@bp.post("/tickets/<int:ticket_id>/presence")
@login_required(*ROLES)
@validated(body=PresenceCreate)
@responds(PresenceList)
def api_here(ticket_id: int, body: PresenceCreate) -> Any:
    return jsonify({"presence": common.here(ticket_id, body.state)})


@bp.get("/tickets/<int:ticket_id>/messages/<int:message_id>/attachments/<int:index>")
@login_required(*ROLES)
@validated()
@responds(None, 200, "application/octet-stream")
def api_attachment(ticket_id: int, message_id: int, index: int) -> Any:
    """An attachment of a message of the ticket's thread (``attachments`` of the message
    lists them by ``index``), as a download in its own type; 404 when the ticket is not
    one you may see, the message has no such attachment or its file is not kept."""
    return common.download(ticket_id, message_id, index)
