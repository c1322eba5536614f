"""Incidents in the panel and the API: report, list, show with clocks, operator's events.

Pages: ``/sla/incidents`` (list), ``/sla/incidents/new`` (any user of a tenant reports;
the seed's examples as presets), ``/sla/incidents/<id>`` (the reaction and repair deadlines
in the tenant's zone, the clock events; the operator's form to record the next event).
API: ``GET|POST /api/v1/sla/incidents``, ``GET /api/v1/sla/incidents/<id>``,
``POST /api/v1/sla/incidents/<id>/events`` (operator).

Scoping is :func:`controlplane.sla.incidents.visible`'s; the deadlines come from the
tenant's level (:func:`controlplane.sla.terms.clocks`), none when it has no SLA settings.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from sqlalchemy.orm import Session

from controlplane.db import transaction
from controlplane.models import Role, Tenant
from controlplane.models.sla import SlaIncident
from controlplane.sla import incidents, presets, store, terms
from controlplane.sla.calendar import Level
from controlplane.sla.http import labels
from controlplane.sla.http.pages import PRIORITIES, STATUSES
from controlplane.sla.http.schemas import (
    EventBody,
    EventForm,
    IncidentBody,
    IncidentForm,
    IncidentList,
    IncidentOut,
)
from web.api.responses import responds
from web.auth import client_address, current_user, login_required
from web.errors import FieldProblem, Invalid
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form, validated

bp = Blueprint("sla_incidents", __name__)

REPORTERS = (Role.ADMIN, Role.SUPERVISOR, Role.AGENT)
EVERYONE = (*REPORTERS, Role.OPERATOR)


def _viewer() -> incidents.Viewer:
    me = current_user()
    return incidents.Viewer(me.tenant_id, me.role, me.address)


def _detail(s: Session, row: SlaIncident) -> dict[str, Any]:
    """The incident as the page and the API show it, with its deadlines."""
    now = clock(current_app)
    tenant = s.get(Tenant, row.tenant_id)
    assert tenant is not None
    facts, events = store.incident_facts(s, row, now)
    settings = store.settings_of(s, row.tenant_id)
    reaction = repair = None
    if settings is not None:
        due = terms.clocks(Level(settings.level), facts, tenant.time_zone)
        reaction, repair = due.reaction_due, due.repair_due
    late = repair is not None and (facts.repaired_at or now) > repair
    return {"id": row.id, "tenant": tenant.domain, "priority": row.priority,
            "preset": row.preset, "title": row.title, "description": row.description,
            "status": row.status, "source": row.source, "opened_at": row.opened_at,
            "reported_by": row.reported_by, "reaction_due": reaction, "repair_due": repair,
            "late": late, "level": settings.level if settings else None,
            "time_zone": tenant.time_zone,
            "events": [{"kind": e.kind, "at": e.at, "actor": e.actor, "note": e.note}
                       for e in events]}


def _json(d: dict[str, Any]) -> dict[str, Any]:
    return IncidentOut.model_validate(d).model_dump(mode="json")


def _report(preset: str | None, priority: str | None, title: str | None,
            description: str) -> int:
    """Report a failure for the current user's tenant; returns the incident's id."""
    chosen = presets.priority_of(preset, priority)
    problems = []
    if chosen is None:
        problems.append(FieldProblem("priority", "required when no preset (or 'other') is "
                                     "chosen", "/priority"))
    if not (title or "").strip() and (not preset or preset == presets.OTHER):
        problems.append(FieldProblem("title", "required when no preset is chosen", "/title"))
    if problems:
        raise Invalid(problems)
    assert chosen is not None
    if not (title or "").strip():
        title = str(labels.PRESET_LABELS[preset or presets.OTHER])
    me = current_user()
    with transaction(services().sessions) as s:
        row = incidents.report(s, me.tenant_id, priority=str(chosen),
                               preset=preset or None, title=(title or "").strip(),
                               description=description, reporter=me.address,
                               source=client_address(), now=clock(current_app))
        return row.id


def _event(incident_id: int, kind: str, note: str) -> dict[str, Any]:
    me = current_user()
    with transaction(services().sessions) as s:
        row = incidents.get(s, _viewer(), incident_id)
        incidents.record_event(s, row, kind, actor=me.address, note=note,
                               source=client_address(), now=clock(current_app))
        return _detail(s, row)


def _form_page(values: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    return render_template("sla_incident_form.html", values=values, errors=errors,
                           presets=presets.PRESETS, preset_labels=labels.PRESET_LABELS,
                           priority_names=_priority_names()), status


def _priority_names() -> dict[str, str]:
    return {k: str(v) for k, v in PRIORITIES.items()}


# ---- pages ----

@bp.get("/sla/incidents")
@login_required(*EVERYONE)
def index() -> Any:
    with services().sessions() as s:
        rows = [_detail(s, r) for r in incidents.listing(s, _viewer())]
    return render_template("sla_incidents.html", rows=rows, priority_names=_priority_names(),
                           statuses=_statuses())


def _statuses() -> dict[str, str]:
    return {k: str(v) for k, v in STATUSES.items()}


@bp.route("/sla/incidents/new", methods=["GET", "POST"])
@login_required(*REPORTERS)
def new() -> Any:
    if request.method == "GET":
        return _form_page({"preset": request.args.get("preset", "")}, {})
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        form = parse_form(IncidentForm)
        incident_id = _report(form.preset or None, form.priority or None, form.title,
                              form.description)
    except Invalid as err:
        return _form_page(values, {p.field: p.message for p in err.problems}, 422)
    flash(gettext("Failure reported. The operator has been told."))
    return redirect(url_for("sla_incidents.show", incident_id=incident_id))


@bp.get("/sla/incidents/<int:incident_id>")
@login_required(*EVERYONE)
def show(incident_id: int) -> Any:
    with services().sessions() as s:
        d = _detail(s, incidents.get(s, _viewer(), incident_id))
    allowed = [k for k, after in incidents.ALLOWED.items() if d["status"] in after]
    return render_template("sla_incident.html", i=d, allowed=allowed,
                           event_labels=labels.EVENT_LABELS,
                           preset_labels=labels.PRESET_LABELS,
                           priority_names=_priority_names(), statuses=_statuses(),
                           operator=current_user().role is Role.OPERATOR)


@bp.post("/sla/incidents/<int:incident_id>/events")
@login_required(Role.OPERATOR)
@validated(form=EventForm)
def add_event(incident_id: int, form: EventForm) -> Any:
    _event(incident_id, form.kind, form.note)
    flash(gettext("Recorded: %(what)s", what=labels.EVENT_LABELS[form.kind]))
    return redirect(url_for("sla_incidents.show", incident_id=incident_id))


# ---- API ----

@bp.get("/api/v1/sla/incidents")
@login_required(*EVERYONE)
@validated()
@responds(IncidentList)
def api_list() -> Any:
    with services().sessions() as s:
        rows = [_json(_detail(s, r)) for r in incidents.listing(s, _viewer())]
    return jsonify({"incidents": rows})


@bp.post("/api/v1/sla/incidents")
@login_required(*REPORTERS)
@validated(body=IncidentBody)
@responds(IncidentOut, 201)
def api_create(body: IncidentBody) -> Any:
    incident_id = _report(body.preset, body.priority, body.title, body.description)
    with services().sessions() as s:
        return jsonify(_json(_detail(s, incidents.get(s, _viewer(), incident_id)))), 201


@bp.get("/api/v1/sla/incidents/<int:incident_id>")
@login_required(*EVERYONE)
@validated()
@responds(IncidentOut)
def api_show(incident_id: int) -> Any:
    with services().sessions() as s:
        return jsonify(_json(_detail(s, incidents.get(s, _viewer(), incident_id))))


@bp.post("/api/v1/sla/incidents/<int:incident_id>/events")
@login_required(Role.OPERATOR)
@validated(body=EventBody)
@responds(IncidentOut)
def api_event(incident_id: int, body: EventBody) -> Any:
    return jsonify(_json(_event(incident_id, body.kind, body.note)))
