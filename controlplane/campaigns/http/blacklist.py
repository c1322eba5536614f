"""The blacklist in the panel and the API: numbers and prefixes the dialer never calls.

Pages (admins, supervisors; the platform operator for the platform-wide list):
``/blacklist`` (paged list, search, add, delete, upload). API: ``GET|POST
/api/v1/blacklists``, ``GET|DELETE /api/v1/blacklists/<id>``, ``POST
/api/v1/blacklists/upload`` (multipart ``file``: a report of accepted and rejected lines).

Who sees what: a tenant's users see the platform's entries (read-only, ``editable``
false) and their own; the platform operator sees and changes only the platform's.
Every change is audited (``blacklist.added``, ``blacklist.deleted``,
``blacklist.uploaded``) in the transaction that makes it. The dialer reads the table
on every selection, so an entry added here stops the next call to its number.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane.campaigns import blacklist as bl
from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.http.lists_schemas import (
    BlacklistBody,
    BlacklistQuery,
    BlacklistUpload,
)
from controlplane.campaigns.http.number_words import say
from controlplane.campaigns.http.pages import as_panel_error
from controlplane.db import transaction
from controlplane.models import Role
from controlplane.security import audit
from web.auth import client_address, current_user, login_required
from web.errors import BadParameter, Invalid, PanelError
from web.request_limits import allow_uploads
from web.services import services
from web.validation import parse, parse_form, validated

bp = Blueprint("blacklist", __name__)
LIST_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.OPERATOR)
UPLOAD_ENDPOINTS = ("blacklist.api_upload", "blacklist.upload")


class TooLarge(PanelError):
    status = 413
    error_id = "too_large"


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"a blacklist file may be at most {limit // 1024} KiB; split it",
                    details={"max_bytes": limit})


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    """An upload may be larger than the panel's usual request limit, up to the blacklist
    file limit (:func:`web.request_limits.allow_uploads`)."""
    allow_uploads(state.app, UPLOAD_ENDPOINTS, lambda: bl.MAX_FILE_BYTES, _too_large)


def tenant_scope() -> int | None:
    """The tenant whose list this user keeps; None for the platform operator."""
    me = current_user()
    return None if me.role is Role.OPERATOR else me.tenant_id


def _audit(s: Any, kind: str, detail: dict[str, Any]) -> None:
    me = current_user()
    audit.record(s, kind, tenant_id=tenant_scope(), actor=me.address,
                 source=client_address(), detail=detail)


def _detail(row: Any) -> dict[str, Any]:
    return {"id": row.id, "pattern": row.pattern, "is_prefix": row.is_prefix,
            "campaign_id": row.campaign_id, "scope": bl.scope_of(row)}


# ---- operations shared by the pages and the API ----

def listing(campaign_id: int | None, q: str | None, page: int,
            per_page: int) -> tuple[list[dict[str, Any]], Any]:
    tenant = tenant_scope()
    with services().sessions() as s:
        found = bl.listing(s, tenant, campaign_id=campaign_id, q=q, page=page,
                           per_page=per_page)
        return [bl.to_json(row, name, tenant) for row, name in found.rows], found


def add(body: BlacklistBody) -> dict[str, Any]:
    tenant = tenant_scope()
    try:
        with transaction(services().sessions) as s:
            row = bl.add(s, tenant, body.pattern, is_prefix=body.is_prefix,
                         reason=body.reason, campaign_id=body.campaign_id)
            _audit(s, "blacklist.added", _detail(row))
            return bl.to_json(row, None, tenant)
    except CampaignError as err:
        raise as_panel_error(err) from err


def delete(entry_id: int) -> None:
    tenant = tenant_scope()
    try:
        with transaction(services().sessions) as s:
            row = bl.delete(s, tenant, entry_id)
            _audit(s, "blacklist.deleted", _detail(row))
    except bl.ReadOnly:
        raise
    except CampaignError as err:
        raise as_panel_error(err) from err


def upload(form: BlacklistUpload) -> bl.UploadReport:
    """Read the whole file first (refused whole if malformed), then add the accepted
    lines in one transaction."""
    tenant = tenant_scope()
    data = form.file.read(bl.MAX_FILE_BYTES + 1)
    try:
        with transaction(services().sessions) as s:
            campaign = bl.campaign_of(s, tenant, form.campaign_id)
            found, rejected = bl.parse_file(data, bl.region_for(s, tenant, campaign),
                                            form.reason)
            report = bl.add_many(s, tenant, found, rejected, form.campaign_id)
            _audit(s, "blacklist.uploaded", {
                "file": (form.file.filename or "")[:100], "campaign_id": form.campaign_id,
                "added": report.added, "already_listed": report.already,
                "rejected": len(report.rejected)})
            return report
    except bl.FileRejected as err:
        raise BadParameter("file", str(err)) from err
    except CampaignError as err:
        raise as_panel_error(err) from err


# ---- pages ----

def _page(status: int = 200, *, errors: dict[str, str] | None = None,
          values: dict[str, Any] | None = None, report: bl.UploadReport | None = None) -> Any:
    args: dict[str, Any] = {"q": request.args.get("q") or None,
            "campaign_id": _int(request.args.get("campaign_id")),
            "page": _int(request.args.get("page")) or 1, "per_page": 50}
    rows, page = listing(**args)
    with services().sessions() as s:
        campaigns = bl.visible_campaigns(s, tenant_scope())
    return render_template("blacklist.html", rows=rows, page=page, args=args,
                           campaigns=campaigns, errors=errors or {}, values=values or {},
                           report=report, operator=tenant_scope() is None, say=say), status


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 and int(text) > 0 else None


@bp.get("/blacklist")
@login_required(*LIST_ROLES)
def index() -> Any:
    return _page()


def _errors(err: PanelError) -> dict[str, str]:
    """A refusal as the page shows it: each field's reason in the page's language."""
    if isinstance(err, Invalid):
        return {p.field: say(p.message) for p in err.problems}
    if err.status == 409:
        return {"pattern": _("This number or prefix is on this list already.")}
    field = err.details.get("field")
    return {str(field or "pattern"): say(err.message)}


@bp.post("/blacklist")
@login_required(*LIST_ROLES)
def create() -> Any:
    values = {k: v for k, v in request.form.items() if k != "csrf_token"}
    data: dict[str, Any] = {"pattern": values.get("pattern", ""),
                            "is_prefix": values.get("is_prefix") == "on",
                            "reason": values.get("reason", "")}
    if values.get("campaign_id"):
        data["campaign_id"] = _int(values["campaign_id"]) or values["campaign_id"]
    try:
        added = add(parse(BlacklistBody, data))
    except PanelError as err:
        return _page(422, errors=_errors(err), values=values)
    flash(_("%(pattern)s added to the blacklist", pattern=added["pattern"]), "ok")
    return redirect(url_for("blacklist.index"))


@bp.post("/blacklist/<int:entry_id>/delete")
@login_required(*LIST_ROLES)
def remove(entry_id: int) -> BaseResponse:
    try:
        delete(entry_id)
    except PanelError as err:
        flash(err.message, "error")
        return redirect(url_for("blacklist.index"))
    flash(_("Entry deleted from the blacklist"), "ok")
    return redirect(url_for("blacklist.index"))


@bp.post("/blacklist/upload")
@login_required(*LIST_ROLES)
def upload_page() -> Any:
    try:
        form = parse_form(BlacklistUpload)
        report = upload(form)
    except PanelError as err:
        return _page(422, errors={f"upload_{k}": v for k, v in _errors(err).items()})
    return _page(report=report)


# ---- API ----

@bp.get("/api/v1/blacklists")
@login_required(*LIST_ROLES)
@validated(query=BlacklistQuery)
def api_list(query: BlacklistQuery) -> Any:
    """Entries the user sees, newest first: the platform's (``editable`` false for a
    tenant) and the tenant's."""
    rows, page = listing(query.campaign_id, query.q, query.page, query.per_page)
    return jsonify({"entries": rows, **page.meta()})


@bp.post("/api/v1/blacklists")
@login_required(*LIST_ROLES)
@validated(body=BlacklistBody)
def api_create(body: BlacklistBody) -> Any:
    return jsonify({"entry": add(body)}), 201


@bp.get("/api/v1/blacklists/<int:entry_id>")
@login_required(*LIST_ROLES)
@validated()
def api_get(entry_id: int) -> Any:
    tenant = tenant_scope()
    try:
        with services().sessions() as s:
            row = bl.entry(s, tenant, entry_id)
            campaign = bl.campaign_of(s, row.tenant_id, row.campaign_id)
            return jsonify({"entry": bl.to_json(row, campaign.name if campaign else None,
                                                tenant)})
    except CampaignError as err:
        raise as_panel_error(err) from err


@bp.delete("/api/v1/blacklists/<int:entry_id>")
@login_required(*LIST_ROLES)
@validated()
def api_delete(entry_id: int) -> Any:
    delete(entry_id)
    return jsonify({"deleted": entry_id})


@bp.post("/api/v1/blacklists/upload")
@login_required(*LIST_ROLES)
@validated(form=BlacklistUpload)
def api_upload(form: BlacklistUpload) -> Any:
    """Add every valid line of the file; the report names each rejected line and why."""
    return jsonify(upload(form).to_json())
