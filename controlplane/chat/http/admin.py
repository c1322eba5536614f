"""Chat settings in the panel and the API: the tenant's widgets and canned responses.

``/admin/chat`` lists the widgets (each with the one ``<script>`` tag to paste into a
website) and adds one; ``/admin/chat/widgets/<id>`` edits everything a widget has (queue,
websites, looks, greetings, pre-chat fields, opening hours, survey);
``/admin/chat/canned`` the canned responses. API: ``/api/v1/chat/widgets[/<id>]`` and
``/api/v1/chat/canned-responses[/<id>]`` (reading canned responses is every role's: agents
use them; everything else is the admins'). Every change is audited
(``admin.http.common.write``: nothing of Asterisk or the ACD is involved).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin.exceptions import InvalidFields
from controlplane.admin.http.common import ADMIN, flash_applied, write
from controlplane.chat import canned, widget_settings
from controlplane.chat.schemas import CannedBody, WidgetBody
from controlplane.ivr.calendar_store import calendars
from controlplane.models.acd import Queue
from controlplane.models.chat_widgets import FORM_FIELDS
from web.auth import current_user, login_required
from web.errors import Invalid
from web.services import services
from web.validation import parse, validated

bp = Blueprint("chat_admin", __name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _save_widget(widget_id: int | None, values: dict[str, Any]) -> int:
    tid = current_user().tenant_id

    def change(s: Session) -> tuple[int, str]:
        row = widget_settings.widget(s, tid, widget_id) if widget_id is not None else None
        saved = widget_settings.save(s, tid, row, values)
        return saved.id, saved.name

    (saved, _name), _applied = write(change, "chat_widget.saved",
                                     lambda r: {"id": r[0], "name": r[1]},
                                     asterisk=False, acd=False)
    return saved


def _delete_widget(widget_id: int) -> None:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        row = widget_settings.widget(s, tid, widget_id)
        s.delete(row)
        s.flush()
        return row.name

    write(change, "chat_widget.deleted", lambda name: {"id": widget_id, "name": name},
          asterisk=False, acd=False)


def _save_canned(canned_id: int | None, values: dict[str, Any]) -> int:
    tid = current_user().tenant_id

    def change(s: Session) -> tuple[int, str]:
        row = canned.response(s, tid, canned_id) if canned_id is not None else None
        saved = canned.save(s, tid, row, values)
        return saved.id, saved.shortcut

    (saved, _short), _applied = write(change, "chat_canned.saved",
                                      lambda r: {"id": r[0], "shortcut": r[1]},
                                      asterisk=False, acd=False)
    return saved


def _delete_canned(canned_id: int) -> None:
    tid = current_user().tenant_id

    def change(s: Session) -> str:
        row = canned.response(s, tid, canned_id)
        s.delete(row)
        s.flush()
        return row.shortcut

    write(change, "chat_canned.deleted", lambda short: {"id": canned_id, "shortcut": short},
          asterisk=False, acd=False)


def _queues() -> list[tuple[int, str]]:
    with services().sessions() as s:
        return [(q.id, q.name) for q in s.scalars(
            select(Queue).where(Queue.tenant_id == current_user().tenant_id).order_by(Queue.name))]


def _widget_form() -> dict[str, Any]:
    """The edit form as a :class:`WidgetBody` document (types as the API takes them)."""
    f = request.form
    doc: dict[str, Any] = {
        "name": f.get("name", "").strip(), "title": f.get("title", "").strip(),
        "color": f.get("color", "#1f6feb"),
        "queue_id": int(f["queue_id"]) if f.get("queue_id", "").isdigit() else None,
        "origins": [o.strip() for o in f.get("origins", "").splitlines() if o.strip()],
        "greetings": {k: f.get(f"greeting_{k}", "").strip()
                      for k in ("new", "returning", "identified")},
        "form_fields": {k: f.get(f"field_{k}", "optional") for k in FORM_FIELDS},
        "survey": f.get("survey") == "on", "active": f.get("active") == "on",
        "hours": None,
    }
    if f.get("hours_on") == "on":
        doc["hours"] = {"days": [d for d in WEEKDAYS if f.get(f"day_{d}") == "on"],
                        "from": f.get("hours_from", ""), "to": f.get("hours_to", ""),
                        "holidays": f.get("hours_holidays") == "on",
                        "calendars": [c.strip() for c in f.get("hours_calendars", "").split(",")
                                      if c.strip()]}
    return doc


def _values(doc: dict[str, Any]) -> dict[str, Any]:
    body = parse(WidgetBody, doc)
    values = body.given()
    if body.hours is not None:
        values["hours"] = body.hours.model_dump(by_alias=True)
    return values


def _errors_of(err: Invalid | InvalidFields) -> dict[str, str]:
    if isinstance(err, InvalidFields):
        return err.by_field()
    return {p.field: p.message for p in err.problems}


@bp.route("/admin/chat", methods=["GET", "POST"])
@login_required(*ADMIN)
def index() -> Any:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = {"name": request.form.get("name", "").strip()}
        try:
            widget_id = _save_widget(None, _values({"name": form["name"]}))
            flash_applied(None, _("Chat widget added"))
            return redirect(url_for("chat_admin.edit", widget_id=widget_id))
        except (Invalid, InvalidFields) as err:
            errors = _errors_of(err)
    with services().sessions() as s:
        rows = [widget_settings.as_json(w) for w in
                widget_settings.widgets(s, current_user().tenant_id)]
    base = request.host_url.rstrip("/")
    return render_template("admin_chat.html", rows=rows, errors=errors, form=form,
                           base=base), 422 if errors else 200


@bp.route("/admin/chat/widgets/<int:widget_id>", methods=["GET", "POST"])
@login_required(*ADMIN)
def edit(widget_id: int) -> Any:
    errors: dict[str, str] = {}
    tid = current_user().tenant_id
    if request.method == "POST":
        doc = _widget_form()
        try:
            _save_widget(widget_id, _values(doc))
            flash_applied(None, _("Chat widget saved"))
            return redirect(url_for("chat_admin.edit", widget_id=widget_id))
        except (Invalid, InvalidFields) as err:
            errors = _errors_of(err)
    with services().sessions() as s:
        row = widget_settings.as_json(widget_settings.widget(s, tid, widget_id), secret=True)
        names = sorted(calendars(s, tid))
    if request.method == "POST":
        row.update({k: v for k, v in _widget_form().items() if k != "hours"})
    return render_template("admin_chat_widget.html", w=row, errors=errors, queues=_queues(),
                           weekdays=WEEKDAYS, calendars=names,
                           base=request.host_url.rstrip("/")), 422 if errors else 200


@bp.post("/admin/chat/widgets/<int:widget_id>/delete")
@login_required(*ADMIN)
def delete(widget_id: int) -> BaseResponse:
    _delete_widget(widget_id)
    flash_applied(None, _("Chat widget removed"))
    return redirect(url_for("chat_admin.index"))


@bp.route("/admin/chat/canned", methods=["GET", "POST"])
@login_required(*ADMIN)
def canned_page() -> Any:
    errors: dict[str, str] = {}
    form: dict[str, Any] = {}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in ("shortcut", "title", "body")}
        try:
            body = parse(CannedBody, {k: v for k, v in form.items() if v})
            _save_canned(None, body.given())
            flash_applied(None, _("Canned response added"))
            return redirect(url_for("chat_admin.canned_page"))
        except (Invalid, InvalidFields) as err:
            errors = _errors_of(err)
    with services().sessions() as s:
        rows = [canned.as_json(r) for r in canned.responses(s, current_user().tenant_id)]
    return render_template("admin_chat_canned.html", rows=rows, errors=errors, form=form,
                           parameters=canned.PARAMETERS), 422 if errors else 200


@bp.post("/admin/chat/canned/<int:canned_id>/delete")
@login_required(*ADMIN)
def canned_delete(canned_id: int) -> BaseResponse:
    _delete_canned(canned_id)
    flash_applied(None, _("Canned response removed"))
    return redirect(url_for("chat_admin.canned_page"))


# ---- API ----

@bp.get("/api/v1/chat/widgets")
@login_required(*ADMIN)
@validated()
def api_widgets() -> Any:
    with services().sessions() as s:
        return jsonify({"widgets": [widget_settings.as_json(w) for w in
                                    widget_settings.widgets(s, current_user().tenant_id)]})


@bp.post("/api/v1/chat/widgets")
@login_required(*ADMIN)
@validated(body=WidgetBody)
def api_widget_create(body: WidgetBody) -> Any:
    return _widget_one(_save_widget(None, _given(body)), secret=True), 201


@bp.get("/api/v1/chat/widgets/<int:widget_id>")
@login_required(*ADMIN)
@validated()
def api_widget_get(widget_id: int) -> Any:
    return _widget_one(widget_id, secret=True)


@bp.put("/api/v1/chat/widgets/<int:widget_id>")
@login_required(*ADMIN)
@validated(body=WidgetBody)
def api_widget_update(widget_id: int, body: WidgetBody) -> Any:
    return _widget_one(_save_widget(widget_id, _given(body)))


@bp.delete("/api/v1/chat/widgets/<int:widget_id>")
@login_required(*ADMIN)
@validated()
def api_widget_delete(widget_id: int) -> Any:
    _delete_widget(widget_id)
    return jsonify({"deleted": widget_id})


def _given(body: WidgetBody) -> dict[str, Any]:
    values = body.given()
    if body.hours is not None:
        values["hours"] = body.hours.model_dump(by_alias=True)
    return values


def _widget_one(widget_id: int, *, secret: bool = False) -> Any:
    with services().sessions() as s:
        row = widget_settings.widget(s, current_user().tenant_id, widget_id)
        return jsonify({"widget": widget_settings.as_json(row, secret=secret)})


@bp.get("/api/v1/chat/canned-responses")
@login_required()
@validated()
def api_canned() -> Any:
    with services().sessions() as s:
        return jsonify({"canned_responses": [canned.as_json(r) for r in
                                             canned.responses(s, current_user().tenant_id)]})


@bp.post("/api/v1/chat/canned-responses")
@login_required(*ADMIN)
@validated(body=CannedBody)
def api_canned_create(body: CannedBody) -> Any:
    return _canned_one(_save_canned(None, body.given())), 201


@bp.get("/api/v1/chat/canned-responses/<int:canned_id>")
@login_required()
@validated()
def api_canned_get(canned_id: int) -> Any:
    return _canned_one(canned_id)


@bp.put("/api/v1/chat/canned-responses/<int:canned_id>")
@login_required(*ADMIN)
@validated(body=CannedBody)
def api_canned_update(canned_id: int, body: CannedBody) -> Any:
    return _canned_one(_save_canned(canned_id, body.given()))


@bp.delete("/api/v1/chat/canned-responses/<int:canned_id>")
@login_required(*ADMIN)
@validated()
def api_canned_delete(canned_id: int) -> Any:
    _delete_canned(canned_id)
    return jsonify({"deleted": canned_id})


def _canned_one(canned_id: int) -> Any:
    with services().sessions() as s:
        row = canned.response(s, current_user().tenant_id, canned_id)
        return jsonify({"canned_response": canned.as_json(row)})
