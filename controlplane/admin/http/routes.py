"""Outbound routes in the panel and the API (:mod:`controlplane.admin.routes` holds the rules).

Pages (admins): ``/admin/routes`` (the routes in order, moved up and down),
``/admin/routes/new``, ``/admin/routes/<id>`` (edit, delete after a confirmation). API:
``GET|POST /api/v1/outbound-routes``, ``GET|PUT|DELETE /api/v1/outbound-routes/<id>``.
Every change is audited (``route.created|updated|moved|deleted``) through the admin write
path, without touching Asterisk (``asterisk=False``): the dial string of a call is built
from the routes when the call is made (:mod:`controlplane.admin.route_store`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin import routes
from controlplane.admin.exceptions import InvalidFields
from controlplane.admin.http.common import ADMIN, form_values, write
from controlplane.admin.route_schemas import OutboundRouteBody
from controlplane.admin.schemas import ListQuery
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("admin_routes", __name__)
FORM_TRUNKS = 3  # trunk choosers on the form: the primary and two failovers


def _save(route_id: int | None, values: dict[str, Any]) -> int:
    tid = current_user().tenant_id

    def change(s: Session) -> tuple[int, str]:
        row = routes.route(s, tid, route_id) if route_id is not None else None
        saved = routes.save_route(s, tid, row, values)
        return saved.id, saved.name

    (saved, _name), _applied = write(
        change, "route.created" if route_id is None else "route.updated",
        lambda r: {"route": r[1], "fields": sorted(values)}, asterisk=False)
    return saved


def _delete(route_id: int) -> str:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        row = routes.route(s, tid, route_id)
        name = row.name
        routes.delete_route(s, tid, row)
        return name

    name, _applied = write(change, "route.deleted", lambda n: {"route": n}, asterisk=False)
    return name


def _one(route_id: int) -> dict[str, Any]:
    tid = current_user().tenant_id
    with services().sessions() as s:
        return routes.route_json(routes.route(s, tid, route_id), routes.trunk_names(s, tid))


# ---- pages ----

@bp.get("/admin/routes")
@login_required(*ADMIN)
def index() -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        rows = routes.routes(s, tid)
        names = routes.trunk_names(s, tid)
        shown = [routes.route_json(r, names) for r in rows]
        catch_all = routes.has_catch_all(rows)
    return render_template("admin_routes.html", rows=shown, catch_all=catch_all,
                           has_trunks=bool(names))


@bp.route("/admin/routes/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def create() -> Any:
    return _edit(None)


@bp.route("/admin/routes/<int:route_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def edit(route_id: int) -> Any:
    return _edit(route_id)


def _form(route_id: int | None, values: dict[str, Any], errors: dict[str, str]) -> str:
    with services().sessions() as s:
        names = routes.trunk_names(s, current_user().tenant_id)
    chosen = list(values.get("trunk_ids") or [])
    chosen += [None] * (FORM_TRUNKS - len(chosen))
    return render_template("admin_route_form.html", route_id=route_id, values=values,
                           errors=errors, trunks=names, chosen=chosen[:FORM_TRUNKS])


def _posted() -> dict[str, Any]:
    """The form as the rules take it: prefixes as text, the chosen trunks in order."""
    raw = form_values()
    trunk_ids = [raw.pop(f"trunk_{n}", None) for n in range(1, FORM_TRUNKS + 1)]
    values = {k: raw.get(k) for k in ("name", "prefixes", "strip", "prepend", "caller_id")}
    values["trunk_ids"] = [t for t in trunk_ids if t]
    values["enabled"] = "enabled" in request.form  # an unticked box is not sent
    return values


def _edit(route_id: int | None) -> Any:
    if request.method == "GET":
        values: dict[str, Any] = {"enabled": True, "strip": 0, "prefixes": ""}
        if route_id is not None:
            values = _one(route_id)
            values["prefixes"] = ", ".join(values["prefixes"])
        return _form(route_id, values, {})
    values = _posted()
    try:
        saved = _save(route_id, values)
    except InvalidFields as err:
        shown = {**values, "trunk_ids": [_int(t) for t in values["trunk_ids"]]}
        return _form(route_id, shown, err.by_field()), 422
    flash(_("Route saved"), "ok")
    return redirect(url_for("admin_routes.index", _anchor=f"route-{saved}"))


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


@bp.post("/admin/routes/<int:route_id>/move")
@login_required(*ADMIN)
def move(route_id: int) -> BaseResponse:
    step = -1 if request.form.get("direction") == "up" else 1
    tid = current_user().tenant_id

    def change(s: Session) -> tuple[str, int]:
        row = routes.move(s, tid, route_id, step)
        return row.name, row.position

    write(change, "route.moved", lambda r: {"route": r[0], "position": r[1]}, asterisk=False)
    return redirect(url_for("admin_routes.index"))


@bp.post("/admin/routes/<int:route_id>/delete")
@login_required(*ADMIN)
def delete(route_id: int) -> BaseResponse:
    name = _delete(route_id)
    flash(_("Route %(name)s deleted", name=name), "ok")
    return redirect(url_for("admin_routes.index"))


# ---- API ----

@bp.get("/api/v1/outbound-routes")
@login_required(*ADMIN)
@validated(query=ListQuery)
def api_list(query: ListQuery) -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        page = routes.routes_page(s, tid, **query.model_dump())
        names = routes.trunk_names(s, tid)
        rows = [routes.route_json(r, names) for (r,) in page.rows]
    return jsonify({"outbound_routes": rows, **page.meta()})


@bp.post("/api/v1/outbound-routes")
@login_required(*ADMIN)
@validated(body=OutboundRouteBody)
def api_create(body: OutboundRouteBody) -> Any:
    return jsonify({"outbound_route": _one(_save(None, body.given()))}), 201


@bp.get("/api/v1/outbound-routes/<int:route_id>")
@login_required(*ADMIN)
@validated()
def api_get(route_id: int) -> Any:
    return jsonify({"outbound_route": _one(route_id)})


@bp.put("/api/v1/outbound-routes/<int:route_id>")
@login_required(*ADMIN)
@validated(body=OutboundRouteBody)
def api_update(route_id: int, body: OutboundRouteBody) -> Any:
    """Fields not sent keep their value; ``position`` moves the route in the order."""
    return jsonify({"outbound_route": _one(_save(route_id, body.given()))})


@bp.delete("/api/v1/outbound-routes/<int:route_id>")
@login_required(*ADMIN)
@validated()
def api_delete(route_id: int) -> Any:
    _delete(route_id)
    return jsonify({"deleted": route_id})
