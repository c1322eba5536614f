"""Pages: live calls (with their event stream), call records and recording downloads."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from controlplane.calls.http.live import event_stream, live_calls
from controlplane.calls.http.records import (
    RecordFilter,
    find_records,
    get_record,
    own_endpoints,
    parse_filter,
)
from controlplane.config import Settings
from controlplane.models import CallRecord
from web.auth import current_user, login_required, session_still_live
from web.errors import Invalid, NotFound
from web.services import services

log = logging.getLogger(__name__)

bp = Blueprint("calls", __name__)

_STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
FILTER_ARGS = ("from", "to", "number", "per_page")


@bp.app_template_filter("when")
def when(value: datetime | str | None) -> str:
    """A UTC timestamp to the second (ISO strings from Redis too)."""
    if value is None or value == "":
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    assert isinstance(moment, datetime)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_filter("secs")
def secs(value: float | None) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` past an hour)."""
    if value is None:
        return ""
    minutes, seconds = divmod(round(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@bp.get("/")
@login_required()
def index() -> BaseResponse:
    return redirect(url_for("calls.records"))


@bp.get("/calls/live")
@login_required()
def live() -> Any:
    svc, user = services(), current_user()
    with svc.sessions() as s:
        endpoints = own_endpoints(s, user)
    error = None
    try:
        calls = live_calls(svc.redis, user, endpoints)
    except redis.RedisError as err:
        log.warning("live calls unavailable: %s", err)
        calls, error = [], "live data unavailable (Redis is not reachable)"
    return render_template("live.html", calls=calls, error=error), 503 if error else 200


@bp.get("/calls/live/stream")
@login_required()
def live_stream() -> Response:
    svc, user = services(), current_user()
    with svc.sessions() as s:
        endpoints = own_endpoints(s, user)
    last_id = request.headers.get("Last-Event-ID", "")
    events = event_stream(
        svc.redis,
        user,
        endpoints,
        block_ms=current_app.config["SSE_BLOCK_MS"],
        max_age_s=current_app.config["SSE_MAX_AGE_S"],
        last_event_id=last_id if _STREAM_ID.match(last_id) else None,
        still_live=session_still_live,
    )
    resp = Response(stream_with_context(events), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Accel-Buffering"] = "no"  # if a proxy is ever put in front
    return resp


@bp.get("/calls/records")
@login_required()
def records() -> Any:
    user = current_user()
    try:
        flt = parse_filter()
        error = None
    except Invalid as err:
        flt, error = RecordFilter(), err.message
    with services().sessions() as s:
        page = find_records(s, user, flt) if error is None else None
    # Only known parameters go back into the paging links (they become url_for arguments).
    args = {k: v for k, v in request.args.items() if k in FILTER_ARGS and v}
    return render_template("records.html", page=page, args=args, error=error), (
        400 if error else 200
    )


def recording_file(settings: Settings, record: CallRecord) -> Path | None:
    """The record's WAV if it exists inside the recordings directory, else None.

    Relative paths are taken relative to the recordings directory; a path that
    resolves outside it is refused so a bad row can never expose another file.
    """
    if not record.recording_path:
        return None
    root = settings.recordings_dir.resolve()
    path = (root / record.recording_path).resolve()
    if not path.is_relative_to(root):
        log.warning("record %s: recording path outside %s refused", record.id, root)
        return None
    return path if path.is_file() else None


@bp.get("/calls/records/<int:record_id>/recording")
@login_required()
def recording(record_id: int) -> Response:
    return recording_response(record_id)


def recording_response(record_id: int) -> Response:
    """The record's WAV for the logged-in user (the page and ``/api/v1/recordings/<id>/audio``):
    a record out of their scope, or without a recording file, is "not found"."""
    svc = services()
    with svc.sessions() as s:
        record = get_record(s, current_user(), record_id)
    if record is None:
        raise NotFound("no such call record")
    path = recording_file(svc.settings, record)
    if path is None:
        raise NotFound("this call has no recording")
    return send_file(
        path,
        mimetype="audio/wav",
        download_name=f"call-{record.id}.wav",
        conditional=True,
        max_age=0,
    )
