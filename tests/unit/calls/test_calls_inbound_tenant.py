"""A trunk call's number is looked up among its trunk's tenant's DIDs only (SQLite and
PostgreSQL); the Stasis arguments name the trunk; a refusal leaves one audit row."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls.routing import inbound_binding
from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Tenant, Trunk
from controlplane.models.security import SecurityEvent
from controlplane.security.trunk_calls import UNKNOWN_NUMBER, TrunkOrigin, record_unknown_number


def two_tenants(factory: sessionmaker[Session]) -> tuple[int, int]:
    """Tenants A and B, each with a trunk, a phone and one DID ('+48 22 111' and '48 22 222')."""
    ids = []
    with transaction(factory) as s:
        for key, number in (("a", "+48 22 111"), ("b", "48 22 222")):
            tenant = Tenant(domain=f"{key}.example", name=key.upper(), licences=2)
            s.add(tenant)
            s.flush()
            trunk = Trunk(tenant_id=tenant.id, name=f"trunk-{key}", host=f"192.0.2.{len(ids) + 1}",
                          username=key, secret="s" * 20)
            phone = PhoneEndpoint(tenant_id=tenant.id, name=f"{key}-1001", extension="1001",
                                  secret="p" * 32)
            s.add_all([trunk, phone])
            s.flush()
            s.add(Did(tenant_id=tenant.id, number=number, trunk_id=trunk.id,
                      phone_endpoint_id=phone.id, prompt="sound:hello-world"))
            ids.append(tenant.id)
    return ids[0], ids[1]


def test_a_number_is_found_only_among_the_trunks_tenants_dids(factory) -> None:  # type: ignore[no-untyped-def]
    a, b = two_tenants(factory)
    own = inbound_binding(factory, "4822111", a)
    assert (own.tenant_id, own.did, own.trunk, own.dial) == (a, "+48 22 111", "trunk-a",
                                                              "PJSIP/a-1001")
    assert inbound_binding(factory, "4822222", b).dial == "PJSIP/b-1001"
    # B's number arriving on A's trunk is unknown to A: no tenant, nothing to dial
    other = inbound_binding(factory, "4822222", a)
    assert (other.tenant_id, other.dial, other.agent_endpoint) == (None, None, None)
    # no tenant (an endpoint without CENTRALA_TENANT) matches nothing
    assert inbound_binding(factory, "4822111", None).tenant_id is None
    assert inbound_binding(factory, "4899999", a).tenant_id is None


@pytest.mark.parametrize("args, origin", [
    (("inbound", "4822111", "3", "lab-carrier", "127.0.0.2:5080"),
     TrunkOrigin(3, "lab-carrier", "127.0.0.2:5080")),
    (("inbound", "4822111", "", "", ""), TrunkOrigin(None, "", "")),
    (("inbound", "4822111"), TrunkOrigin(None, "", "")),  # an older dialplan
    (("inbound", "4822111", "x1", "t", "1.2.3.4:5"), TrunkOrigin(None, "t", "1.2.3.4:5")),
])
def test_trunk_origin_from_stasis_args(args: tuple[str, ...], origin: TrunkOrigin) -> None:
    assert TrunkOrigin.from_args(args) == origin


def test_a_refused_number_leaves_one_audit_row(factory) -> None:  # type: ignore[no-untyped-def]
    a, _ = two_tenants(factory)
    record_unknown_number(factory, TrunkOrigin(a, "trunk-a", "192.0.2.1:5060"), "4822222" * 10,
                          "48600100200", "1700000000.42")
    with factory() as s:
        [row] = s.scalars(select(SecurityEvent)).all()
    assert (row.kind, row.severity, row.tenant_id) == (UNKNOWN_NUMBER, "warning", a)
    assert (row.actor, row.source) == ("trunk-a", "192.0.2.1:5060")
    assert row.detail == {"number": ("4822222" * 10)[:40], "caller": "48600100200",
                          "trunk": "trunk-a", "call_id": "1700000000.42"}
