"""The inbound route cache (``calls.routing_cache``): the same answers as the ORM look-ups,
one SELECT per call once warm, and every kind of change seen by the very next call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls.routing import inbound_binding
from controlplane.calls.routing_cache import RouteCache
from controlplane.db import transaction
from controlplane.ivr import calendar_store, did_store
from controlplane.ivr import store as flow_store
from controlplane.models import Did, IvrFlow, PhoneEndpoint, Trunk

EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"


def example(name: str, description: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    if description is not None:
        doc["name"] = description
    return doc


def deploy(factory: sessionmaker[Session], tenant: int, name: str, doc: dict[str, Any],
           did: str | None = None) -> int:
    """Save ``doc`` as the next version of ``name``, publish it, bind ``did``; its id."""
    with transaction(factory) as s:
        row = flow_store.save_draft(s, tenant, name, doc)
        flow_store.publish(s, row.flow_id, row.version, tenant_id=tenant)
        if did is not None:
            did_store.bind_did(s, tenant, did, name)
        return row.id


@pytest.fixture
def selects(factory: sessionmaker[Session]) -> Iterator[list[str]]:
    """The SELECT statements run on the database while the test runs."""
    seen: list[str] = []
    engine = factory.kw["bind"]

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_routes_match_the_orm_look_ups(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        trunk = Trunk(tenant_id=tenants.a, name="trunk-a", host="192.0.2.1", username="a",
                      secret="s" * 20)
        phone = PhoneEndpoint(tenant_id=tenants.a, name="a-1001", extension="1001",
                              secret="p" * 32)
        s.add_all([trunk, phone])
        s.flush()
        s.execute(update(Did).where(Did.number == tenants.a_did).values(
            trunk_id=trunk.id, phone_endpoint_id=phone.id))
    version = deploy(factory, tenants.a, "faq", example("faq"), tenants.a_did)
    routes = RouteCache(factory)
    for dialled in (tenants.a_did, "+48 22 100 0001", "48221000002"):  # as stored, normalised
        route = routes.route(dialled, tenants.a)
        assert route.binding == inbound_binding(factory, dialled, tenants.a)
    route = routes.route(tenants.a_did, tenants.a)
    assert (route.binding.trunk, route.binding.dial) == ("trunk-a", "PJSIP/a-1001")
    with factory() as s:
        found = did_store.flow_for_did(s, tenants.a_did)
    assert found is not None and route.flow == (str(version), found[1]) == (str(found[0].id),
                                                                              found[1])
    assert routes.route("48221000002", tenants.a).flow is None  # a DID without a flow
    # another tenant's number, an unknown one, no tenant: a binding without tenant
    for dialled, tenant in ((tenants.b_did, tenants.a), ("4899", tenants.a), (tenants.a_did, None)):
        route = routes.route(dialled, tenant)
        assert (route.binding.tenant_id, route.binding.dial, route.flow) == (None, None, None)


def test_a_warm_route_costs_one_select(factory, tenants, selects) -> None:  # type: ignore[no-untyped-def]
    deploy(factory, tenants.a, "faq", example("faq"), tenants.a_did)
    routes = RouteCache(factory)
    routes.route(tenants.a_did, tenants.a)
    assert routes.loads == 2  # the flow parsed, the calendars read
    selects.clear()
    for _ in range(3):
        assert routes.route(tenants.a_did, tenants.a).flow is not None
    assert len(selects) == 3 and routes.loads == 2


def test_publish_and_rollback_reach_the_next_call(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    first = deploy(factory, tenants.a, "faq", example("faq"), tenants.a_did)
    routes = RouteCache(factory)
    assert routes.route(tenants.a_did, tenants.a).flow[0] == str(first)  # type: ignore[index]
    second = deploy(factory, tenants.a, "faq", example("faq", "second"))
    route = routes.route(tenants.a_did, tenants.a)
    assert route.flow is not None and route.flow[0] == str(second)
    assert route.flow[1].name == "second"
    with transaction(factory) as s:
        flow_store.rollback(s, flow_store.get_flow(s, tenants.a, "faq").id, 1, tenant_id=tenants.a)
    loads = routes.loads
    assert routes.route(tenants.a_did, tenants.a).flow[0] == str(first)  # type: ignore[index]
    assert routes.loads == loads  # version 1 was parsed once, on the first call


def test_rebinding_and_unbinding_a_did_reach_the_next_call(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    deploy(factory, tenants.a, "faq", example("faq"), tenants.a_did)
    menu = deploy(factory, tenants.a, "main_menu", example("main_menu"))
    routes = RouteCache(factory)
    routes.route(tenants.a_did, tenants.a)
    with transaction(factory) as s:
        did_store.bind_did(s, tenants.a, tenants.a_did, "main_menu")
    assert routes.route(tenants.a_did, tenants.a).flow[0] == str(menu)  # type: ignore[index]
    with transaction(factory) as s:
        did_store.bind_did(s, tenants.a, tenants.a_did, None)
    assert routes.route(tenants.a_did, tenants.a).flow is None


def test_a_flow_of_another_tenant_is_never_run(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    deploy(factory, tenants.b, "faq", example("faq"))
    routes = RouteCache(factory)
    with transaction(factory) as s:  # written behind the store's back
        foreign = s.query(IvrFlow).filter_by(tenant_id=tenants.b).one().id
        s.execute(update(Did).where(Did.number == tenants.a_did).values(flow_id=foreign))
    assert routes.route(tenants.a_did, tenants.a).flow is None


def test_phone_and_trunk_changes_reach_the_next_call(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    routes = RouteCache(factory)
    assert routes.route(tenants.a_did, tenants.a).binding.dial is None
    with transaction(factory) as s:
        phone = PhoneEndpoint(tenant_id=tenants.a, name="a-1002", extension="1002",
                              secret="p" * 32)
        s.add(phone)
        s.flush()
        s.execute(update(Did).where(Did.number == tenants.a_did).values(phone_endpoint_id=phone.id))
    assert routes.route(tenants.a_did, tenants.a).binding.dial == "PJSIP/a-1002"
    with transaction(factory) as s:
        s.execute(update(PhoneEndpoint).where(PhoneEndpoint.name == "a-1002").values(name="a-2"))
    assert routes.route(tenants.a_did, tenants.a).binding.agent_endpoint == "a-2"


def test_a_new_did_is_found_at_once(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    routes = RouteCache(factory)
    assert routes.route("48221000009", tenants.a).binding.tenant_id is None
    with transaction(factory) as s:
        s.add(Did(tenant_id=tenants.a, number="48221000009"))
    assert routes.route("48221000009", tenants.a).binding.tenant_id == tenants.a


def test_holidays_reach_the_next_call_and_are_kept_while_unchanged(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    deploy(factory, tenants.a, "faq", example("faq"), tenants.a_did)
    routes = RouteCache(factory)
    assert routes.route(tenants.a_did, tenants.a).calendars == {}
    assert routes.calendars(tenants.a) == {} and routes.calendars(tenants.b) is None
    day = date(2026, 12, 24)
    with transaction(factory) as s:
        calendar_store.add_holiday(s, tenants.a, "closures", day)
    assert routes.route(tenants.a_did, tenants.a).calendars == {"closures": frozenset({day})}
    loads = routes.loads
    assert routes.route(tenants.a_did, tenants.a).calendars == {"closures": frozenset({day})}
    assert routes.loads == loads
    with transaction(factory) as s:  # removed behind the store's back
        s.execute(calendar_store.HolidayCalendarDay.__table__.delete())
    assert routes.route(tenants.a_did, tenants.a).calendars == {}
    assert routes.calendars(tenants.a) == {}
