"""DID bindings of IVR flows: which published flow version a NEW call on a DID gets.

A call already in the IVR keeps the version object it started with (the call adapter
holds it), so publishing or rolling back never changes a call in progress. A flow of one
tenant can never be bound to another tenant's DID, and :func:`flow_for_did` ignores a
binding whose flow belongs to someone else. Functions flush but never commit (except
:func:`did_lookup`'s own short read-only session).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.ivr.exceptions import FlowNotFound
from controlplane.ivr.store import get_flow, parsed
from controlplane.models import Did
from controlplane.models.ivr import PUBLISHED, IvrFlow, IvrFlowVersion
from dialplan.checks import normalise_number
from ivr_flows.model import Flow


def find_did(session: Session, number: str, tenant_id: int | None = None) -> Did | None:
    """The DID stored as ``number`` or, failing that, the one equal after normalising digits."""
    stmt = select(Did)
    if tenant_id is not None:
        stmt = stmt.where(Did.tenant_id == tenant_id)
    did = session.scalar(stmt.where(Did.number == number))
    if did is not None:
        return did
    digits = normalise_number(number)
    if not digits:
        return None
    for row in session.scalars(stmt.order_by(Did.id)):
        if normalise_number(row.number) == digits:
            return row
    return None


def flow_for_did(session: Session, did_number: str) -> tuple[IvrFlowVersion, Flow] | None:
    """The published flow version a NEW call on ``did_number`` gets, with its parsed flow.

    None when the DID is unknown, has no flow, or the flow has no published
    version yet. Keep the returned version for the whole call: later publishes
    and rollbacks only affect calls that start after them.
    """
    did = find_did(session, did_number)
    if did is None or did.flow_id is None:
        return None
    flow = session.get(IvrFlow, did.flow_id)
    if flow is None or flow.tenant_id != did.tenant_id or flow.current_version_id is None:
        return None
    version = session.get(IvrFlowVersion, flow.current_version_id)
    if version is None or version.status != PUBLISHED or version.flow_id != flow.id:
        return None
    return version, parsed(version)


def did_lookup(factory: sessionmaker[Session]) -> Callable[[str], tuple[str, Flow] | None]:
    """:func:`flow_for_did` in a short session of its own, shaped as the call service's look-up.

    Returns ``(version id as text, parsed flow)``; the id names the version row
    for call records and logs. Blocking: run it in a thread.
    """

    def lookup(did_number: str) -> tuple[str, Flow] | None:
        with factory() as session:
            found = flow_for_did(session, did_number)
        return None if found is None else (str(found[0].id), found[1])

    return lookup


def bind_did(session: Session, tenant_id: int, did_number: str, flow_name: str | None) -> Did:
    """Route new calls on the tenant's DID into flow ``flow_name`` (None: unbind).

    Both the DID and the flow must belong to ``tenant_id``; a DID of another
    tenant is reported as not found, exactly like a missing one.
    """
    did = find_did(session, did_number, tenant_id)
    if did is None:
        raise FlowNotFound(f"no DID {did_number!r} in this tenant")
    did.flow_id = None if flow_name is None else get_flow(session, tenant_id, flow_name).id
    session.flush()
    return did


def dids_of(session: Session, tenant_id: int) -> list[Did]:
    """The tenant's DIDs by number."""
    return list(session.scalars(select(Did).where(Did.tenant_id == tenant_id).order_by(Did.number)))
