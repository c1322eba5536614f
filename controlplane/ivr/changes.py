"""The three changes an administrator makes to IVR flows -- save a draft, publish, roll
back -- each checked and audited in one place, for the panel, the API and the CLI.

Theory of operation: :mod:`controlplane.ivr.store` keeps the rules of one flow (valid
document, immutable published versions); this module adds what concerns the tenant's
other objects and the record of who did it:

* :func:`upload_errors` -- every problem of an uploaded document as flow ``name``: its
  name and its validation (the page shows them in place, the API lists their pointers);
* :func:`publish` -- the cross-object check (:func:`controlplane.admin.references.
  publish_errors`: a queue, published sub-flow or uploaded prompt the tenant does not
  have is refused with its JSON pointer) before the store publishes; callers reach a
  published version, so this check may never be skipped (issue 12 item 10 -- the CLI's
  ``ivr deploy --publish`` used to skip it);
* every change writes an ``ivr.flow.*`` audit row in the caller's transaction.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from controlplane.admin import references
from controlplane.ivr import store
from controlplane.ivr.exceptions import FlowInvalid
from controlplane.models.ivr import IvrFlowVersion
from controlplane.security import audit
from ivr_flows.validator import FlowError


@dataclass(frozen=True)
class Actor:
    """Who makes a change, for the audit row: user id (None from the CLI), address, source."""

    user_id: int | None
    address: str
    source: str


def upload_errors(session: Session, tenant_id: int, name: str, document: Any) -> list[FlowError]:
    """Every error of ``document`` saved as flow ``name``: the name's, then the document's."""
    errors: list[FlowError] = []
    try:
        store.check_name(name)
    except FlowInvalid as err:
        errors += err.errors
    errors += store.check_document(session, tenant_id, name, document)
    return errors


def save(session: Session, tenant_id: int, name: str | None, document: Any,
         actor: Actor) -> IvrFlowVersion:
    """Store ``document`` as the next draft of flow ``name`` (None: the document's id);
    :class:`FlowInvalid` with every error otherwise."""
    row = store.save_draft(session, tenant_id, name, document, actor.user_id)
    _audit(session, tenant_id, actor, "ivr.flow.saved", row)
    return row


def publish(session: Session, tenant_id: int, name: str, number: int,
            actor: Actor) -> IvrFlowVersion:
    """Make version ``number`` of flow ``name`` the one new calls get, once everything it
    names exists in the tenant (:class:`FlowInvalid` listing each missing reference)."""
    flow = store.get_flow(session, tenant_id, name)
    row = store.get_version(session, flow.id, number)
    if not row.published:  # callers reach it from now: everything it names must exist
        missing = references.publish_errors(session, tenant_id, name, json.loads(row.document))
        if missing:
            raise FlowInvalid(missing)
    store.publish(session, flow.id, number, tenant_id=tenant_id)
    _audit(session, tenant_id, actor, "ivr.flow.published", row)
    return row


def rollback(session: Session, tenant_id: int, name: str, number: int,
             actor: Actor) -> IvrFlowVersion:
    """Point flow ``name`` back at its earlier published version ``number``."""
    flow = store.get_flow(session, tenant_id, name)
    row = store.rollback(session, flow.id, number, tenant_id=tenant_id)
    _audit(session, tenant_id, actor, "ivr.flow.rolled_back", row)
    return row


def _audit(session: Session, tenant_id: int, actor: Actor, kind: str,
           row: IvrFlowVersion) -> None:
    audit.record(session, kind, tenant_id=tenant_id, actor=actor.address, source=actor.source,
                 detail={"flow": row.flow.name, "version": row.version, "sha256": row.sha256})
