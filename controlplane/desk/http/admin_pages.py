"""The desk's setup pages for admins and supervisors: ``/tickets/setup`` lists the
tenant's categories and response templates, with forms to add, rename, switch off and
edit them (the same operations as ``/api/v1/ticket-categories`` and
``/api/v1/ticket-templates``). A template that does not render is refused with the
message naming the parameter, and the form keeps what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.desk import catalog, store, templates
from controlplane.desk.exceptions import DeskNotFound, InvalidFields, TemplateInvalid
from controlplane.desk.http import common
from controlplane.desk.http.common import SUPERVISING
from web.auth import current_user, login_required
from web.services import services

bp = Blueprint("desk_admin", __name__)


def _page(status: int = 200, **form: Any) -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        cats = [catalog.category_json(c) for c in store.categories(s, tid)]
        tpls = [catalog.template_json(t) for t in catalog.list_templates(s, tid)]
    return render_template("ticket_setup.html", categories=cats, templates=tpls,
                           parameters=templates.PARAMETERS, form=form), status


@bp.get("/tickets/setup")
@login_required(*SUPERVISING)
def categories() -> Any:
    return _page()


@bp.post("/tickets/setup/categories")
@login_required(*SUPERVISING)
def category_save() -> Any:
    raw_id = request.form.get("id", "")
    values = {"name": request.form.get("name", "").strip()[:100] or None,
              "active": request.form.get("active") == "1"}
    try:
        common.write(lambda s, v: catalog.save_category(
            s, v.tenant_id, int(raw_id) if raw_id.isdigit() else None, values).id,
            "ticket.category_saved", lambda i: {"category": i})
    except (InvalidFields, DeskNotFound) as err:
        flash(_("The category was not saved: %(message)s", message=err.message), "error")
        return redirect(url_for("desk_admin.categories"))
    flash(_("Category saved"), "ok")
    return redirect(url_for("desk_admin.categories"))


@bp.post("/tickets/setup/templates")
@login_required(*SUPERVISING)
def template_save() -> Any:
    raw_id = request.form.get("id", "")
    values = {"name": request.form.get("name", "").strip()[:100],
              "body": request.form.get("body", "")[:20_000],
              "active": request.form.get("active") == "1"}
    try:
        common.write(lambda s, v: catalog.save_template(
            s, v.tenant_id, int(raw_id) if raw_id.isdigit() else None, values).id,
            "ticket.template_saved", lambda i: {"template": i})
    except TemplateInvalid as err:
        return _page(400, template_error=err.message, **values, id=raw_id)
    except (InvalidFields, DeskNotFound) as err:
        return _page(422, template_error=err.message, **values, id=raw_id)
    flash(_("Template saved"), "ok")
    return redirect(url_for("desk_admin.categories"))


@bp.post("/tickets/setup/templates/<int:template_id>/delete")
@login_required(*SUPERVISING)
def template_delete(template_id: int) -> BaseResponse:
    def run(s: Any, v: Any) -> int:
        s.delete(catalog.template(s, v.tenant_id, template_id))
        return template_id
    common.write(run, "ticket.template_deleted", lambda i: {"template": i})
    flash(_("Template deleted"), "ok")
    return redirect(url_for("desk_admin.categories"))
