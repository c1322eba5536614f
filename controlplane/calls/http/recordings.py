"""Call recordings over ``/api/v1``: list (filter, pages), metadata and the audio file.

* ``GET /api/v1/recordings`` -- calls that have a recording, newest first, with the
  recordings app's search (:mod:`.recordings_search`): ``from``/``to`` (the tenant's zone),
  ``number``, ``agent``, ``queue``, ``campaign``, ``disposition``, ``min_duration``/
  ``max_duration``, ``tag``, ``page``/``per_page``;
* ``GET /api/v1/recordings/<id>`` -- one recording's metadata (``id`` is the call record's);
* ``GET /api/v1/recordings/<id>/audio`` -- the WAV, with the page route's checks
  (:func:`controlplane.calls.http.pages.recording_response`).

A recording is a call record with a recording file; the scope is the call records' own
(:func:`controlplane.calls.http.records.scoped`: the tenant, and for an agent only calls on
their phones), so the API shows exactly what the records page links to. Asterisk's
recording metadata (policy, who started it, status) comes from ``call_recording`` rows
when the call has them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.calls.http.pages import recording_response
from controlplane.calls.http.recordings_search import (
    Details,
    RecordingSearchQuery,
    details,
    search,
)
from controlplane.calls.http.records import RecordRow, get_record
from controlplane.models import PhoneEndpoint, User
from controlplane.models.recordings import CallRecording
from web.api.responses import responds
from web.auth import current_user, login_required
from web.errors import NotFound
from web.services import services
from web.validation import validated

bp = Blueprint("recordings_api", __name__, url_prefix="/api/v1/recordings")


def _parts(s: Session, call_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Asterisk's recordings of each call (a call may have several: transfer, on demand)."""
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in call_ids}
    if not call_ids:
        return out
    rows = s.scalars(select(CallRecording).where(CallRecording.call_id.in_(call_ids))
                     .order_by(CallRecording.started_at, CallRecording.id))
    for r in rows:
        out[r.call_id].append({"policy": r.policy, "started_by": r.started_by, "queue": r.queue,
                               "status": r.status, "started_at": r.started_at.isoformat(),
                               "duration_s": r.duration_s})
    return out


def recording_json(row: RecordRow, parts: list[dict[str, Any]],
                   more: Details | None = None) -> dict[str, Any]:
    r, more = row.record, more or Details()
    return {
        "id": r.id,
        "call_id": r.call_id,
        "started_at": r.started_at.isoformat(),
        "ended_at": r.ended_at.isoformat() if r.ended_at else None,
        "direction": r.direction,
        "caller": r.caller,
        "callee": r.callee,
        "did": r.did,
        "queue": r.queue,
        "agent_endpoint": r.agent_endpoint,
        "agent_name": row.agent_name,
        "duration_s": r.recording_duration_s,
        "audio_url": url_for("recordings_api.api_audio", record_id=r.id),
        "campaign": more.campaign,
        "disposition": more.disposition,
        "tags": more.tags,
        "parts": parts,
    }


@bp.get("")
@login_required()
@validated(query=RecordingSearchQuery)
def api_list(query: RecordingSearchQuery) -> Any:
    """Calls with a recording, newest first: the recordings app's search
    (:mod:`.recordings_search`: dates in the tenant's zone, number, agent, queue, campaign,
    disposition, duration, tag)."""
    user = current_user()
    with services().sessions() as s:
        page = search(s, user, query)
        parts = _parts(s, [r.record.call_id for r in page.rows])
        more = details(s, user.tenant_id, [r.record for r in page.rows])
        items = [recording_json(r, parts[r.record.call_id], more[r.record.id])
                 for r in page.rows]
    return jsonify({"recordings": items, "page": page.page, "per_page": page.per_page,
                    "total": page.total, "pages": page.pages})


@bp.get("/<int:record_id>")
@login_required()
@validated()
def api_get(record_id: int) -> Any:
    """One recording's metadata: the call, the agent, the queue, Asterisk's parts."""
    with services().sessions() as s:
        record = get_record(s, current_user(), record_id)
        if record is None or not record.recording_path:
            raise NotFound("no such recording")
        agent = None
        if record.agent_endpoint:
            phone = s.scalar(select(PhoneEndpoint).where(
                PhoneEndpoint.tenant_id == record.tenant_id,
                PhoneEndpoint.name == record.agent_endpoint))
            if phone is not None and phone.user_id is not None:
                owner = s.get(User, phone.user_id)
                agent = (owner.display_name or owner.login) if owner is not None else None
        body = recording_json(RecordRow(record, agent), _parts(s, [record.call_id])[record.call_id],
                              details(s, record.tenant_id or 0, [record])[record.id])
    return jsonify({"recording": body})


@bp.get("/<int:record_id>/audio")
@login_required()
@responds(None, 200, "audio/wav")
@validated()
def api_audio(record_id: int) -> Response:
    """The recording as a WAV file (``audio/wav``)."""
    return recording_response(record_id)
