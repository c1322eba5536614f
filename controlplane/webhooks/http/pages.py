"""The webhook pages (admins): the list, the form (create, edit, secret on demand,
regenerate, delete, the signature recipe) and a subscription's delivery log with replay.

Forms are read through :class:`~controlplane.webhooks.schemas.WebhookForm`; a refused URL
or a missing event is shown next to its field (422), as every form of the panel does.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response as BaseResponse

from controlplane.models import Role
from controlplane.webhooks import store
from controlplane.webhooks.events import EVENT_TYPES
from controlplane.webhooks.exceptions import InvalidTarget
from controlplane.webhooks.http import subscriptions as subs
from controlplane.webhooks.http.subscriptions import bp
from controlplane.webhooks.schemas import WebhookForm, field_of
from web.auth import current_user, login_required
from web.services import services
from web.validation import parse_form

_ = lazy_gettext
EVENT_LABELS = {
    "call.started": _("Call started"),
    "call.answered": _("Call answered"),
    "call.ended": _("Call ended"),
    "recording.ready": _("Recording ready"),
    "agent.status_changed": _("Agent status changed"),
    "disposition.set": _("Disposition set"),
    "campaign.attempt_finished": _("Campaign attempt finished"),
    "wallboard.alert": _("Wallboard alert"),
    "ticket.created": _("Ticket opened"),
    "ticket.updated": _("Ticket changed"),
    "ticket.message": _("Ticket message"),
}
STATE_LABELS = {"pending": _("Pending"), "delivered": _("Delivered"),
                "dead": _("Failed (dead letter)")}


REASONS = {"a private address": _("a private address"),
           "a loopback address": _("a loopback address"),
           "a link-local address": _("a link-local address"),
           "a CGNAT address": _("a CGNAT address"),
           "a multicast address": _("a multicast address"),
           "a unique local (ULA) address": _("a unique local (ULA) address"),
           "a site-local address": _("a site-local address"),
           "a reserved address": _("a reserved address")}


def target_message(err: InvalidTarget) -> str:
    """The refusal in the user's language (the API keeps the English message)."""
    p = err.params
    if err.kind == "refused":
        return gettext("%(host)s resolves to %(address)s, %(reason)s; webhooks are sent only "
                       "to public addresses", host=p["host"], address=p["address"],
                       reason=str(REASONS.get(p["reason"], p["reason"])))
    if err.kind == "unresolvable":
        return gettext("the host %(host)s cannot be resolved", host=p["host"])
    if err.kind == "scheme":
        return gettext("the URL must start with http:// or https://")
    if err.kind == "userinfo":
        return gettext("the URL must not contain a user name or password")
    return gettext("not a valid URL")


def _labels() -> dict[str, Any]:
    return {"event_labels": EVENT_LABELS, "state_labels": STATE_LABELS,
            "event_types": EVENT_TYPES, "field_of": field_of}


@bp.get("/webhooks")
@login_required(Role.ADMIN)
def index() -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        rows = store.subscriptions(s, tid)
        counts = store.counts(s, tid)
    return render_template("webhooks.html", rows=rows, counts=counts, **_labels())


def _form_page(sub_id: int | None, values: dict[str, Any], errors: dict[str, str],
               secret: str | None = None, status: int = 200) -> tuple[str, int]:
    sub = None
    if sub_id is not None:
        with services().sessions() as s:
            sub = store.subscription(s, current_user().tenant_id, sub_id)
    return render_template("webhook_form.html", sub=sub, values=values, errors=errors,
                           secret=secret, **_labels()), status


def _values(sub: Any) -> dict[str, Any]:
    return {"url": sub.url, "description": sub.description, "active": sub.active,
            "events": list(sub.events or [])}


@bp.route("/webhooks/new", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def create() -> Any:
    return _edit(None)


@bp.route("/webhooks/<int:sub_id>", methods=["GET", "POST"])
@login_required(Role.ADMIN)
def edit(sub_id: int) -> Any:
    return _edit(sub_id)


def _edit(sub_id: int | None) -> Any:
    if request.method == "GET":
        if sub_id is None:
            return _form_page(None, {"url": "", "description": "", "active": True,
                                     "events": ["call.ended"]}, {})
        with services().sessions() as s:
            values = _values(store.subscription(s, current_user().tenant_id, sub_id))
        return _form_page(sub_id, values, {})
    form = parse_form(WebhookForm)
    values = {"url": form.url.strip(), "description": form.description.strip(),
              "active": form.active == "on", "events": form.events()}
    errors: dict[str, str] = {}
    if not values["url"]:
        errors["url"] = gettext("required")
    if not values["events"]:
        errors["events"] = gettext("choose at least one event")
    if not errors:
        try:
            if sub_id is None:
                doc = subs.create(values["url"], values["events"], values["description"],
                                  values["active"])
                flash(gettext("Webhook saved. Its signing secret is shown below."), "ok")
                return _form_page(doc["id"], values, {}, secret=doc["secret"])
            subs.update(sub_id, values)
            flash(gettext("Webhook saved."), "ok")
            return redirect(url_for("webhooks.edit", sub_id=sub_id))
        except InvalidTarget as err:
            errors["url"] = target_message(err)
    return _form_page(sub_id, values, errors, status=422)


@bp.post("/webhooks/<int:sub_id>/secret")
@login_required(Role.ADMIN)
def show_secret(sub_id: int) -> Any:
    regenerate = request.form.get("regenerate") == "1"
    secret = subs.secret(sub_id, regenerate=regenerate)
    if regenerate:
        flash(gettext("A new secret was generated; the old one no longer signs."), "ok")
    with services().sessions() as s:
        values = _values(store.subscription(s, current_user().tenant_id, sub_id))
    return _form_page(sub_id, values, {}, secret=secret)


@bp.post("/webhooks/<int:sub_id>/delete")
@login_required(Role.ADMIN)
def delete(sub_id: int) -> BaseResponse:
    subs.delete(sub_id)
    flash(gettext("Webhook deleted."), "ok")
    return redirect(url_for("webhooks.index"))


@bp.get("/webhooks/<int:sub_id>/deliveries")
@login_required(Role.ADMIN)
def deliveries(sub_id: int) -> Any:
    tid = current_user().tenant_id
    state = request.args.get("state") or None
    if state not in (None, *STATE_LABELS):
        state = None
    with services().sessions() as s:
        sub = store.subscription(s, tid, sub_id)
        rows = store.deliveries(s, tid, sub_id, state, 50)
        log = {r.delivery.id: store.attempts(s, r.delivery.id) for r in rows}
    return render_template("webhook_log.html", sub=sub, rows=rows, log=log, state=state,
                           **_labels())


@bp.post("/webhooks/deliveries/<int:delivery_id>/replay")
@login_required(Role.ADMIN)
def replay(delivery_id: int) -> BaseResponse:
    d = subs.replay(delivery_id)
    flash(gettext("The delivery will be sent again within a few seconds."), "ok")
    return redirect(url_for("webhooks.deliveries", sub_id=d.subscription_id))
