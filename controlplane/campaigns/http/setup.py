"""Campaign setup in the panel and the API: create, edit, delete (or archive).

Pages (admins and supervisors): ``/campaigns/new``, ``/campaigns/<id>/edit`` (every
setting; the dialling order and the retry rules as fields, not JSON) and
``/campaigns/<id>/delete``. API: ``POST /api/v1/campaigns``,
``GET|PATCH|DELETE /api/v1/campaigns/<id>``. Both go through
:func:`controlplane.campaigns.settings.save_campaign`, so the form and the JSON body are
held to the same rules and name a wrong value the same way (``retry_rules.busy.interval_s``;
422 ``invalid_form`` with its JSON pointer). Each change is audited in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.admin.exceptions import InvalidFields
from controlplane.campaigns import settings
from controlplane.campaigns.http.labels import (
    CALLER_ID_MODES,
    DAYS,
    OUTCOMES,
    RECONTACT_ORDERS,
    REGULATORS,
)
from controlplane.campaigns.http.pages import SUPERVISORS
from controlplane.campaigns.http.schemas import CampaignBody
from controlplane.db import transaction
from controlplane.models.acd import Queue
from controlplane.models.campaigns import RETRY_OUTCOMES
from controlplane.security import audit
from web.auth import client_address, current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("campaign_setup", __name__)
T = TypeVar("T")

def _write(change: Callable[[Session], T], kind: str, detail: Callable[[T], dict[str, Any]]) -> T:
    me = current_user()
    with transaction(services().sessions) as s:
        result = change(s)
        audit.record(s, kind, tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(), detail=detail(result))
    return result


def save(campaign_id: int | None, values: dict[str, Any]) -> int:
    """Create or change; the campaign's id. :class:`InvalidFields` when a value is wrong."""
    tid = current_user().tenant_id

    def change(s: Session) -> tuple[int, str]:
        c = settings.get_campaign(s, tid, campaign_id) if campaign_id is not None else None
        saved = settings.save_campaign(s, tid, c, values)
        return saved.id, saved.name

    saved_id, _name = _write(change, "campaign.created" if campaign_id is None
                             else "campaign.updated",
                             lambda r: {"campaign": r[1], "fields": sorted(values)})
    return saved_id


def remove(campaign_id: int) -> str:
    """``deleted`` or ``archived`` (it has attempts)."""
    tid = current_user().tenant_id
    return _write(lambda s: settings.remove_campaign(s, tid, campaign_id),
                  "campaign.removed", lambda how: {"campaign_id": campaign_id, "how": how})


def read(campaign_id: int) -> dict[str, Any]:
    with services().sessions() as s:
        return settings.campaign_json(settings.get_campaign(s, current_user().tenant_id,
                                                            campaign_id))


# ---- pages ----

def _form(campaign_id: int | None, values: dict[str, Any], errors: dict[str, str]) -> str:
    with services().sessions() as s:
        queues = [(q.id, q.name) for q in s.scalars(
            select(Queue).where(Queue.tenant_id == current_user().tenant_id).order_by(Queue.name))]
    return render_template("campaign_form.html", campaign_id=campaign_id, v=values,
                           errors=errors, queues=queues, outcomes=OUTCOMES, days=DAYS,
                           caller_id_modes=CALLER_ID_MODES, regulators=REGULATORS,
                           recontact_orders=RECONTACT_ORDERS, retry_outcomes=RETRY_OUTCOMES)


def _posted() -> dict[str, Any]:
    form: dict[str, Any] = {k: v for k, v in request.form.items() if k != "csrf_token"}
    form["window_days"] = request.form.getlist("window_days")
    return settings.from_form(form)


def _edit(campaign_id: int | None) -> Any:
    if request.method == "GET":
        values = read(campaign_id) if campaign_id is not None else settings.defaults()
        return _form(campaign_id, values, {})
    values = _posted()
    try:
        saved = save(campaign_id, values)
    except InvalidFields as err:
        shown = {**(read(campaign_id) if campaign_id else settings.defaults()), **values}
        return _form(campaign_id, shown, err.by_field()), 422
    flash(_("Campaign saved"), "ok")
    return redirect(url_for("campaign_setup.edit", campaign_id=saved))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required(*SUPERVISORS)
def create() -> Any:
    return _edit(None)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required(*SUPERVISORS)
def edit(campaign_id: int) -> Any:
    return _edit(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/delete")
@login_required(*SUPERVISORS)
def delete(campaign_id: int) -> BaseResponse:
    how = remove(campaign_id)
    flash(_("Campaign archived: it has attempts, so its log is kept") if how == "archived"
          else _("Campaign deleted"), "ok")
    return redirect(url_for("campaigns.index"))


# ---- API ----

@bp.post("/api/v1/campaigns")
@login_required(*SUPERVISORS)
@validated(body=CampaignBody)
def api_create(body: CampaignBody) -> Any:
    """A new draft campaign with every setting given (the others keep their defaults)."""
    return jsonify({"campaign": read(save(None, body.values()))}), 201


@bp.get("/api/v1/campaigns/<int:campaign_id>")
@login_required(*SUPERVISORS)
@validated()
def api_get(campaign_id: int) -> Any:
    return jsonify({"campaign": read(campaign_id)})


@bp.patch("/api/v1/campaigns/<int:campaign_id>")
@login_required(*SUPERVISORS)
@validated(body=CampaignBody)
def api_update(campaign_id: int, body: CampaignBody) -> Any:
    """Only the settings sent change."""
    return jsonify({"campaign": read(save(campaign_id, body.values()))})


@bp.delete("/api/v1/campaigns/<int:campaign_id>")
@login_required(*SUPERVISORS)
@validated()
def api_delete(campaign_id: int) -> Any:
    """Deleted when never dialled, else archived: ``{"id", "result": "deleted"|"archived"}``."""
    return jsonify({"id": campaign_id, "result": remove(campaign_id)})
