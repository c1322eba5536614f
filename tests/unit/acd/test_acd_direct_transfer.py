"""A call transferred to an agent (``direct_agent``): offered to that agent first, and to
the queue's agents when that agent cannot take it now or let it ring out."""

from __future__ import annotations

import random
from dataclasses import replace

from controlplane.acd.interactions import Channel
from controlplane.acd.router import RouterState, route
from controlplane.acd.testing import agent, queue, snapshot, waiting

RNG = random.Random(7)


def _to(agent_id: str, **kw: object) -> object:
    w = waiting("call1", **kw)  # type: ignore[arg-type]
    return replace(w, interaction=replace(w.interaction, direct_agent=agent_id))


def test_the_named_agent_is_rung_first_even_past_the_queue_order() -> None:
    q = queue(members=("a", "b"))
    _, out = route(RouterState(), snapshot([q], [agent("a"), agent("b")], [_to("b")]), 1.0, RNG)
    assert [(o.agents, o.why) for o in out] == [(("b",), "direct")]


def test_a_busy_named_agent_does_not_hold_the_caller_back() -> None:
    q = queue(members=("a", "b"))
    busy = agent("b", free=frozenset({Channel.CHAT}))  # on a call: no voice room
    _, out = route(RouterState(), snapshot([q], [agent("a"), busy], [_to("b")]), 1.0, RNG)
    assert [o.agents for o in out] == [("a",)]


def test_after_the_named_agent_let_it_ring_out_the_queue_takes_over() -> None:
    q = queue(members=("a", "b"))
    snap = snapshot([q], [agent("a"), agent("b")], [_to("b", tried={"b": 1})])
    _, out = route(RouterState(), snap, 1.0, RNG)
    assert [o.agents for o in out] == [("a",)]


def test_a_sticky_caller_still_waits_for_their_agent() -> None:
    """The other kind of reservation is unchanged: within the queue's sticky window the
    caller waits for the agent who last served them."""
    q = replace(queue(members=("a", "b")), sticky_wait_s=30.0)
    w = waiting("call1")
    w = replace(w, interaction=replace(w.interaction, last_agent="b", last_contact_at=0.5))
    busy = agent("b", free=frozenset({Channel.CHAT}))
    _, out = route(RouterState(), snapshot([q], [agent("a"), busy], [w]), 1.0, RNG)
    assert out == []
