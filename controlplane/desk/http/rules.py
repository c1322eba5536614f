"""Business rules in the panel and the API (admins and supervisors of the tenant).

* ``/tickets/rules``: the tenant's rules in order, each with its conditions as lines,
  this month's run count (the quota's figure), and a form per rule (conditions and actions
  as JSON, the shapes of :mod:`controlplane.desk.rules`, with examples on the page);
* ``GET|POST /api/v1/ticket-rules``, ``PATCH|DELETE /api/v1/ticket-rules/<id>``.

A rule that cannot run is refused with the field named (``actions/0/value``); the form
keeps what was typed.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.desk import automation, rulebook
from controlplane.desk.exceptions import CentralaError
from controlplane.desk.http import common
from controlplane.desk.http.common import SUPERVISING
from controlplane.desk.http.labels import TRIGGER
from controlplane.desk.schemas import Deleted, RuleBody, RuleList, RuleResponse
from controlplane.models.base import utcnow
from web.api.responses import responds
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("desk_rules", __name__)
EXAMPLE_CONDITIONS = ('[{"field": "status", "op": "is", "value": "pending"},\n'
                      ' {"field": "minutes_since_update", "op": "gte", "value": 2880}]')
EXAMPLE_ACTIONS = '[{"set": "status", "value": "solved"}, {"note": "Closed after 48 h"}]'


def _listing() -> dict[str, Any]:
    tid = current_user().tenant_id
    with services().sessions() as s:
        rows = rulebook.rules_of(s, tid)
        return {"rules": [{**rulebook.rule_json(r), **rulebook.describe(r)} for r in rows],
                "usage": rulebook.usage(s, tid, automation.month_of(utcnow()))}


def _save(rule_id: int | None, values: dict[str, Any]) -> dict[str, Any]:
    return common.write(lambda s, v: rulebook.rule_json(
        rulebook.save(s, v.tenant_id, rule_id, values)),
        "ticket.rule_saved", lambda r: {"rule": r["id"], "trigger": r["trigger"]})


@bp.get("/tickets/rules")
@login_required(*SUPERVISING)
def index() -> Any:
    """The rules; ``?edit=<id>`` fills the form with that rule."""
    raw = request.args.get("edit", "")
    if not raw.isdigit():
        return _page()
    with services().sessions() as s:
        r = rulebook.rule_json(rulebook.rule(s, current_user().tenant_id, int(raw)))
    form = {**r, "conditions": json.dumps(r["conditions"], ensure_ascii=False),
            "actions": json.dumps(r["actions"], ensure_ascii=False)}
    return _page(form=form)


def _page(status: int = 200, form: dict[str, Any] | None = None) -> Any:
    return render_template("ticket_rules.html", triggers=TRIGGER, form=form or {},
                           example_conditions=EXAMPLE_CONDITIONS,
                           example_actions=EXAMPLE_ACTIONS, **_listing()), status


@bp.post("/tickets/rules")
@login_required(*SUPERVISING)
def save() -> Any:
    raw_id = request.form.get("id", "")
    form = {k: request.form.get(k, "") for k in ("id", "name", "trigger", "conditions",
                                                  "actions", "position")}
    form["active"] = request.form.get("active") == "1"
    values: dict[str, Any] = {"name": form["name"].strip()[:100] or None,
                              "trigger": form["trigger"] or None, "active": form["active"]}
    if form["position"].strip().isdigit():
        values["position"] = int(form["position"])
    for key in ("conditions", "actions"):
        try:
            values[key] = json.loads(form[key] or "[]")
        except ValueError as err:
            form["error"] = _("%(field)s: not JSON (%(problem)s)", field=key, problem=err)
            return _page(422, form)
    try:
        _save(int(raw_id) if raw_id.isdigit() else None, values)
    except CentralaError as err:
        form["error"] = err.message
        return _page(err.status, form)
    flash(_("Rule saved"), "ok")
    return redirect(url_for("desk_rules.index"))


@bp.post("/tickets/rules/<int:rule_id>/delete")
@login_required(*SUPERVISING)
def delete(rule_id: int) -> BaseResponse:
    _delete(rule_id)
    flash(_("Rule deleted"), "ok")
    return redirect(url_for("desk_rules.index"))


def _delete(rule_id: int) -> None:
    def run(s: Any, v: Any) -> None:
        s.delete(rulebook.rule(s, v.tenant_id, rule_id))
    common.write(run, "ticket.rule_deleted", lambda _: {"rule": rule_id})


@bp.get("/api/v1/ticket-rules")
@login_required(*SUPERVISING)
@validated()
@responds(RuleList)
def api_list() -> Any:
    out = _listing()
    return jsonify({"rules": [{k: r[k] for k in ("id", "name", "trigger", "conditions",
                                                 "actions", "active", "position")}
                              for r in out["rules"]], "usage": out["usage"]})


@bp.post("/api/v1/ticket-rules")
@login_required(*SUPERVISING)
@validated(body=RuleBody)
@responds(RuleResponse, 201)
def api_create(body: RuleBody) -> Any:
    return jsonify({"rule": _save(None, body.given())}), 201


@bp.patch("/api/v1/ticket-rules/<int:rule_id>")
@login_required(*SUPERVISING)
@validated(body=RuleBody)
@responds(RuleResponse)
def api_update(rule_id: int, body: RuleBody) -> Any:
    return jsonify({"rule": _save(rule_id, body.given())})


@bp.delete("/api/v1/ticket-rules/<int:rule_id>")
@login_required(*SUPERVISING)
@validated()
@responds(Deleted)
def api_delete(rule_id: int) -> Any:
    _delete(rule_id)
    return jsonify({"deleted": rule_id})
