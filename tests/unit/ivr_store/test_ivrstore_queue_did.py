"""A DID routed straight to a queue: both inbound look-ups (the route cache and the ORM)
give a binding naming the queue and dialling nothing; another tenant's queue is never
used; the call machine answers, plays music and enqueues, as an IVR queue node does."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls import machine as m
from controlplane.calls.routing import inbound_binding
from controlplane.calls.routing_cache import RouteCache
from controlplane.db import transaction
from controlplane.engine.commands import Answer, StartMoh
from controlplane.models import Did
from controlplane.models.acd import Queue

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def route_to_queue(factory: sessionmaker[Session], tenant: int, did: str, name: str) -> int:
    with transaction(factory) as s:
        queue = Queue(tenant_id=tenant, name=name)
        s.add(queue)
        s.flush()
        s.execute(update(Did).where(Did.number == did).values(queue_id=queue.id))
        return queue.id


def test_a_queue_did_binds_to_its_queue(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    route_to_queue(factory, tenants.a, tenants.a_did, "sales")
    routes = RouteCache(factory)
    for dialled in (tenants.a_did, "+48 22 100 0001"):
        route = routes.route(dialled, tenants.a)
        assert route.binding == inbound_binding(factory, dialled, tenants.a)
        assert route.flow is None
        b = route.binding
        assert (b.tenant_id, b.queue, b.dial, b.agent_endpoint, b.prompt) == (
            tenants.a, "sales", None, None, None)
    assert routes.route("48221000002", tenants.a).binding.queue is None  # a DID without one


def test_another_tenants_queue_is_never_used(factory, tenants) -> None:  # type: ignore[no-untyped-def]
    # Only SQL could make this (the panel refuses it): the route still ignores the queue.
    route_to_queue(factory, tenants.b, tenants.a_did, "theirs")
    binding = RouteCache(factory).route(tenants.a_did, tenants.a).binding
    assert binding.queue is None
    assert inbound_binding(factory, tenants.a_did, tenants.a).queue is None


def test_the_machine_enqueues_a_queue_did_call() -> None:
    binding = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, queue="sales")
    state, cmds = m.start(m.Entered("c1", "600100200", binding), T0)
    assert (state.phase, state.queue, state.platform_answered_at) == (m.Phase.QUEUED, "sales", T0)
    kinds = [type(c) for c in cmds]
    assert kinds == [m.SaveCall, Answer, StartMoh, m.Enqueue]
    assert cmds[-1] == m.Enqueue("c1", "sales", 0, ())
    # then it is an ordinary queued call: an offer rings the agent
    state, cmds = m.step(state, m.OfferAgent("demo-1001", "PJSIP/demo-1001", 5), T0)
    assert state.phase == m.Phase.QUEUED and state.ringing
