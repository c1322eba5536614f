"""The contact-import pages: upload a CSV into a campaign and watch it run.

* ``GET /campaigns/<id>/import``: the upload form, the columns a file may have, and the
  campaign's past imports with their counts.
* ``POST /campaigns/<id>/import``: stores the file through
  :func:`.imports.start` (the same code as ``POST /api/v1/campaigns/<id>/imports``: one
  import path, one size limit) and redirects to the import's page.
* ``GET /campaigns/imports/<id>``: the import's progress. The numbers are rendered at once;
  ``web/static/import_progress.js`` then polls ``GET /api/v1/imports/<id>`` every second
  (backing off up to ten seconds while it fails) until the import is done or failed, and
  moves the progress bar. The bar's total is the file's line count, measured once here
  while the file is still stored (it is deleted when the import is done).

Admins and supervisors of the campaign's tenant, as the API.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from controlplane.campaigns import csv_rows, import_runs
from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.http.imports import start
from controlplane.campaigns.http.pages import SUPERVISORS, as_panel_error
from controlplane.errors import CentralaError
from controlplane.models import Campaign
from controlplane.models.imports import ContactImport, ContactImportFile
from web.auth import current_user, login_required
from web.errors import NotFound
from web.services import services

bp = Blueprint("import_pages", __name__)
PAST = 50  # past imports listed

STATES = {"queued": lazy_gettext("Waiting for the worker"), "running": lazy_gettext("Running"),
          "done": lazy_gettext("Done"), "failed": lazy_gettext("Failed")}


def _campaign(s: Any, campaign_id: int) -> Campaign:
    campaign = s.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant_id != current_user().tenant_id:
        raise NotFound(f"no campaign #{campaign_id}")
    return campaign


def _form(campaign_id: int, error: str | None = None, status: int = 200) -> Any:
    with services().sessions() as s:
        campaign = _campaign(s, campaign_id)
        past = list(s.scalars(select(ContactImport).where(
            ContactImport.campaign_id == campaign_id,
            ContactImport.tenant_id == campaign.tenant_id)
            .order_by(ContactImport.id.desc()).limit(PAST)))
        name = campaign.name
    return render_template("campaign_import.html", campaign_id=campaign_id, name=name,
                           past=past, error=error, states=STATES,
                           fields=csv_rows.FIELDS), status


@bp.get("/campaigns/<int:campaign_id>/import")
@login_required(*SUPERVISORS)
def form(campaign_id: int) -> Any:
    return _form(campaign_id)


@bp.post("/campaigns/<int:campaign_id>/import")
@login_required(*SUPERVISORS)
def upload(campaign_id: int) -> Any:
    sent = request.files.get("file")
    if not isinstance(sent, FileStorage) or not sent.filename:
        return _form(campaign_id, _("Choose a CSV file to import."), 400)
    try:
        started = start(campaign_id, sent)
    except CentralaError as err:
        if err.status == 404:
            raise
        return _form(campaign_id, _("The file was not imported: %(reason)s",
                                    reason=err.message), err.status)
    return redirect(url_for("import_pages.progress", import_id=started.id))


def _lines(s: Any, import_id: int) -> int | None:
    """The stored file's line count (header included), None once it is gone."""
    content = s.scalar(select(ContactImportFile.content)
                       .where(ContactImportFile.import_id == import_id))
    if content is None:
        return None
    return int(content.count(b"\n") + (0 if content.endswith(b"\n") else 1))


@bp.get("/campaigns/imports/<int:import_id>")
@login_required(*SUPERVISORS)
def progress(import_id: int) -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        try:
            p = import_runs.progress(s, tid, import_id)
        except CampaignError as err:
            raise as_panel_error(err) from err
        name = _campaign(s, p.campaign_id).name
        lines = _lines(s, import_id) if not p.finished else None
    total = max(1, (lines - 1) if lines else p.rows_read)
    return render_template(
        "campaign_import_progress.html", p=p, name=name, total=total, states=STATES,
        progress_url=url_for("imports.status", import_id=import_id),
        rejected_url=url_for("imports.rejected", import_id=import_id),
        states_json={k: str(v) for k, v in STATES.items()})
