"""The caller-ID pool in the panel and the API (admins and supervisors of the tenant).

Pages: ``/caller-ids`` (each number with the campaign it serves and today's use; add),
``/caller-ids/<id>`` (edit: campaign, tainted, daily cap; delete). API: ``GET|POST
/api/v1/caller-ids``, ``GET|PUT|DELETE /api/v1/caller-ids/<id>``; a number listed
already is a 409 naming the entry. Every change is audited (``caller_id.added``,
``caller_id.updated``, ``caller_id.deleted``) in its transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.campaigns import blacklist as bl
from controlplane.campaigns import caller_ids as pool
from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.http.lists_schemas import CallerIdBody, CallerIdQuery
from controlplane.campaigns.http.number_words import say
from controlplane.campaigns.http.pages import SUPERVISORS, as_panel_error
from controlplane.db import transaction
from controlplane.security import audit
from web.auth import client_address, current_user, login_required
from web.errors import Invalid, PanelError
from web.services import services
from web.validation import validated

bp = Blueprint("caller_ids", __name__)


def _today() -> Any:
    return datetime.now(UTC).date()  # the dialer counts use per UTC day


def _audit(s: Any, kind: str, row: Any) -> None:
    me = current_user()
    audit.record(s, kind, tenant_id=me.tenant_id, actor=me.address, source=client_address(),
                 detail={"id": row.id, "number": row.number, "campaign_id": row.campaign_id,
                         "tainted": row.tainted, "daily_cap": row.daily_cap})


def save(number_id: int | None, given: dict[str, Any]) -> dict[str, Any]:
    tenant = current_user().tenant_id
    try:
        with transaction(services().sessions) as s:
            row = pool.save(s, tenant, number_id, given)
            _audit(s, "caller_id.added" if number_id is None else "caller_id.updated", row)
            return pool.to_json(row, pool.campaign_name(s, row),
                                pool.used_today(s, row, _today()))
    except CampaignError as err:
        raise as_panel_error(err) from err


def remove(number_id: int) -> None:
    try:
        with transaction(services().sessions) as s:
            row = pool.delete(s, current_user().tenant_id, number_id)
            _audit(s, "caller_id.deleted", row)
    except CampaignError as err:
        raise as_panel_error(err) from err


def one(number_id: int) -> dict[str, Any]:
    try:
        with services().sessions() as s:
            row = pool.number(s, current_user().tenant_id, number_id)
            return pool.to_json(row, pool.campaign_name(s, row),
                                pool.used_today(s, row, _today()))
    except CampaignError as err:
        raise as_panel_error(err) from err


# ---- pages ----

def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 and int(text) > 0 else None


def _campaigns() -> list[tuple[int, str]]:
    with services().sessions() as s:
        return bl.visible_campaigns(s, current_user().tenant_id)


def _form_given(form: dict[str, str], *, with_number: bool) -> dict[str, Any]:
    """The form as the API body would be (empty cap: none; unchecked box: not tainted)."""
    given: dict[str, Any] = {"campaign_id": _int(form.get("campaign_id")),
                             "tainted": form.get("tainted") == "on"}
    cap = (form.get("daily_cap") or "").strip()
    given["daily_cap"] = int(cap) if cap.isdigit() and len(cap) < 10 else (cap or None)
    if with_number:
        given["number"] = form.get("number", "")
    return given


def _errors(err: PanelError) -> dict[str, str]:
    """A refusal as the page shows it: each field's reason in the page's language."""
    if isinstance(err, Invalid):
        return {p.field: say(p.message) for p in err.problems}
    if err.status == 409:
        return {"number": _("This number is in the caller-ID pool already.")}
    return {str(err.details.get("field") or "number"): say(err.message)}


@bp.route("/caller-ids", methods=["GET", "POST"])
@login_required(*SUPERVISORS)
def index() -> Any:
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            added = save(None, _form_given(values, with_number=True))
        except PanelError as err:
            errors = _errors(err)
        else:
            flash(_("%(number)s added to the caller-ID pool", number=added["number"]), "ok")
            return redirect(url_for("caller_ids.index"))
    args: dict[str, Any] = {"q": request.args.get("q") or None,
            "campaign_id": _int(request.args.get("campaign_id")),
            "page": _int(request.args.get("page")) or 1, "per_page": 50}
    with services().sessions() as s:
        rows, page = pool.listing(s, current_user().tenant_id, _today(), **args)
    return render_template("caller_ids.html", rows=rows, page=page, args=args,
                           campaigns=_campaigns(), errors=errors,
                           values=values), 422 if errors else 200


@bp.route("/caller-ids/<int:number_id>", methods=["GET", "POST"])
@login_required(*SUPERVISORS)
def edit(number_id: int) -> Any:
    shown = one(number_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "csrf_token"}
        try:
            save(number_id, _form_given(values, with_number=False))
        except PanelError as err:
            errors = _errors(err)
            shown = {**shown, **values, "tainted": values.get("tainted") == "on"}
        else:
            flash(_("Caller-ID number saved"), "ok")
            return redirect(url_for("caller_ids.index"))
    return render_template("caller_ids_form.html", n=shown, campaigns=_campaigns(),
                           errors=errors), 422 if errors else 200


@bp.post("/caller-ids/<int:number_id>/delete")
@login_required(*SUPERVISORS)
def delete(number_id: int) -> BaseResponse:
    remove(number_id)
    flash(_("Caller-ID number deleted"), "ok")
    return redirect(url_for("caller_ids.index"))


# ---- API ----

@bp.get("/api/v1/caller-ids")
@login_required(*SUPERVISORS)
@validated(query=CallerIdQuery)
def api_list(query: CallerIdQuery) -> Any:
    """The pool by number, each with ``used_today`` (UTC day) and ``left_today``."""
    with services().sessions() as s:
        rows, page = pool.listing(s, current_user().tenant_id, _today(),
                                  **query.model_dump())
    return jsonify({"caller_ids": rows, **page.meta()})


@bp.post("/api/v1/caller-ids")
@login_required(*SUPERVISORS)
@validated(body=CallerIdBody)
def api_create(body: CallerIdBody) -> Any:
    return jsonify({"caller_id": save(None, body.given())}), 201


@bp.get("/api/v1/caller-ids/<int:number_id>")
@login_required(*SUPERVISORS)
@validated()
def api_get(number_id: int) -> Any:
    return jsonify({"caller_id": one(number_id)})


@bp.put("/api/v1/caller-ids/<int:number_id>")
@login_required(*SUPERVISORS)
@validated(body=CallerIdBody)
def api_update(number_id: int, body: CallerIdBody) -> Any:
    """Fields not sent keep their value; ``campaign_id`` null: every campaign."""
    return jsonify({"caller_id": save(number_id, body.given())})


@bp.delete("/api/v1/caller-ids/<int:number_id>")
@login_required(*SUPERVISORS)
@validated()
def api_delete(number_id: int) -> Any:
    remove(number_id)
    return jsonify({"deleted": number_id})
