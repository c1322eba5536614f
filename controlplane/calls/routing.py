"""Where a call goes: DID and phone look-ups in the database (blocking; run in a thread)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls.machine import Binding
from controlplane.models import Did, PhoneEndpoint, Trunk
from dialplan.checks import normalise_number


def inbound_binding(factory: sessionmaker[Session], did: str, tenant_id: int | None) -> Binding:
    """Where a trunk call to ``did`` goes, among the DIDs of ``tenant_id`` only.

    ``tenant_id`` is the tenant of the trunk the call arrived on (the endpoint's
    ``CENTRALA_TENANT``): a carrier of one tenant never reaches another tenant's numbers.
    No tenant, or a number that is not one of its DIDs: a binding without tenant.
    """
    digits = normalise_number(did)
    if tenant_id is None:
        return Binding(None, "inbound", did, did, None, None, None, None)
    with factory() as s:
        for row in s.scalars(select(Did).where(Did.tenant_id == tenant_id)):
            if normalise_number(row.number) == digits:
                return Binding(
                    tenant_id=row.tenant_id, direction="inbound", callee=row.number,
                    did=row.number, trunk=row.trunk.name if row.trunk else None,
                    agent_endpoint=row.phone.name if row.phone else None,
                    dial=f"PJSIP/{row.phone.name}" if row.phone else None, prompt=row.prompt,
                )
    return Binding(None, "inbound", did, did, None, None, None, None)


def outbound_binding(factory: sessionmaker[Session], phone_name: str, number: str) -> Binding:
    with factory() as s:
        phone = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == phone_name))
        if phone is None:
            return Binding(None, "outbound", number, None, None, phone_name, None, None)
        colleague = s.scalar(select(PhoneEndpoint).where(
            PhoneEndpoint.tenant_id == phone.tenant_id, PhoneEndpoint.extension == number))
        if colleague is not None:
            return Binding(phone.tenant_id, "internal", number, None, None, phone.name,
                           f"PJSIP/{colleague.name}", None)
        trunk = s.scalar(select(Trunk).where(Trunk.tenant_id == phone.tenant_id).order_by(Trunk.id))
        dial = f"PJSIP/{number}@{trunk.name}" if trunk is not None else None
        return Binding(phone.tenant_id, "outbound", number, None,
                       trunk.name if trunk else None, phone.name, dial, None)


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
            trunk = s.scalar(select(Trunk).where(Trunk.tenant_id == tenant_id).order_by(Trunk.id))
            digits = target.lstrip("+")
            return (f"PJSIP/{digits}@{trunk.name}", None) if trunk is not None else (None, None)
    return None, None
