"""The campaigns JSON API (``/api/v1``): preview batches, calls and skips, dispositions,
the campaigns list, start/pause and the attempts log; who may do what is in
:mod:`.pages`, which holds the operations shared with the pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from controlplane.campaigns import dispositions as disp
from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.http.pages import (
    SUPERVISORS,
    as_panel_error,
    attempts_page,
    campaign_list,
    dispose,
    preview,
    set_status,
)
from controlplane.campaigns.http.schemas import (
    AttemptsQuery,
    CampaignListQuery,
    DisposeBody,
    DispositionBody,
    StatusBody,
)
from controlplane.db import transaction
from controlplane.dialer.preview_store import preview_campaigns
from controlplane.models import Role
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated

bp = Blueprint("campaigns_api", __name__, url_prefix="/api/v1")
ADMIN = (Role.ADMIN,)


# ---- agents: preview and dispositions ----

@bp.get("/campaigns/preview")
@login_required()
@validated()
def my_preview() -> Any:
    """The running preview campaigns the user works, each with the user's batch."""
    user = current_user()
    return jsonify({"campaigns": preview_campaigns(services().sessions, user.tenant_id, user.id)})


@bp.post("/campaigns/<int:campaign_id>/preview/batch")
@login_required()
@validated()
def batch(campaign_id: int) -> Any:
    """The user's batch (a new one once every record of the last was tried or skipped)."""
    return jsonify({"records": preview("batch", campaign_id)["records"]})


@bp.post("/campaigns/<int:campaign_id>/preview/<int:record_id>/dial")
@login_required()
@validated()
def dial(campaign_id: int, record_id: int) -> Any:
    """Ring the user's phone, then the record's number: ``{attempt_id, call_id, …}``."""
    return jsonify(preview("dial", campaign_id, record_id))


@bp.post("/campaigns/<int:campaign_id>/preview/<int:record_id>/skip")
@login_required()
@validated()
def skip(campaign_id: int, record_id: int) -> Any:
    """The record tried without dialling: ``{record_id, state}``."""
    return jsonify(preview("skip", campaign_id, record_id))


@bp.get("/attempts/pending")
@login_required()
@validated()
def pending() -> Any:
    """The user's calls that reached a person and wait for a disposition."""
    user = current_user()
    with services().sessions() as s:
        return jsonify({"attempts": disp.pending(s, user.tenant_id, user.id)})


@bp.post("/attempts/<int:attempt_id>/disposition")
@login_required()
@validated(body=DisposeBody)
def disposition(attempt_id: int, body: DisposeBody) -> Any:
    """``{"code", "recontact_at"?, "note"?}`` → what the disposition did."""
    return jsonify(dispose(attempt_id, body.code, body.recontact_at, body.note))


# ---- supervisors: campaigns, status, log ----

@bp.get("/campaigns")
@login_required(*SUPERVISORS)
@validated(query=CampaignListQuery)
def campaigns(query: CampaignListQuery) -> Any:
    """The tenant's campaigns; ``?archived=true`` includes the archived ones."""
    return jsonify({"campaigns": campaign_list(current_user().tenant_id, query.archived)})


@bp.post("/campaigns/<int:campaign_id>/status")
@login_required(*SUPERVISORS)
@validated(body=StatusBody)
def status(campaign_id: int, body: StatusBody) -> Any:
    """``{"status": "running" | "paused"}``."""
    return jsonify({"id": campaign_id, "status": set_status(campaign_id, body.status)})


@bp.get("/campaigns/<int:campaign_id>/attempts")
@login_required(*SUPERVISORS)
@validated(query=AttemptsQuery)
def attempts(campaign_id: int, query: AttemptsQuery) -> Any:
    """The compliance rows, newest first: ``?page=N&per_page=M``."""
    return jsonify(attempts_page(campaign_id, query.page, query.per_page))


# ---- dispositions of a campaign (admins change them) ----

@bp.get("/campaigns/<int:campaign_id>/dispositions")
@login_required()
@validated()
def dispositions(campaign_id: int) -> Any:
    """The codes of the campaign (its own and the tenant-wide ones)."""
    try:
        with services().sessions() as s:
            rows = disp.list_dispositions(s, current_user().tenant_id, campaign_id)
            return jsonify({"dispositions": [disp.to_json(d) for d in rows]})
    except CampaignError as err:
        raise as_panel_error(err) from err


def _save(campaign_id: int, disposition_id: int | None, body: DispositionBody) -> dict[str, Any]:
    try:
        with transaction(services().sessions) as s:
            row = disp.save_disposition(s, current_user().tenant_id, campaign_id, body.given(),
                                        disposition_id)
            return disp.to_json(row)
    except CampaignError as err:
        raise as_panel_error(err) from err


@bp.post("/campaigns/<int:campaign_id>/dispositions")
@login_required(*ADMIN)
@validated(body=DispositionBody)
def create_disposition(campaign_id: int, body: DispositionBody) -> Any:
    return jsonify(_save(campaign_id, None, body)), 201


@bp.put("/campaigns/<int:campaign_id>/dispositions/<int:disposition_id>")
@login_required(*ADMIN)
@validated(body=DispositionBody)
def update_disposition(campaign_id: int, disposition_id: int, body: DispositionBody) -> Any:
    return jsonify(_save(campaign_id, disposition_id, body))


@bp.delete("/campaigns/<int:campaign_id>/dispositions/<int:disposition_id>")
@login_required(*ADMIN)
@validated()
def delete_disposition(campaign_id: int, disposition_id: int) -> Any:
    try:
        with transaction(services().sessions) as s:
            disp.delete_disposition(s, current_user().tenant_id, campaign_id, disposition_id)
    except CampaignError as err:
        raise as_panel_error(err) from err
    return jsonify({"deleted": disposition_id})
