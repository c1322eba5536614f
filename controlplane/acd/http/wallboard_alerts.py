"""Wallboard alert rules: firing them once per crossing, and their admin page and API.

Theory of operation: every time a tenant's board is computed (at most once a second per
panel process, :mod:`.wallboard_cache`), :func:`apply` evaluates the tenant's rules
(:mod:`controlplane.acd.wallboard_alerts`, pure) and puts the firing ones on the board
(``alerts``). A rule's ``firing_since`` is the debounce: the update that sets it (``WHERE
firing_since IS NULL``) also writes one ``wallboard.alert`` webhook event (state
``firing``) in the same transaction, and the update that clears it one with state
``cleared``; a compare-and-set, so concurrent processes and viewers fire a crossing once.
Rules are evaluated only while someone watches the tenant's wallboard (the panel computes
boards on demand).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.acd import wallboard_alerts as wa
from controlplane.db import transaction
from controlplane.models import Role
from controlplane.models.acd import Queue
from controlplane.models.wallboard import ALERT_KINDS, WallboardAlertRule
from controlplane.security import audit
from controlplane.webhooks import outbox
from web.api.responses import responds
from web.auth import current_user, login_required
from web.errors import FieldProblem, Invalid, NotFound
from web.services import services
from web.validation import validated

bp = Blueprint("wallboard_alerts", __name__)

ADMIN = (Role.ADMIN,)
MAX_RULES = 50
KIND_LABELS = {
    "wait_over": lazy_gettext("Wait over"),
    "service_level_under": lazy_gettext("Service level under"),
    "abandons_over": lazy_gettext("Abandoned calls over"),
    "break_over": lazy_gettext("Agent on break over"),
}


def apply(s: Session, tenant_id: int, board: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """Evaluate the tenant's rules on ``board``, fire/clear them (see the module docstring);
    returns the firing alerts. ``s`` is committed by the caller."""
    rows = s.scalars(
        select(WallboardAlertRule).where(WallboardAlertRule.tenant_id == tenant_id)
    ).all()
    if not rows:
        return []
    found = wa.evaluate([wa.Rule(r.id, r.kind, r.threshold, r.queue_id) for r in rows], board)
    firing: list[dict[str, Any]] = []
    for r in rows:
        alerts = found.get(r.id, [])
        firing += [a.to_json() for a in alerts]
        if bool(alerts) == (r.firing_since is not None):
            continue  # no crossing
        rule = WallboardAlertRule
        cas = update(rule).where(rule.id == r.id, rule.tenant_id == tenant_id)
        cas = (cas.where(rule.firing_since.is_(None)).values(firing_since=now) if alerts
               else cas.where(rule.firing_since.is_not(None)).values(firing_since=None))
        if s.execute(cas).rowcount != 1:  # type: ignore[attr-defined]
            continue  # another process saw this crossing first
        state = "firing" if alerts else "cleared"
        outbox.add(s, [outbox.row("wallboard.alert", tenant_id, {
            "rule_id": r.id, "kind": r.kind, "threshold": r.threshold, "queue_id": r.queue_id,
            "state": state, "at": now.isoformat(), "alerts": [a.to_json() for a in alerts],
        }, key=(tenant_id, r.id, state, now.isoformat()), at=now)])
    return firing


# ---- admin: the rules ----


class AlertRuleBody(BaseModel):
    """A rule: ``kind``, ``threshold`` in its unit (s, %, calls, min), optional queue."""

    kind: Literal[ALERT_KINDS]  # type: ignore[valid-type]
    threshold: float = Field(ge=0, le=1_000_000)
    queue_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class AlertRuleOut(BaseModel):
    """A rule as stored; ``firing`` while it is crossed."""

    id: int
    kind: str
    threshold: float
    queue_id: int | None
    firing: bool


class AlertRuleCreated(BaseModel):
    """The rule added."""

    rule: AlertRuleOut


def _rule_json(r: WallboardAlertRule) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "threshold": r.threshold, "queue_id": r.queue_id,
            "firing": r.firing_since is not None}


def _add(body: AlertRuleBody) -> dict[str, Any]:
    user = current_user()
    if body.kind == "service_level_under" and body.threshold > 100:
        raise Invalid([FieldProblem("threshold", "a service level is at most 100 %")])
    with transaction(services().sessions) as s:
        if body.queue_id is not None and s.scalar(select(Queue.id).where(
                Queue.id == body.queue_id, Queue.tenant_id == user.tenant_id)) is None:
            raise Invalid([FieldProblem("queue_id", f"no queue {body.queue_id} in your tenant")])
        count = len(s.scalars(select(WallboardAlertRule.id).where(
            WallboardAlertRule.tenant_id == user.tenant_id)).all())
        if count >= MAX_RULES:
            raise Invalid([FieldProblem("kind", f"at most {MAX_RULES} alert rules per tenant")])
        row = WallboardAlertRule(tenant_id=user.tenant_id, kind=body.kind,
                                 threshold=body.threshold, queue_id=body.queue_id)
        s.add(row)
        s.flush()
        out = _rule_json(row)
        audit.record(s, "wallboard.alert_rule_added", tenant_id=user.tenant_id,
                     actor=user.login, source="panel", detail=out)
    return out


def _delete(rule_id: int) -> None:
    user = current_user()
    with transaction(services().sessions) as s:
        row = s.scalar(select(WallboardAlertRule).where(
            WallboardAlertRule.id == rule_id, WallboardAlertRule.tenant_id == user.tenant_id))
        if row is None:
            raise NotFound(f"no alert rule {rule_id} in your tenant")
        audit.record(s, "wallboard.alert_rule_deleted", tenant_id=user.tenant_id,
                     actor=user.login, source="panel", detail=_rule_json(row))
        s.delete(row)


def _rules(s: Session, tenant_id: int) -> list[WallboardAlertRule]:
    return list(s.scalars(select(WallboardAlertRule).where(
        WallboardAlertRule.tenant_id == tenant_id).order_by(WallboardAlertRule.id)))


@bp.route("/wallboard/alerts", methods=["GET", "POST"])
@login_required(*ADMIN)
def page() -> Any:
    tid = current_user().tenant_id
    error, status = None, 200
    if request.method == "POST":
        try:
            body = AlertRuleBody.model_validate({
                "kind": request.form.get("kind", ""),
                "threshold": request.form.get("threshold") or "-1",
                "queue_id": request.form.get("queue_id") or None})
            _add(body)
            flash(_("alert rule added"), "ok")
            return redirect(url_for("wallboard_alerts.page"))
        except Invalid as err:
            error, status = err.message, 422
        except ValueError:  # pydantic's ValidationError: a kind or threshold out of range
            error, status = _("choose a kind and enter a threshold of 0 or more"), 422
    with services().sessions() as s:
        rules = _rules(s, tid)
        queues = {q.id: q.name for q in s.scalars(
            select(Queue).where(Queue.tenant_id == tid).order_by(Queue.name))}
    return render_template("wallboard_alerts.html", rules=rules, queues=queues,
                           kinds=ALERT_KINDS, kind_labels=KIND_LABELS, error=error,
                           form=request.form), status


@bp.post("/wallboard/alerts/<int:rule_id>/delete")
@login_required(*ADMIN)
def delete(rule_id: int) -> BaseResponse:
    _delete(rule_id)
    flash(_("alert rule deleted"), "ok")
    return redirect(url_for("wallboard_alerts.page"))


@bp.get("/api/v1/wallboard/alert-rules")
@login_required(*ADMIN)
@validated()
def api_list() -> Any:
    """Your tenant's wallboard alert rules."""
    with services().sessions() as s:
        return jsonify({"rules": [_rule_json(r) for r in _rules(s, current_user().tenant_id)]})


@bp.post("/api/v1/wallboard/alert-rules")
@login_required(*ADMIN)
@validated(body=AlertRuleBody)
@responds(AlertRuleCreated, 201)
def api_add(body: AlertRuleBody) -> Any:
    """Add a rule (kinds: wait_over s, service_level_under %, abandons_over calls,
    break_over min)."""
    return jsonify({"rule": _add(body)}), 201


@bp.delete("/api/v1/wallboard/alert-rules/<int:rule_id>")
@login_required(*ADMIN)
@validated()
def api_delete(rule_id: int) -> Any:
    """Delete a rule."""
    _delete(rule_id)
    return jsonify({"deleted": rule_id})
