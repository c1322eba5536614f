"""Recontacts (scheduled call-backs) in the panel and the API, for admins and supervisors.

Page: ``/recontacts`` -- the due recontacts with their local time, contact, number,
campaign and agent; filters; reschedule (a ``datetime-local`` input, read in the
tenant's time zone) and cancel. API: ``GET /api/v1/recontacts`` (filters: campaign,
agent, due after/before, status; paging), ``GET|PUT|DELETE /api/v1/recontacts/<id>``.
A reschedule keeps the history: the old recontact becomes ``moved`` and the answer is
the new one (``moved_from_id`` points back). Changes are audited (``recontact.moved``,
``recontact.cancelled``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
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
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.campaigns import blacklist as bl
from controlplane.campaigns import recontact_list as rl
from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.http.lists_schemas import RecontactMove, RecontactQuery
from controlplane.campaigns.http.pages import SUPERVISORS, as_panel_error
from controlplane.db import transaction
from controlplane.security import audit
from web.auth import client_address, current_user, login_required
from web.errors import PanelError
from web.services import services
from web.session_cookie import clock
from web.validation import validated

bp = Blueprint("recontacts", __name__)


def _audit(s: Any, kind: str, detail: dict[str, Any]) -> None:
    me = current_user()
    audit.record(s, kind, tenant_id=me.tenant_id, actor=me.address, source=client_address(),
                 detail=detail)


def listing(query: RecontactQuery) -> tuple[list[dict[str, Any]], Any]:
    me = current_user()
    try:
        after = (rl.read_time(query.due_after, me.time_zone, "due_after")
                 if query.due_after else None)
        before = (rl.read_time(query.due_before, me.time_zone, "due_before")
                  if query.due_before else None)
        with services().sessions() as s:
            return rl.listing(s, me.tenant_id, campaign_id=query.campaign_id,
                              user_id=query.user_id, due_after=after, due_before=before,
                              status=query.status, page=query.page, per_page=query.per_page)
    except CampaignError as err:
        raise as_panel_error(err) from err


def move(recontact_id: int, due_at: str, user: dict[str, int | None] | None) -> dict[str, Any]:
    me = current_user()
    try:
        when = rl.read_time(due_at, me.time_zone, "due_at")
        with transaction(services().sessions) as s:
            new = rl.reschedule(s, me.tenant_id, recontact_id, when, clock(current_app),
                                by=me.id, user=user)
            _audit(s, "recontact.moved", {"id": recontact_id, "new_id": new.id,
                                          "due_at": new.due_at.isoformat(),
                                          "user_id": new.user_id})
            return rl.one(s, me.tenant_id, new.id)
    except CampaignError as err:
        raise as_panel_error(err) from err


def cancel(recontact_id: int) -> dict[str, Any]:
    me = current_user()
    try:
        with transaction(services().sessions) as s:
            row = rl.recontacts.cancel_recontact(s, me.tenant_id, recontact_id)
            _audit(s, "recontact.cancelled", {"id": row.id, "record_id": row.record_id})
            return rl.one(s, me.tenant_id, row.id)
    except CampaignError as err:
        raise as_panel_error(err) from err


# ---- page ----

def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 and int(text) > 0 else None


def _page_query() -> tuple[RecontactQuery, dict[str, Any]]:
    """The page's filters (a bad value is dropped: a page never fails on a hand-edited URL;
    the API refuses it by name). Dates are whole local days."""
    args: dict[str, Any] = {"campaign_id": _int(request.args.get("campaign_id")),
                            "user_id": _int(request.args.get("user_id")),
                            "due_from": request.args.get("due_from") or None,
                            "due_to": request.args.get("due_to") or None,
                            "page": _int(request.args.get("page")) or 1}
    query: dict[str, Any] = {k: args[k] for k in ("campaign_id", "user_id", "page")
                             if args[k] is not None}
    for name, key, end in (("due_from", "due_after", False), ("due_to", "due_before", True)):
        try:
            day = datetime.strptime(args[name] or "", "%Y-%m-%d")
        except ValueError:
            args[name] = None
            continue
        moment = day + timedelta(days=1, microseconds=-1) if end else day
        query[key] = moment.isoformat()
    return RecontactQuery.model_validate(query), args


@bp.get("/recontacts")
@login_required(*SUPERVISORS)
def index() -> Any:
    query, args = _page_query()
    rows, page = listing(query)
    me = current_user()
    with services().sessions() as s:
        campaigns = bl.visible_campaigns(s, me.tenant_id)
        agents = rl.agents(s, me.tenant_id)
    return render_template("recontacts.html", rows=rows, page=page, args=args,
                           campaigns=campaigns, agents=agents)


@bp.post("/recontacts/<int:recontact_id>/move")
@login_required(*SUPERVISORS)
def move_page(recontact_id: int) -> BaseResponse:
    try:
        moved = move(recontact_id, request.form.get("due_at", ""), None)
    except PanelError as err:
        flash(_("Not rescheduled: %(error)s", error=err.message), "error")
    else:
        flash(_("Recontact with %(who)s rescheduled", who=moved["contact_name"]
                or moved["number"]), "ok")
    return redirect(url_for("recontacts.index"))


@bp.post("/recontacts/<int:recontact_id>/cancel")
@login_required(*SUPERVISORS)
def cancel_page(recontact_id: int) -> BaseResponse:
    try:
        cancel(recontact_id)
    except PanelError as err:
        flash(_("Not cancelled: %(error)s", error=err.message), "error")
    else:
        flash(_("Recontact cancelled"), "ok")
    return redirect(url_for("recontacts.index"))


# ---- API ----

@bp.get("/api/v1/recontacts")
@login_required(*SUPERVISORS)
@validated(query=RecontactQuery)
def api_list(query: RecontactQuery) -> Any:
    """Recontacts soonest due first (``status`` scheduled unless asked)."""
    rows, page = listing(query)
    return jsonify({"recontacts": rows, **page.meta()})


@bp.get("/api/v1/recontacts/<int:recontact_id>")
@login_required(*SUPERVISORS)
@validated()
def api_get(recontact_id: int) -> Any:
    try:
        with services().sessions() as s:
            return jsonify({"recontact": rl.one(s, current_user().tenant_id, recontact_id)})
    except CampaignError as err:
        raise as_panel_error(err) from err


@bp.put("/api/v1/recontacts/<int:recontact_id>")
@login_required(*SUPERVISORS)
@validated(body=RecontactMove)
def api_move(recontact_id: int, body: RecontactMove) -> Any:
    """Reschedule: the answer is the new recontact (the old one is kept as ``moved``)."""
    given = body.given()
    user = {"user_id": given["user_id"]} if "user_id" in given else None
    return jsonify({"recontact": move(recontact_id, body.due_at, user)})


@bp.delete("/api/v1/recontacts/<int:recontact_id>")
@login_required(*SUPERVISORS)
@validated()
def api_cancel(recontact_id: int) -> Any:
    """Cancel: the record is closed (not called again unless scheduled again)."""
    return jsonify({"recontact": cancel(recontact_id)})
