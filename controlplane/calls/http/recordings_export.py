"""ZIP of a selection of recordings (blueprint ``recordings_export``).

* ``POST /api/v1/recordings/exports`` ``{"ids": [...]}`` -- the ids in the user's scope
  that have a recording go into a ``recording_export`` row, and the RQ job
  :func:`controlplane.jobs.recordings_zip.build_zip` into the outbox (the panel's Redis
  user may not queue RQ jobs; the control plane does within seconds); 202;
* ``GET /api/v1/recordings/exports/<id>`` -- state and progress (``done`` of ``total``),
  polled by the page's progress bar (``web/static/recordings_zip.js``);
* ``GET /recordings/exports/<id>/download`` -- the ZIP once done.

An export is its creator's (same tenant, same user) and expires after
:data:`controlplane.jobs.recordings_zip.KEEP_S`: another user, another tenant or a late
download is "not found".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from flask import Blueprint, Response, jsonify, send_file, url_for
from pydantic import Field

from controlplane.calls.http.records import scoped
from controlplane.db import transaction
from controlplane.jobs import outbox
from controlplane.jobs.recordings_zip import JOB_TIMEOUT_S, KEEP_S, build_zip, zip_path
from controlplane.models import CallRecord
from controlplane.models.recording_tags import RecordingExport
from web.auth import current_user, login_required
from web.errors import BadParameter, NotFound
from web.schemas.common import Body
from web.services import services
from web.validation import validated

bp = Blueprint("recordings_export", __name__)

MAX_IDS = 200


class ExportBody(Body):
    """The call record ids of the recordings to put in the ZIP."""

    ids: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]],
                   Field(min_length=1, max_length=MAX_IDS)]


def export_json(row: RecordingExport) -> dict[str, Any]:
    return {
        "id": row.id, "state": row.state, "done": row.done, "total": row.total,
        "error": row.error, "expires_at": row.expires_at.isoformat(),
        "download_url": (url_for("recordings_export.download", export_id=row.id)
                         if row.state == "done" else None),
    }


def _mine(s: Any, export_id: int) -> RecordingExport:
    user = current_user()
    row = s.get(RecordingExport, export_id)
    if (row is None or row.tenant_id != user.tenant_id or row.user_id != user.id
            or row.expires_at <= datetime.now(UTC)):
        raise NotFound("no such export (or it has expired)")
    return row


@bp.post("/api/v1/recordings/exports")
@login_required()
@validated(body=ExportBody)
def api_create(body: ExportBody) -> Any:
    """Start a ZIP of the given recordings (those the user may see); 202 with its progress."""
    user, svc = current_user(), services()
    with transaction(svc.sessions) as s:
        wanted = list(dict.fromkeys(body.ids))
        found = set(s.scalars(scoped(user, s).with_only_columns(CallRecord.id).where(
            CallRecord.id.in_(wanted), CallRecord.recording_path.is_not(None))))
        ids = [i for i in wanted if i in found]
        if not ids:
            raise BadParameter("ids", "none of these is a recording you may download")
        row = RecordingExport(tenant_id=user.tenant_id, user_id=user.id,
                              record_ids=",".join(map(str, ids)), total=len(ids),
                              expires_at=datetime.now(UTC) + timedelta(seconds=KEEP_S))
        s.add(row)
        s.flush()
        export_id = row.id
        out = export_json(row)
    # after the row's commit: the job must find it
    outbox.keep(svc.sessions, outbox.make_spec(build_zip, (export_id,),
                                               job_id=f"recordings-zip-{export_id}",
                                               options={"job_timeout": JOB_TIMEOUT_S}))
    return jsonify({"export": out}), 202


@bp.get("/api/v1/recordings/exports/<int:export_id>")
@login_required()
@validated()
def api_get(export_id: int) -> Any:
    """An export's state and progress (``done`` of ``total``) and, once done, its URL."""
    with services().sessions() as s:
        return jsonify({"export": export_json(_mine(s, export_id))})


@bp.get("/recordings/exports/<int:export_id>/download")
@login_required()
def download(export_id: int) -> Response:
    svc = services()
    with svc.sessions() as s:
        row = _mine(s, export_id)
        state = row.state
    path = zip_path(svc.settings.runtime_dir, export_id)
    if state != "done" or not path.is_file():
        raise NotFound("this export is not ready")
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"recordings-{export_id}.zip", max_age=0)
