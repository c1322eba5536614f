"""IVR pages: flows and their versions, upload with errors in place, publish, rollback, DIDs, graph.

Admins change things; supervisors see the same pages read-only; agents get 403.
Everything is looked up inside the logged-in user's tenant, so another
tenant's flow is simply "not found". The store rules (validation, immutable
published versions, tenant checks) live in :mod:`controlplane.ivr.store` and :mod:`controlplane.ivr.did_store`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from controlplane.db import transaction
from controlplane.ivr import changes, did_store, store
from controlplane.ivr import exceptions as ivr_errors
from controlplane.ivr.http.flow_graph import render_svg
from controlplane.ivr.http.flow_source import Annotated, annotate, annotate_text
from controlplane.models import Role
from controlplane.models.ivr import IvrFlow, IvrFlowVersion
from ivr_flows import json_text
from ivr_flows.validator import FlowError, too_deep
from web.auth import client_address, current_user, login_required
from web.errors import BadParameter, NotFound, PanelError
from web.request_limits import MAX_ID
from web.services import services

bp = Blueprint("ivr", __name__)

READERS = (Role.ADMIN, Role.SUPERVISOR)


class Conflict(PanelError):
    status = 409
    error_id = "conflict"


class InvalidFlow(PanelError):
    status = 422
    error_id = "invalid_flow"


@contextmanager
def _store_errors() -> Iterator[None]:
    """Turn the store's errors into panel errors (status, id, message)."""
    try:
        yield
    except ivr_errors.FlowNotFound as err:
        raise NotFound(str(err)) from err
    except ivr_errors.FlowInvalid as err:
        raise InvalidFlow(str(err), details={"errors": [e.__dict__ for e in err.errors]}) from err
    except (ivr_errors.PublishedVersionImmutable, ivr_errors.NotPublished) as err:
        raise Conflict(str(err)) from err


def actor() -> changes.Actor:
    """The logged-in user as the author of a change (audit row, version's author)."""
    user = current_user()
    return changes.Actor(user.id, user.address, client_address())


def _flow(s: Session, name: str) -> IvrFlow:
    try:
        store.check_name(name)
    except ivr_errors.FlowInvalid:  # no flow can have that name
        raise NotFound(f"no IVR flow named {name[:80]!r}") from None
    with _store_errors():
        return store.get_flow(s, current_user().tenant_id, name)


@bp.get("/ivr")
@login_required(*READERS)
def index() -> Any:
    user = current_user()
    with services().sessions() as s:
        flows = store.list_flows(s, user.tenant_id)
        rows = [(flow, store.versions(s, flow.id)) for flow in flows]
        dids = did_store.dids_of(s, user.tenant_id)
        flow_names = {flow.id: flow.name for flow in flows}
    return render_template("ivr.html", rows=rows, dids=dids, flow_names=flow_names)


@bp.post("/ivr/upload")
@login_required(Role.ADMIN)
def upload() -> Any:
    """Validate an uploaded (or re-posted) flow; with ``action=save`` store it as a draft."""
    user = current_user()
    text = _uploaded_text()
    name = request.form.get("name", "").strip() or None
    save = request.form.get("action") == "save"
    try:
        doc = json_text.loads(text)
    except json_text.TooDeep as err:
        error = too_deep()
        return _check_page(annotate_text(text, error, err.line), name or "", text, 1), 422
    except ValueError as err:
        error = FlowError("", "json", f"not valid JSON: {err}", "fix the JSON syntax")
        lineno = getattr(err, "lineno", None)
        return _check_page(annotate_text(text, error, lineno), name or "", text, 1), 422
    if name is None and isinstance(doc, dict) and isinstance(doc.get("id"), str):
        name = doc["id"]
    with services().sessions() as s:
        errors = changes.upload_errors(s, user.tenant_id, name or "", doc)
    annotated = annotate(doc, errors)
    if errors or not save:
        return _check_page(annotated, name or "", text, len(errors)), 422 if errors else 200
    assert name is not None
    with transaction(services().sessions) as s, _store_errors():
        version = changes.save(s, user.tenant_id, name, doc, actor())
        number = version.version
    return redirect(url_for("ivr.version", name=name, number=number))


def _uploaded_text() -> str:
    upload = request.files.get("file")
    raw: bytes
    if upload is not None and upload.filename:
        raw = upload.read()
    else:
        raw = request.form.get("document", "").encode("utf-8")
    if not raw.strip():
        raise PanelError("choose a flow JSON file to upload")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PanelError(f"the file is not UTF-8 text (byte {err.start})") from err


def _check_page(annotated: Annotated, name: str, text: str, count: int) -> str:
    page: str = render_template(
        "ivr_check.html", source=annotated, name=name, document=text, error_count=count
    )
    return page


@bp.get("/ivr/flows/<name>")
@login_required(*READERS)
def flow(name: str) -> BaseResponse:
    """The version new calls get, or the newest when none is published yet."""
    with services().sessions() as s:
        found = _flow(s, name)
        rows = store.versions(s, found.id)
        current = next((v for v in rows if v.id == found.current_version_id), None)
        shown = current or (rows[-1] if rows else None)
    if shown is None:
        raise NotFound(f"flow {name!r} has no versions")
    return redirect(url_for("ivr.version", name=name, number=shown.version))


@bp.get("/ivr/flows/<name>/v/<int:number>")
@login_required(*READERS)
def version(name: str, number: int) -> Any:
    user = current_user()
    with services().sessions() as s:
        found = _flow(s, name)
        with _store_errors():
            row = store.get_version(s, found.id, number)
        rows = store.versions(s, found.id)
        dids = [d.number for d in did_store.dids_of(s, user.tenant_id) if d.flow_id == found.id]
        graph = Markup(render_svg(store.parsed(row), title=f"{name} v{number}"))
        source = annotate(json.loads(row.document), [])
    return render_template(
        "ivr_flow.html",
        flow=found,
        rows=rows,
        shown=row,
        dids=dids,
        graph=graph,
        source=source,
    )


@bp.get("/ivr/flows/<name>/v/<int:number>/graph.svg")
@login_required(*READERS)
def graph(name: str, number: int) -> Response:
    with services().sessions() as s:
        found = _flow(s, name)
        with _store_errors():
            row = store.get_version(s, found.id, number)
        svg = render_svg(store.parsed(row), title=f"{name} v{number}")
    return Response(svg, mimetype="image/svg+xml")


@bp.post("/ivr/flows/<name>/v/<int:number>/publish")
@login_required(Role.ADMIN)
def publish(name: str, number: int) -> BaseResponse:
    user = current_user()
    with transaction(services().sessions) as s, _store_errors():
        changes.publish(s, user.tenant_id, name, number, actor())
    return redirect(url_for("ivr.version", name=name, number=number))


@bp.post("/ivr/flows/<name>/rollback")
@login_required(Role.ADMIN)
def rollback(name: str) -> BaseResponse:
    user = current_user()
    number = _int_field("version")
    with transaction(services().sessions) as s, _store_errors():
        changes.rollback(s, user.tenant_id, name, number, actor())
    return redirect(url_for("ivr.version", name=name, number=number))


@bp.post("/ivr/dids")
@login_required(Role.ADMIN)
def bind_did() -> BaseResponse:
    user = current_user()
    number = request.form.get("did", "").strip()
    flow_name = request.form.get("flow", "").strip() or None
    if not number:
        raise PanelError("choose a DID")
    with transaction(services().sessions) as s, _store_errors():
        did_store.bind_did(s, user.tenant_id, number, flow_name)
    return redirect(url_for("ivr.index"))


def _int_field(name: str) -> int:
    raw = request.form.get(name, "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 1 <= int(raw) <= MAX_ID):
        raise BadParameter(name, f"expected a version number, got {raw[:20]!r}")
    return int(raw)


@bp.app_template_filter("short_sha")
def short_sha(version: IvrFlowVersion) -> str:
    return version.sha256[:12]
