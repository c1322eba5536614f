"""``/api/v1/contacts``: list (search, paging, sort), read, create, update, delete, history,
merge. Admins and supervisors of the tenant.

* ``GET /contacts?q=&sort=&page=&per_page=``: ``q`` matches names, e-mail and numbers; a
  number as typed (``600 100 200``) finds its E.164 form in the tenant's region.
* ``POST /contacts``, ``PUT /contacts/<id>`` (fields sent change; ``phones`` and ``custom``
  replace their lists), ``DELETE /contacts/<id>`` (409 ``contact_in_use`` when its calls
  are in the compliance log).
* ``GET /contacts/<id>/history``: the timeline, newest first.
* ``POST /contacts/<id>/merge`` ``{"from_id": N}``: N's numbers, records and history move
  here, N is deleted; answers the merge log row.

A number already another contact's is 409 ``number_taken`` naming that contact.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from controlplane.admin.schemas import ListQuery
from controlplane.contacts import history, store
from controlplane.contacts.http import common
from controlplane.contacts.http.common import ROLES
from controlplane.contacts.schemas import (
    ContactBody,
    ContactList,
    ContactResponse,
    Deleted,
    HistoryResponse,
    MergeBody,
    MergeResponse,
)
from web.api.responses import responds
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("contacts_api", __name__, url_prefix="/api/v1")


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {**r, "updated_at": r["updated_at"].isoformat()}


@bp.get("/contacts")
@login_required(*ROLES)
@validated(query=ListQuery)
@responds(ContactList)
def api_list(query: ListQuery) -> Any:
    rows, page = common.listing(query.model_dump())
    return jsonify({"contacts": [_row(r) for r in rows], **page.meta()})


@bp.post("/contacts")
@login_required(*ROLES)
@validated(body=ContactBody)
@responds(ContactResponse, 201)
def api_create(body: ContactBody) -> Any:
    return jsonify({"contact": common.contact_json(common.save(None, body.given()))}), 201


@bp.get("/contacts/<int:contact_id>")
@login_required(*ROLES)
@validated()
@responds(ContactResponse)
def api_get(contact_id: int) -> Any:
    return jsonify({"contact": common.contact_json(contact_id)})


@bp.put("/contacts/<int:contact_id>")
@login_required(*ROLES)
@validated(body=ContactBody)
@responds(ContactResponse)
def api_update(contact_id: int, body: ContactBody) -> Any:
    return jsonify({"contact": common.contact_json(common.save(contact_id, body.given()))})


@bp.delete("/contacts/<int:contact_id>")
@login_required(*ROLES)
@validated()
@responds(Deleted)
def api_delete(contact_id: int) -> Any:
    common.delete(contact_id)
    return jsonify({"deleted": contact_id})


@bp.get("/contacts/<int:contact_id>/history")
@login_required(*ROLES)
@validated()
@responds(HistoryResponse)
def api_history(contact_id: int) -> Any:
    with services().sessions() as s:
        c = store.contact(s, current_user().tenant_id, contact_id)
        events = [history.to_json(common.with_links(e)) for e in history.events(s, c)]
        merges = [common.merge_json(m) for m in store.merges(s, c.id)]
    return jsonify({"history": events, "merges": merges})


@bp.post("/contacts/<int:contact_id>/merge")
@login_required(*ROLES)
@validated(body=MergeBody)
@responds(MergeResponse)
def api_merge(contact_id: int, body: MergeBody) -> Any:
    merged = common.merge(contact_id, body.from_id)
    return jsonify({"contact": common.contact_json(contact_id), "merge": merged})
