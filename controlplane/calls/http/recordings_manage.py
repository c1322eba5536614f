"""Tags, deletion and retention of recordings: page forms and ``/api/v1`` (blueprint
``recordings_manage``), for supervisors and administrators.

* ``POST /api/v1/recordings/<id>/tags`` ``{"tag": "…"}`` and
  ``DELETE /api/v1/recordings/<id>/tags/<tag>``: the recording's tags afterwards;
* ``DELETE /api/v1/recordings/<id>``: the file and its metadata go, the call record stays
  (:mod:`controlplane.recordings.store` says why), audited ``recording.deleted``;
* ``GET``/``PUT /api/v1/recordings/retention`` ``{"retention_days": N | null}``: the
  tenant's "delete recordings after N days" (null: keep forever); changing it is the
  administrators'.

The page's forms post to ``/recordings/<id>/tags``, ``/recordings/<id>/tags/remove``,
``/recordings/<id>/delete`` and ``/recordings/retention`` and go back to the list.
A record is looked up in the user's scope (:func:`~.records.get_record`): another tenant's
is "not found".
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from pydantic import Field
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.calls.http.records import get_record
from controlplane.db import transaction
from controlplane.models import CallRecord, Role
from controlplane.models.recording_tags import RETENTION_MAX_DAYS, TAG_MAX
from controlplane.recordings import store
from web.auth import client_address, current_user, login_required
from web.errors import BadParameter, FieldProblem, Invalid, NotFound
from web.schemas.common import ONE_LINE, Body, Form
from web.services import services
from web.validation import parse_form, validated

bp = Blueprint("recordings_manage", __name__)

MANAGERS = (Role.ADMIN, Role.SUPERVISOR)


class TagBody(Body):
    """A tag's name (made on first use)."""

    tag: Annotated[str, Field(min_length=1, max_length=TAG_MAX), ONE_LINE]


class RetentionBody(Body):
    """Days a recording is kept (null: forever)."""

    retention_days: Annotated[int, Field(ge=1, le=RETENTION_MAX_DAYS)] | None


class TagForm(Form):
    tag: Annotated[str, Field(max_length=TAG_MAX), ONE_LINE] = ""


class RetentionForm(Form):
    retention_days: Annotated[str, Field(max_length=6), ONE_LINE] = ""


def _recorded(s: Session, record_id: int) -> CallRecord:
    record = get_record(s, current_user(), record_id)
    if record is None or not record.recording_path:
        raise NotFound("no such recording")
    return record


def _tag(record_id: int, tag: str, *, add: bool) -> list[str]:
    user = current_user()
    with transaction(services().sessions) as s:
        _recorded(s, record_id)
        try:
            if add:
                return store.add_tag(s, user.tenant_id, record_id, tag)
            return store.remove_tag(s, user.tenant_id, record_id, tag)
        except store.RecordingProblem as err:
            raise Invalid([FieldProblem("tag", str(err), "/tag")]) from None


def _delete(record_id: int) -> None:
    user, svc = current_user(), services()
    with transaction(svc.sessions) as s:
        files = store.delete_recording(s, svc.settings.recordings_dir, _recorded(s, record_id),
                                       actor=user.address, source=client_address(),
                                       reason="user")
    store.unlink(files)


def _set_retention(days: int | None) -> None:
    user = current_user()
    with transaction(services().sessions) as s:
        store.set_retention(s, user.tenant_id, days, actor=user.address,
                            source=client_address())


def _back() -> BaseResponse:
    # back to the list the form was on (its query string), never to another site
    query = request.args.get("back", "")
    target = url_for("recordings.page")
    return redirect(f"{target}?{query}" if query and "://" not in query else target)


@bp.post("/api/v1/recordings/<int:record_id>/tags")
@login_required(*MANAGERS)
@validated(body=TagBody)
def api_add_tag(record_id: int, body: TagBody) -> Any:
    """Tag a recording; answers its tags."""
    return jsonify({"tags": _tag(record_id, body.tag, add=True)})


@bp.delete("/api/v1/recordings/<int:record_id>/tags/<string:tag>")
@login_required(*MANAGERS)
@validated()
def api_remove_tag(record_id: int, tag: str) -> Any:
    """Untag a recording; answers its tags."""
    return jsonify({"tags": _tag(record_id, tag, add=False)})


@bp.delete("/api/v1/recordings/<int:record_id>")
@login_required(*MANAGERS)
@validated()
def api_delete(record_id: int) -> Any:
    """Delete a recording (the call record stays), audited."""
    _delete(record_id)
    return jsonify({"deleted": record_id})


@bp.get("/api/v1/recordings/retention")
@login_required(*MANAGERS)
@validated()
def api_retention() -> Any:
    """The tenant's retention: recordings are deleted after ``retention_days`` (null: kept)."""
    with services().sessions() as s:
        return jsonify({"retention_days": store.retention_days(s, current_user().tenant_id)})


@bp.put("/api/v1/recordings/retention")
@login_required(Role.ADMIN)
@validated(body=RetentionBody)
def api_set_retention(body: RetentionBody) -> Any:
    """Set the tenant's retention (null: keep recordings forever); audited."""
    _set_retention(body.retention_days)
    return jsonify({"retention_days": body.retention_days})


@bp.post("/recordings/<int:record_id>/tags")
@login_required(*MANAGERS)
def add_tag(record_id: int) -> BaseResponse:
    form = parse_form(TagForm)
    if form.tag.strip():
        _tag(record_id, form.tag, add=True)
        flash(_("Tag added."), "ok")
    return _back()


@bp.post("/recordings/<int:record_id>/tags/remove")
@login_required(*MANAGERS)
def remove_tag(record_id: int) -> BaseResponse:
    _tag(record_id, parse_form(TagForm).tag, add=False)
    flash(_("Tag removed."), "ok")
    return _back()


@bp.post("/recordings/<int:record_id>/delete")
@login_required(*MANAGERS)
def delete(record_id: int) -> BaseResponse:
    _delete(record_id)
    flash(_("Recording deleted."), "ok")
    return _back()


@bp.post("/recordings/retention")
@login_required(Role.ADMIN)
def retention() -> BaseResponse:
    raw = parse_form(RetentionForm).retention_days.strip()
    if raw and (not raw.isdigit() or not 1 <= int(raw) <= RETENTION_MAX_DAYS):
        raise BadParameter("retention_days",
                           f"a number of days from 1 to {RETENTION_MAX_DAYS}, or empty")
    _set_retention(int(raw) if raw else None)
    flash(_("Retention saved."), "ok")
    return _back()
