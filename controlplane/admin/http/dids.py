"""DIDs in the panel and the API: each routes to exactly one phone, queue or IVR flow.

Pages (admins): ``/admin/dids`` (paged list, filter, sort), ``/admin/dids/new``,
``/admin/dids/<id>`` (edit, delete). API: ``GET|POST /api/v1/dids``,
``GET|PUT|DELETE /api/v1/dids/<id>``. Every change goes through the admin write path
(:mod:`.common`): refused as a whole when Asterisk's configuration would not render.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin import service, store
from controlplane.admin.exceptions import ConfigRefused, InvalidFields
from controlplane.admin.http.common import ADMIN, flash_applied, form_values, list_args, write
from controlplane.admin.schemas import DidBody, ListQuery
from web.auth import current_user, login_required
from web.errors import FieldProblem, Invalid
from web.services import services
from web.validation import validated

bp = Blueprint("admin_dids", __name__)


def _listing(args: dict[str, Any]) -> tuple[list[dict[str, Any]], store.Page]:
    with services().sessions() as s:
        page = store.dids(s, current_user().tenant_id, **args)
        return [service.did_json(d) for (d,) in page.rows], page


def _save(did_id: int | None, values: dict[str, Any]) -> tuple[int, Any]:
    tid = current_user().tenant_id

    def change(s: Session) -> tuple[int, str]:
        did = store.did(s, tid, did_id) if did_id is not None else None
        saved = service.save_did(s, tid, did, values)
        return saved.id, saved.number

    (saved, _number), applied = write(change, "did.created" if did_id is None else "did.updated",
                                      lambda r: {"did": r[1], "fields": sorted(values)})
    return saved, applied


def _delete(did_id: int) -> Any:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        did = store.did(s, tid, did_id)
        number = did.number
        s.delete(did)
        s.flush()
        return number

    return write(change, "did.deleted", lambda n: {"did": n})


@bp.get("/admin/dids")
@login_required(*ADMIN)
def index() -> Any:
    args = list_args()
    try:
        rows, page = _listing(args)
    except InvalidFields:
        rows, page = _listing({**args, "sort": None})
    return render_template("admin_dids.html", rows=rows, page=page, args=args)


def _form(did_id: int | None, values: dict[str, Any], errors: dict[str, str],
          problems: list[str]) -> str:
    tid = current_user().tenant_id
    with services().sessions() as s:
        phones = [(p.id, p.extension, p.name) for p, _login in
                  store.phones(s, tid, None, "extension", 1, 1000).rows]
        flows = [(f.id, f.name) for f in store.flows(s, tid)]
        queues = [(q.id, q.name) for q in store.queues(s, tid)]
        trunks = [(t.id, t.name) for t in store.trunks(s, tid)]
    return render_template("admin_did_form.html", did_id=did_id, values=values, errors=errors,
                           problems=problems, phones=phones, flows=flows, queues=queues,
                           trunks=trunks)


@bp.route("/admin/dids/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def create() -> Any:
    return _edit(None)


@bp.route("/admin/dids/<int:did_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def edit(did_id: int) -> Any:
    return _edit(did_id)


def _edit(did_id: int | None) -> Any:
    if request.method == "GET":
        values: dict[str, Any] = {"prompt": "sound:hello-world"}
        if did_id is not None:
            with services().sessions() as s:
                values = service.did_json(store.did(s, current_user().tenant_id, did_id))
        return _form(did_id, values, {}, [])
    values = form_values()
    # The form picks the target kind with a radio; only that kind's field counts.
    target = values.pop("target", None)
    values["phone_id"] = values.get("phone_id") if target == "phone" else None
    values["flow_id"] = values.get("flow_id") if target == "flow" else None
    values["queue_id"] = values.get("queue_id") if target == "queue" else None
    if target != "phone":  # the greeting plays only before a phone rings: keep what is stored
        values.pop("prompt", None)
    try:
        saved, applied = _save(did_id, values)
    except InvalidFields as err:
        return _form(did_id, {**values, "target": target}, err.by_field(), []), 422
    except ConfigRefused as err:
        return _form(did_id, {**values, "target": target}, {}, [str(p) for p in err.problems]), 422
    flash_applied(applied, _("DID saved"))
    return redirect(url_for("admin_dids.edit", did_id=saved))


@bp.post("/admin/dids/<int:did_id>/delete")
@login_required(*ADMIN)
def delete(did_id: int) -> BaseResponse:
    _number, applied = _delete(did_id)
    flash_applied(applied, _("DID deleted"))
    return redirect(url_for("admin_dids.index"))


@bp.get("/api/v1/dids")
@login_required(*ADMIN)
@validated(query=ListQuery)
def api_list(query: ListQuery) -> Any:
    rows, page = _listing(query.model_dump())
    return jsonify({"dids": rows, **page.meta()})


@bp.post("/api/v1/dids")
@login_required(*ADMIN)
@validated(body=DidBody)
def api_create(body: DidBody) -> Any:
    _refuse_prompt_without_phone(None, body.given())
    saved, applied = _save(None, body.given())
    return _api_did(saved, applied), 201


@bp.get("/api/v1/dids/<int:did_id>")
@login_required(*ADMIN)
@validated()
def api_get(did_id: int) -> Any:
    return _api_did(did_id, None)


@bp.put("/api/v1/dids/<int:did_id>")
@login_required(*ADMIN)
@validated(body=DidBody)
def api_update(did_id: int, body: DidBody) -> Any:
    """Fields not sent keep their value; to switch target send the new one and null the other.
    ``prompt`` (the greeting before a phone rings) is refused for a queue or flow target."""
    _refuse_prompt_without_phone(did_id, body.given())
    saved, applied = _save(did_id, body.given())
    return _api_did(saved, applied)


@bp.delete("/api/v1/dids/<int:did_id>")
@login_required(*ADMIN)
@validated()
def api_delete(did_id: int) -> Any:
    _number, applied = _delete(did_id)
    return jsonify({"deleted": did_id, "applied": applied.to_json() if applied else None})


def _refuse_prompt_without_phone(did_id: int | None, values: dict[str, Any]) -> None:
    """A greeting (``prompt``) is played only before a phone rings: refuse one sent for a
    DID that routes to a queue or an IVR flow, rather than store what never plays."""
    if values.get("prompt") is None:
        return
    phone = values.get("phone_id")
    if "phone_id" not in values and did_id is not None:
        with services().sessions() as s:
            phone = store.did(s, current_user().tenant_id, did_id).phone_endpoint_id
    if phone is None:
        raise Invalid([FieldProblem(
            "prompt", "a greeting is played only before a phone rings; leave 'prompt' out "
            "for a DID routed to a queue or an IVR flow", "/prompt")])


def _api_did(did_id: int, applied: Any) -> Any:
    with services().sessions() as s:
        out: dict[str, Any] = {"did": service.did_json(store.did(s, current_user().tenant_id, did_id))}
    if applied is not None:
        out["applied"] = applied.to_json()
    return jsonify(out)
