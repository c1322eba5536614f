"""Prompts (the tenant's own recordings flows play as ``{"audio": name}``) in the panel and
the API; the rules are :mod:`controlplane.ivr.prompts`.

Page ``/ivr/prompts``: each prompt with its length, the published flows that play it and
a player; admins upload (a name already used replaces that recording) and delete (a prompt
a published flow plays is refused, naming the flows).

API (multipart for the upload, as ``curl -F name=welcome -F file=@welcome.wav``):
``GET|POST /api/v1/prompts``, ``GET|DELETE /api/v1/prompts/<name>``,
``GET /api/v1/prompts/<name>/audio`` (the stored 8 kHz WAV).

Reads for admins and supervisors, changes for admins, as the flows. The upload may be up
to :data:`controlplane.audio_store.MAX_BYTES` (above the panel's usual request limit).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from controlplane import audio_store
from controlplane.db import transaction
from controlplane.errors import CentralaError
from controlplane.ivr import prompts
from controlplane.ivr.http.pages import READERS, actor
from controlplane.ivr.http.schemas import PromptUpload
from controlplane.models import Role
from web.auth import current_user, login_required
from web.errors import PanelError
from web.request_limits import allow_uploads
from web.services import services
from web.validation import parse_form, validated

bp = Blueprint("ivr_prompts", __name__)
UPLOADS = ("ivr_prompts.upload_page", "ivr_prompts.api_upload")


class TooLarge(PanelError):
    status = 413
    error_id = "too_large"


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"a prompt may be at most {limit // 1024 // 1024} MiB; send a shorter "
                    "or compressed recording", details={"max_bytes": limit})


def install(app: Flask) -> None:
    """Register the blueprint and the upload limit of its two upload views."""
    app.register_blueprint(bp)
    allow_uploads(app, UPLOADS, lambda: audio_store.MAX_BYTES, _too_large)


def _upload(form: PromptUpload) -> prompts.Prompt:
    data = form.file.read(audio_store.MAX_BYTES + 1)
    if len(data) > audio_store.MAX_BYTES:
        raise _too_large(audio_store.MAX_BYTES)
    svc = services()
    with transaction(svc.sessions) as s:
        return prompts.upload(s, svc.settings, current_user().tenant_id, form.name, data,
                              actor())


def _delete(name: str) -> None:
    with transaction(services().sessions) as s:
        path = prompts.delete(s, current_user().tenant_id, name, actor())
    prompts.remove_file(path)  # committed: the row is gone, now its file


def _audio(name: str) -> BaseResponse:
    with services().sessions() as s:
        row = prompts.row(s, current_user().tenant_id, name)
        path = row.path
    return send_file(path, mimetype="audio/wav", download_name=f"{name}.wav",
                     conditional=True, max_age=0)


# ---- pages ----

@bp.get("/ivr/prompts")
@login_required(*READERS)
def page() -> str:
    with services().sessions() as s:
        rows = prompts.listing(s, current_user().tenant_id)
    return render_template("ivr_prompts.html", prompts=rows,
                           max_mib=audio_store.MAX_BYTES // 1024 // 1024,
                           max_min=audio_store.MAX_SECONDS // 60)


@bp.post("/ivr/prompts")
@login_required(Role.ADMIN)
def upload_page() -> BaseResponse:
    try:
        saved = _upload(parse_form(PromptUpload))
    except (CentralaError, PanelError) as err:
        flash(_("Prompt not saved: %(why)s", why=str(err)), "error")
    else:
        flash(_("Prompt %(name)s saved (%(s)s s).", name=saved.name,
                s=f"{saved.duration_s:.1f}"), "ok")
    return redirect(url_for("ivr_prompts.page"), 303)


@bp.get("/ivr/prompts/<name>/audio")
@login_required(*READERS)
def audio_page(name: str) -> BaseResponse:
    return _audio(name)


@bp.post("/ivr/prompts/<name>/delete")
@login_required(Role.ADMIN)
def delete_page(name: str) -> BaseResponse:
    try:
        _delete(name)
    except CentralaError as err:
        flash(_("Prompt not deleted: %(why)s", why=str(err)), "error")
    else:
        flash(_("Prompt %(name)s deleted.", name=name), "ok")
    return redirect(url_for("ivr_prompts.page"), 303)


# ---- API ----

@bp.get("/api/v1/prompts")
@login_required(*READERS)
@validated()
def api_list() -> Any:
    """The tenant's prompts: name, length, the published flows that play each."""
    with services().sessions() as s:
        rows = prompts.listing(s, current_user().tenant_id)
    return jsonify({"prompts": [p.to_json() for p in rows]})


@bp.post("/api/v1/prompts")
@login_required(Role.ADMIN)
@validated(form=PromptUpload)
def api_upload(form: PromptUpload) -> Any:
    """Convert and store a recording as prompt ``name`` (replacing one of that name)."""
    return jsonify({"prompt": _upload(form).to_json()}), 201


@bp.get("/api/v1/prompts/<name>")
@login_required(*READERS)
@validated()
def api_get(name: str) -> Any:
    """One prompt: its length and the published flows that play it."""
    tid = current_user().tenant_id
    with services().sessions() as s:
        found = next((p for p in prompts.listing(s, tid) if p.name == name), None)
        if found is None:
            prompts.row(s, tid, name)  # raises the 404
    assert found is not None
    return jsonify({"prompt": found.to_json()})


@bp.get("/api/v1/prompts/<name>/audio")
@login_required(*READERS)
@validated()
def api_audio(name: str) -> BaseResponse:
    """The stored recording (WAV, 8 kHz mono)."""
    return _audio(name)


@bp.delete("/api/v1/prompts/<name>")
@login_required(Role.ADMIN)
@validated()
def api_delete(name: str) -> Any:
    """Delete a prompt no published flow plays (409 ``in_use`` naming the flows)."""
    _delete(name)
    return jsonify({"deleted": name})
