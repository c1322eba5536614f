"""Trunks in the panel and the API (:mod:`controlplane.admin.trunks` holds the rules).

Pages (admins): ``/admin/trunks``, ``/admin/trunks/new``, ``/admin/trunks/<id>`` (edit,
delete). API: ``GET|POST /api/v1/trunks``, ``GET|PUT|DELETE /api/v1/trunks/<id>``. The
carrier's password is taken, never shown. Every change goes through the admin write path
(rendered before the commit, applied after: PJSIP reloaded).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin import store, trunks
from controlplane.admin.exceptions import ConfigRefused, InvalidFields
from controlplane.admin.http.common import ADMIN, flash_applied, form_values, list_args, write
from controlplane.admin.schemas import ListQuery, TrunkBody
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("admin_trunks", __name__)


def _listing(args: dict[str, Any]) -> tuple[list[dict[str, Any]], store.Page]:
    with services().sessions() as s:
        page = store.trunks_page(s, current_user().tenant_id, **args)
        return [trunks.trunk_json(t) for (t,) in page.rows], page


def _save(trunk_id: int | None, values: dict[str, Any]) -> tuple[int, Any]:
    me = current_user()
    values = {k.rstrip("_"): v for k, v in values.items()}  # TrunkBody's register_

    def change(s: Session) -> tuple[int, str]:
        row = store.trunk(s, me.tenant_id, trunk_id) if trunk_id is not None else None
        saved = trunks.save_trunk(s, me.tenant_id, me.tenant_domain, row, values)
        return saved.id, saved.name

    (saved, _name), applied = write(
        change, "trunk.created" if trunk_id is None else "trunk.updated",
        lambda r: {"trunk": r[1], "fields": sorted(values)})  # never the secret itself
    return saved, applied


def _delete(trunk_id: int) -> Any:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        row = store.trunk(s, tid, trunk_id)
        name = row.name
        trunks.delete_trunk(s, row)
        return name

    return write(change, "trunk.deleted", lambda n: {"trunk": n})


@bp.get("/admin/trunks")
@login_required(*ADMIN)
def index() -> Any:
    args = list_args()
    try:
        rows, page = _listing(args)
    except InvalidFields:
        rows, page = _listing({**args, "sort": None})
    return render_template("admin_trunks.html", rows=rows, page=page, args=args)


def _form(trunk_id: int | None, values: dict[str, Any], errors: dict[str, str],
          problems: list[str]) -> str:
    values = {k: v for k, v in values.items() if k != "secret"}  # never echoed back
    return render_template("admin_trunk_form.html", trunk_id=trunk_id, values=values,
                           errors=errors, problems=problems)


@bp.route("/admin/trunks/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def create() -> Any:
    return _edit(None)


@bp.route("/admin/trunks/<int:trunk_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def edit(trunk_id: int) -> Any:
    return _edit(trunk_id)


def _edit(trunk_id: int | None) -> Any:
    if request.method == "GET":
        values: dict[str, Any] = {"port": 5060, "transport": "udp", "register": True,
                                  "channels": 30}
        if trunk_id is not None:
            with services().sessions() as s:
                values = trunks.trunk_json(store.trunk(s, current_user().tenant_id, trunk_id))
        return _form(trunk_id, values, {}, [])
    values = form_values()
    values["register"] = "register" in request.form  # an unticked box is not sent
    try:
        saved, applied = _save(trunk_id, values)
    except InvalidFields as err:
        return _form(trunk_id, values, err.by_field(), []), 422
    except ConfigRefused as err:
        return _form(trunk_id, values, {}, [str(p) for p in err.problems]), 422
    flash_applied(applied, _("Trunk saved"))
    return redirect(url_for("admin_trunks.edit", trunk_id=saved))


@bp.post("/admin/trunks/<int:trunk_id>/delete")
@login_required(*ADMIN)
def delete(trunk_id: int) -> BaseResponse:
    _name, applied = _delete(trunk_id)
    flash_applied(applied, _("Trunk deleted"))
    return redirect(url_for("admin_trunks.index"))


@bp.get("/api/v1/trunks")
@login_required(*ADMIN)
@validated(query=ListQuery)
def api_list(query: ListQuery) -> Any:
    rows, page = _listing(query.model_dump())
    return jsonify({"trunks": rows, **page.meta()})


@bp.post("/api/v1/trunks")
@login_required(*ADMIN)
@validated(body=TrunkBody)
def api_create(body: TrunkBody) -> Any:
    saved, applied = _save(None, body.given())
    return _api_one(saved, applied), 201


@bp.get("/api/v1/trunks/<int:trunk_id>")
@login_required(*ADMIN)
@validated()
def api_get(trunk_id: int) -> Any:
    return _api_one(trunk_id, None)


@bp.put("/api/v1/trunks/<int:trunk_id>")
@login_required(*ADMIN)
@validated(body=TrunkBody)
def api_update(trunk_id: int, body: TrunkBody) -> Any:
    """Fields not sent keep their value (the password too)."""
    saved, applied = _save(trunk_id, body.given())
    return _api_one(saved, applied)


@bp.delete("/api/v1/trunks/<int:trunk_id>")
@login_required(*ADMIN)
@validated()
def api_delete(trunk_id: int) -> Any:
    _name, applied = _delete(trunk_id)
    return jsonify({"deleted": trunk_id, "applied": applied.to_json() if applied else None})


def _api_one(trunk_id: int, applied: Any) -> Any:
    with services().sessions() as s:
        out: dict[str, Any] = {"trunk": trunks.trunk_json(store.trunk(s, current_user().tenant_id,
                                                                      trunk_id))}
    if applied is not None:
        out["applied"] = applied.to_json()
    return jsonify(out)
