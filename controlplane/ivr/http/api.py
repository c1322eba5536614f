"""IVR flows over ``/api/v1``: the same reads and changes as the IVR pages.

* ``GET  /api/v1/ivr-flows`` -- each flow: published version, drafts, DIDs routed to it;
* ``GET  /api/v1/ivr-flows/<name>`` -- its versions (author, times) and the published one;
* ``GET  /api/v1/ivr-flows/<name>/versions/<n>`` -- one version with its source;
* ``POST /api/v1/ivr-flows`` -- the flow document as the JSON body (what the upload page
  takes: JSON, nothing else) stored as the next draft; ``?name=`` overrides its ``id``.
  A malformed flow is 400 ``invalid_flow``, ``details.errors`` giving the JSON pointer,
  message and hint of each problem (the validator's words, as on the page);
* ``POST /api/v1/ivr-flows/<name>/versions/<n>/publish`` -- refused with 409
  ``unresolved_references`` (each missing queue, sub-flow or prompt with its pointer)
  by the same cross-object check as the page;
* ``POST /api/v1/ivr-flows/<name>/rollback`` -- ``{"version": n}``, a published one.

Reads for admins and supervisors, changes for admins, as on the pages. Every change goes
through :mod:`controlplane.ivr.changes` (the page's path too), which audits it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, jsonify
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.db import transaction
from controlplane.errors import CentralaError
from controlplane.ivr import changes, did_store, store
from controlplane.ivr import exceptions as ivr_errors
from controlplane.ivr.http.pages import READERS, actor
from controlplane.ivr.http.schemas import FlowDocument, RollbackBody, SaveQuery
from controlplane.models import Role, User
from controlplane.models.ivr import IvrFlow, IvrFlowVersion
from web.auth import current_user, login_required
from web.errors import NotFound
from web.services import services
from web.validation import validated

bp = Blueprint("ivr_api", __name__, url_prefix="/api/v1/ivr-flows")


class InvalidFlowDocument(CentralaError):
    status = 400
    error_id = "invalid_flow"


class UnresolvedReferences(CentralaError):
    status = 409
    error_id = "unresolved_references"


@contextmanager
def _errors(invalid: type[CentralaError]) -> Iterator[None]:
    """The store's errors as API errors; a flow's problems as ``invalid`` with each pointer."""
    try:
        yield
    except ivr_errors.FlowInvalid as err:
        raise invalid(str(err), details={
            "field": err.errors[0].pointer if err.errors else "",
            "errors": [dict(e.__dict__) for e in err.errors]}) from err


def _flow(s: Session, name: str) -> IvrFlow:
    try:
        store.check_name(name)
    except ivr_errors.FlowInvalid:  # no flow can have that name
        raise NotFound(f"no IVR flow named {name[:80]!r}") from None
    return store.get_flow(s, current_user().tenant_id, name)


def _authors(s: Session, rows: list[IvrFlowVersion]) -> dict[int, str]:
    ids = {r.created_by for r in rows if r.created_by is not None}
    if not ids:
        return {}
    return {uid: login for uid, login in s.execute(select(User.id, User.login).where(
        User.id.in_(ids), User.tenant_id == current_user().tenant_id))}


def _version_json(row: IvrFlowVersion, authors: dict[int, str], current: int | None
                  ) -> dict[str, Any]:
    return {
        "version": row.version,
        "status": row.status,
        "current": row.id == current,
        "author": authors.get(row.created_by) if row.created_by is not None else None,
        "created_at": row.created_at.isoformat(),
        "published_at": row.published_at.isoformat() if row.published_at else None,
        "sha256": row.sha256,
    }


def _published(rows: list[IvrFlowVersion], current: int | None) -> int | None:
    return next((r.version for r in rows if r.id == current and r.published), None)


@bp.get("")
@login_required(*READERS)
@validated()
def api_list() -> Any:
    """The tenant's IVR flows: published version, draft versions and DIDs routed to each."""
    tid = current_user().tenant_id
    out = []
    with services().sessions() as s:
        dids = did_store.dids_of(s, tid)
        for flow in store.list_flows(s, tid):
            rows = store.versions(s, flow.id)
            out.append({
                "name": flow.name,
                "published_version": _published(rows, flow.current_version_id),
                "draft_versions": [r.version for r in rows if not r.published],
                "versions": len(rows),
                "dids": [d.number for d in dids if d.flow_id == flow.id],
            })
    return jsonify({"flows": out})


@bp.get("/<name>")
@login_required(*READERS)
@validated()
def api_get(name: str) -> Any:
    """One flow: every version (author, created, published) and the one new calls get."""
    with services().sessions() as s:
        flow = _flow(s, name)
        rows = store.versions(s, flow.id)
        authors = _authors(s, rows)
        dids = [d.number for d in did_store.dids_of(s, flow.tenant_id) if d.flow_id == flow.id]
        body = {"name": flow.name,
                "published_version": _published(rows, flow.current_version_id),
                "dids": dids,
                "versions": [_version_json(r, authors, flow.current_version_id) for r in rows]}
    return jsonify({"flow": body})


@bp.get("/<name>/versions/<int:number>")
@login_required(*READERS)
@validated()
def api_version(name: str, number: int) -> Any:
    """One version of a flow with its source (the flow document)."""
    with services().sessions() as s:
        flow = _flow(s, name)
        row = store.get_version(s, flow.id, number)
        body = _version_json(row, _authors(s, [row]), flow.current_version_id)
        body["name"] = flow.name
        body["document"] = store.load_document(row.document)
    return jsonify({"version": body})


@bp.post("")
@login_required(Role.ADMIN)
@validated(query=SaveQuery, body=FlowDocument)
def api_create(query: SaveQuery, body: FlowDocument) -> Any:
    """Store a flow document as the next draft version (the same document again: that
    version, 200). The flow is named by ``?name=`` or the document's ``id``."""
    tid = current_user().tenant_id
    doc = body.root
    name = query.name or (doc.get("id") if isinstance(doc.get("id"), str) else None)
    with services().sessions() as s:
        errors = changes.upload_errors(s, tid, name or "", doc)
    if errors:
        raise InvalidFlowDocument(str(ivr_errors.FlowInvalid(errors)), details={
            "field": errors[0].pointer, "errors": [dict(e.__dict__) for e in errors]})
    assert name is not None
    with transaction(services().sessions) as s, _errors(InvalidFlowDocument):
        previous = store.versions(s, store.get_flow(s, tid, name).id) \
            if name in store.flow_names(s, tid) else []
        row = changes.save(s, tid, name, doc, actor())
        body_out = _version_json(row, _authors(s, [row]), row.flow.current_version_id)
        body_out["name"] = name
        created = all(v.id != row.id for v in previous)
    return jsonify({"version": body_out}), 201 if created else 200


@bp.post("/<name>/versions/<int:number>/publish")
@login_required(Role.ADMIN)
@validated()
def api_publish(name: str, number: int) -> Any:
    """Publish a version: new calls get it. Refused (409, each pointer) while it names a
    queue, sub-flow or prompt the tenant does not have."""
    tid = current_user().tenant_id
    with transaction(services().sessions) as s, _errors(UnresolvedReferences):
        _flow(s, name)
        row = changes.publish(s, tid, name, number, actor())
        body = _version_json(row, _authors(s, [row]), row.flow.current_version_id)
        body["name"] = name
    return jsonify({"version": body})


@bp.post("/<name>/rollback")
@login_required(Role.ADMIN)
@validated(body=RollbackBody)
def api_rollback(name: str, body: RollbackBody) -> Any:
    """Make an earlier published version the one new calls get."""
    tid = current_user().tenant_id
    with transaction(services().sessions) as s:
        _flow(s, name)
        row = changes.rollback(s, tid, name, body.version, actor())
        out = _version_json(row, _authors(s, [row]), row.flow.current_version_id)
        out["name"] = name
    return jsonify({"version": out})
