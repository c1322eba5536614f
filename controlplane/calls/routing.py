"""Where a call goes: DID and phone look-ups, and the outbound route of a dialled number, in the
database (blocking; run in a thread)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from controlplane.admin import route_store
from controlplane.admin.outbound_routes import Leg
from controlplane.calls.machine import Binding
from controlplane.models import Did, PhoneEndpoint, User
from controlplane.models.acd import Queue
from controlplane.supervision import store as supervision_store
from dialplan.checks import normalise_number


def find_inbound_did(session: Session, did: str, tenant_id: int) -> Did | None:
    """The tenant's DID dialled as ``did``, with its trunk and phone loaded in the same query.

    The number as dialled is looked up in SQL first (the usual case: the carrier sends it
    as stored); only when that misses are the tenant's numbers compared after normalising
    digits ('+48 22 100' equals '4822100'), reading just their ids and numbers.
    """
    stmt = (select(Did).where(Did.tenant_id == tenant_id)
            .options(joinedload(Did.trunk), joinedload(Did.phone), joinedload(Did.queue)))
    row = session.scalar(stmt.where(Did.number == did))
    if row is not None:
        return row
    digits = normalise_number(did)
    if not digits:
        return None
    for did_id, number in session.execute(
            select(Did.id, Did.number).where(Did.tenant_id == tenant_id).order_by(Did.id)):
        if normalise_number(number) == digits:
            return session.scalar(stmt.where(Did.id == did_id))
    return None


def binding_of(did: Did | None, dialled: str) -> Binding:
    """The binding of a trunk call to ``dialled``: ``did`` (None: not one of the tenant's)."""
    if did is None:
        return Binding(None, "inbound", dialled, dialled, None, None, None, None)
    queue = did.queue.name if did.queue and did.queue.tenant_id == did.tenant_id else None
    if queue is not None:  # a queue DID: the ACD picks the agent, no phone is dialled
        return Binding(tenant_id=did.tenant_id, direction="inbound", callee=did.number,
                       did=did.number, trunk=did.trunk.name if did.trunk else None,
                       agent_endpoint=None, dial=None, prompt=None, queue=queue)
    return Binding(
        tenant_id=did.tenant_id, direction="inbound", callee=did.number, did=did.number,
        trunk=did.trunk.name if did.trunk else None,
        agent_endpoint=did.phone.name if did.phone else None,
        dial=f"PJSIP/{did.phone.name}" if did.phone else None, prompt=did.prompt,
    )


def inbound_binding(factory: sessionmaker[Session], did: str, tenant_id: int | None) -> Binding:
    """Where a trunk call to ``did`` goes, among the DIDs of ``tenant_id`` only.

    ``tenant_id`` is the tenant of the trunk the call arrived on (the endpoint's
    ``CENTRALA_TENANT``): a carrier of one tenant never reaches another tenant's numbers.
    No tenant, or a number that is not one of its DIDs: a binding without tenant.
    """
    if tenant_id is None:
        return binding_of(None, did)
    with factory() as s:
        return binding_of(find_inbound_did(s, did, tenant_id), did)


def outbound_binding(factory: sessionmaker[Session], phone_name: str, number: str) -> Binding:
    """A desk phone (or a preview agent) dialling ``number``: a colleague's extension, else
    out over the trunk the tenant's outbound routes choose (``route_store.choice_for``;
    no route at all: the first trunk, the number as dialled)."""
    with factory() as s:
        phone = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == phone_name))
        if phone is None:
            return Binding(None, "outbound", number, None, None, phone_name, None, None)
        colleague = s.scalar(select(PhoneEndpoint).where(
            PhoneEndpoint.tenant_id == phone.tenant_id, PhoneEndpoint.extension == number))
        if colleague is not None:
            return Binding(phone.tenant_id, "internal", number, None, None, phone.name,
                           f"PJSIP/{colleague.name}", None)
        choice = route_store.choice_for(s, phone.tenant_id, number)
        if choice is None:
            return Binding(phone.tenant_id, "outbound", number, None, None, phone.name, None,
                           None)
        leg = choice.primary
        return Binding(phone.tenant_id, "outbound", number, None, leg.trunk, phone.name,
                       leg.dial, None, failover=tuple(x.dial for x in choice.legs[1:]))


def _leg(s: Session, tenant_id: int, number: str) -> Leg | None:
    """The first leg of the route ``number`` takes (an IVR transfer to a number: one leg,
    no failover yet)."""
    choice = route_store.choice_for(s, tenant_id, number)
    return choice.primary if choice is not None else None


def transfer_target(factory: sessionmaker[Session], tenant_id: int | None, to: str,
                    target: str) -> tuple[str | None, str | None]:
    """Where an IVR transfer goes: (ARI dial string, agent endpoint) or (None, None)."""
    if tenant_id is None:
        return None, None
    with factory() as s:
        if to == "agent":
            phone = s.scalar(select(PhoneEndpoint).where(
                PhoneEndpoint.tenant_id == tenant_id,
                (PhoneEndpoint.extension == target) | (PhoneEndpoint.name == target)))
            return (f"PJSIP/{phone.name}", phone.name) if phone is not None else (None, None)
        if to == "number":
            leg = _leg(s, tenant_id, target.lstrip("+"))
            return (leg.dial, None) if leg is not None else (None, None)
    return None, None


def queue_name(factory: sessionmaker[Session], tenant_id: int, queue_id: int) -> str | None:
    """The name of the tenant's queue ``queue_id`` (a transfer's target), or None."""
    with factory() as s:
        return s.scalar(select(Queue.name).where(Queue.id == queue_id,
                                                 Queue.tenant_id == tenant_id))


def consult_target(factory: sessionmaker[Session], tenant_id: int,
                   user_id: int) -> tuple[str, str] | None:
    """(endpoint, name) of the colleague ``user_id`` an agent consults, or None."""
    with factory() as s:
        user = s.get(User, user_id)
        if user is None or user.tenant_id != tenant_id or not user.active:
            return None
        phone = supervision_store.phone_to_ring(s, tenant_id, user_id)
        return (phone, user.display_name or user.login) if phone else None
