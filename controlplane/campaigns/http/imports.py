"""Contact imports over the JSON API (``/api/v1``), for admins and supervisors of the
campaign's tenant:

* ``POST /campaigns/<id>/imports``: a multipart upload (field ``file``, a UTF-8 CSV, at
  most ``IMPORT_MAX_BYTES``) → 202 with the import's progress; the job runs on the worker.
  The form is :class:`~.schemas.ImportUpload`: a missing file, a text field in
  its place or any other field or parameter is a 400 ``bad_parameter`` naming it.
* ``GET /imports/<id>``: its progress (state, rows read, imported, updated, rejected, error).
* ``GET /imports/<id>/rejected.csv``: every rejected row (line, column, reason).

The panel's upload page (:mod:`.import_pages`) stores its file through :func:`start`,
the same code as the API: there is one import path.

The two ``GET`` take no parameters (``@validated()`` refuses any by name).

The panel never queues RQ jobs itself (its Redis user may not); it leaves the job in the
outbox (:func:`controlplane.jobs.imports.keep`) and the control plane queues it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, url_for
from werkzeug.datastructures import FileStorage

from controlplane.campaigns import csv_rows, import_runs
from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.http.pages import SUPERVISORS, as_panel_error
from controlplane.campaigns.http.schemas import ImportUpload
from controlplane.db import transaction
from controlplane.jobs import imports as import_jobs
from web.auth import current_user, login_required
from web.errors import BadParameter, PanelError
from web.request_limits import allow_uploads
from web.services import services
from web.validation import validated

bp = Blueprint("imports", __name__, url_prefix="/api/v1")
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
UPLOADS = ("imports.upload", "import_pages.upload")  # the API's and the page's


class TooLarge(PanelError):
    status = 413
    error_id = "too_large"


def _limit() -> int:
    configured = int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))
    return min(configured, csv_rows.MAX_FILE_BYTES)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"the file is larger than the {limit // 1024} KiB an upload may be; split it, or "
        f"import it with `centrala campaign import`",
        details={"max_bytes": limit},
    )


def install(app: Flask) -> None:
    """Register the blueprint and the upload limit of the API's and the page's upload."""
    app.register_blueprint(bp)
    allow_uploads(app, UPLOADS, _limit, _too_large)


@bp.post("/campaigns/<int:campaign_id>/imports")
@login_required(*SUPERVISORS)
@validated(form=ImportUpload)
def upload(campaign_id: int, form: ImportUpload) -> Any:
    """Store the uploaded CSV as an import of the campaign and queue its job."""
    return jsonify(_body(start(campaign_id, form.file))), 202


def start(campaign_id: int, sent: FileStorage) -> import_runs.Progress:
    """Store ``sent`` as a queued import of the campaign and leave its job in the outbox:
    the one import path of the API and the panel's upload page. Raises TooLarge, a
    BadParameter naming ``file`` (not UTF-8) or NotFound (another tenant's campaign)."""
    limit = _limit()
    data = sent.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    try:
        csv_rows.decode(data)
    except csv_rows.FileRejected as err:
        raise BadParameter("file", str(err)) from err
    user = current_user()
    svc = services()
    try:
        with transaction(svc.sessions) as s:
            started = import_runs.create(
                s, user.tenant_id, campaign_id, sent.filename or "upload.csv", data,
                created_by=user.id,
            )
    except CampaignError as err:
        raise as_panel_error(err) from err
    import_jobs.keep(svc.sessions, started.id)
    return started


def _body(p: import_runs.Progress) -> dict[str, Any]:
    return {
        **p.to_json(),
        "progress_url": url_for("imports.status", import_id=p.id),
        "rejected_url": url_for("imports.rejected", import_id=p.id),
    }


@bp.get("/imports/<int:import_id>")
@login_required(*SUPERVISORS)
@validated()
def status(import_id: int) -> Any:
    """The import's progress."""
    try:
        with services().sessions() as s:
            return jsonify(_body(import_runs.progress(s, current_user().tenant_id, import_id)))
    except CampaignError as err:
        raise as_panel_error(err) from err


@bp.get("/imports/<int:import_id>/rejected.csv")
@login_required(*SUPERVISORS)
@validated()
def rejected(import_id: int) -> Response:
    """The rejected rows as CSV (``line,column,reason``), in file order."""
    try:
        with services().sessions() as s:
            rows = import_runs.rejected_rows(s, current_user().tenant_id, import_id)
    except CampaignError as err:
        raise as_panel_error(err) from err
    return Response(
        import_runs.rejected_csv(rows),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="import-{import_id}-rejected.csv"'
        },
    )
