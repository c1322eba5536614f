"""The desk's lists in ``/api/v1``: categories, response templates, saved views.

* ``GET /ticket-categories`` (every role), ``POST``, ``PATCH /ticket-categories/<id>``
  (admins and supervisors);
* ``GET /ticket-templates`` (every role: agents use them), ``POST``,
  ``PATCH|DELETE /ticket-templates/<id>`` (admins and supervisors); a template that does
  not render is 400 ``template_invalid`` naming the parameter;
* ``POST /tickets/<id>/render`` ``{"template_id"}``: the template's text for the ticket;
* ``GET|POST /ticket-views``, ``DELETE /ticket-views/<id>``: the user's own saved views.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from controlplane.desk import catalog, store, templates
from controlplane.desk.http import common
from controlplane.desk.http.common import ROLES, SUPERVISING
from controlplane.desk.schemas import (
    CategoryBody,
    CategoryList,
    CategoryResponse,
    Deleted,
    RenderBody,
    RenderResponse,
    TemplateBody,
    TemplateList,
    TemplateResponse,
    ViewBody,
    ViewList,
    ViewResponse,
)
from controlplane.models.desk import TicketTemplate
from web.api.responses import responds
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("desk_catalog", __name__, url_prefix="/api/v1")


@bp.get("/ticket-categories")
@login_required(*ROLES)
@validated()
@responds(CategoryList)
def categories() -> Any:
    with services().sessions() as s:
        rows = store.categories(s, current_user().tenant_id)
        return jsonify({"categories": [catalog.category_json(c) for c in rows]})


@bp.post("/ticket-categories")
@login_required(*SUPERVISING)
@validated(body=CategoryBody)
@responds(CategoryResponse, 201)
def category_create(body: CategoryBody) -> Any:
    out = common.write(lambda s, v: catalog.category_json(
        catalog.save_category(s, v.tenant_id, None, body.given())),
        "ticket.category_saved", lambda c: {"category": c["id"]})
    return jsonify({"category": out}), 201


@bp.patch("/ticket-categories/<int:category_id>")
@login_required(*SUPERVISING)
@validated(body=CategoryBody)
@responds(CategoryResponse)
def category_update(category_id: int, body: CategoryBody) -> Any:
    out = common.write(lambda s, v: catalog.category_json(
        catalog.save_category(s, v.tenant_id, category_id, body.given())),
        "ticket.category_saved", lambda c: {"category": c["id"]})
    return jsonify({"category": out})


@bp.get("/ticket-templates")
@login_required(*ROLES)
@validated()
@responds(TemplateList)
def template_list() -> Any:
    with services().sessions() as s:
        rows = catalog.list_templates(s, current_user().tenant_id)
        return jsonify({"templates": [catalog.template_json(t) for t in rows],
                        "parameters": list(templates.PARAMETERS)})


@bp.post("/ticket-templates")
@login_required(*SUPERVISING)
@validated(body=TemplateBody)
@responds(TemplateResponse, 201)
def template_create(body: TemplateBody) -> Any:
    out = common.write(lambda s, v: catalog.template_json(
        catalog.save_template(s, v.tenant_id, None, body.given())),
        "ticket.template_saved", lambda t: {"template": t["id"]})
    return jsonify({"template": out}), 201


@bp.patch("/ticket-templates/<int:template_id>")
@login_required(*SUPERVISING)
@validated(body=TemplateBody)
@responds(TemplateResponse)
def template_update(template_id: int, body: TemplateBody) -> Any:
    out = common.write(lambda s, v: catalog.template_json(
        catalog.save_template(s, v.tenant_id, template_id, body.given())),
        "ticket.template_saved", lambda t: {"template": t["id"]})
    return jsonify({"template": out})


@bp.delete("/ticket-templates/<int:template_id>")
@login_required(*SUPERVISING)
@validated()
@responds(Deleted)
def template_delete(template_id: int) -> Any:
    def run(s: Any, v: Any) -> int:
        row: TicketTemplate = catalog.template(s, v.tenant_id, template_id)
        s.delete(row)
        return template_id
    common.write(run, "ticket.template_deleted", lambda i: {"template": i})
    return jsonify({"deleted": template_id})


@bp.post("/tickets/<int:ticket_id>/render")
@login_required(*ROLES)
@validated(body=RenderBody)
@responds(RenderResponse)
def api_render(ticket_id: int, body: RenderBody) -> Any:
    return jsonify({"text": common.render(ticket_id, body.template_id)})


@bp.get("/ticket-views")
@login_required(*ROLES)
@validated()
@responds(ViewList)
def view_list() -> Any:
    return jsonify({"views": common.my_views()})


@bp.post("/ticket-views")
@login_required(*ROLES)
@validated(body=ViewBody)
@responds(ViewResponse, 201)
def view_create(body: ViewBody) -> Any:
    filters = body.model_dump(exclude_unset=True, exclude={"name"})
    out = common.write(lambda s, v: catalog.view_json(catalog.save_view(s, v, body.name,
                                                                        filters)),
                       "ticket.view_saved", lambda x: {"view": x["id"]})
    return jsonify({"view": out}), 201


@bp.delete("/ticket-views/<int:view_id>")
@login_required(*ROLES)
@validated()
@responds(Deleted)
def view_delete(view_id: int) -> Any:
    common.write(lambda s, v: catalog.delete_view(s, v, view_id), "ticket.view_deleted",
                 lambda _: {"view": view_id})
    return jsonify({"deleted": view_id})
