"""The routing decision, table-driven: strategies, skills, aging, multi-queue order, sticky agent."""

from __future__ import annotations

import random

import pytest

from controlplane.acd.interactions import Channel
from controlplane.acd.queues import AgingRule, SkillPreference, Strategy
from controlplane.acd.router import AgentView, RouterState, Waiting, queue_positions, route
from controlplane.acd.testing import agent, interaction, offer_sequence, queue, snapshot, waiting

RNG = random.Random(0)

# Three agents; members listed b, a, c so that member order differs from names.
FLOOR = [
    agent("a", idle_since=30.0, answered=5),
    agent("b", idle_since=10.0, answered=1),
    agent("c", idle_since=20.0, answered=3),
]


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.LINEAR, [("b",), ("a",), ("c",), ("b",)]),
        (Strategy.LONGEST_IDLE, [("b",), ("c",), ("a",), ("b",)]),
        (Strategy.FEWEST_CALLS, [("b",), ("c",), ("a",), ("b",)]),
        (Strategy.RING_ALL, [("b", "a", "c"), ("b", "a", "c")]),
    ],
)
def test_offer_order_of_one_interaction_by_strategy(
    strategy: Strategy, expected: list[tuple[str, ...]]
) -> None:
    q = queue(members=("b", "a", "c"), strategy=strategy)
    assert offer_sequence(q, FLOOR, len(expected)) == expected


def test_linear_order_is_member_order_not_names() -> None:
    q = queue(members=("c", "a", "b"))
    assert offer_sequence(q, FLOOR, 3) == [("c",), ("a",), ("b",)]


def test_fewest_calls_ties_fall_to_longest_idle() -> None:
    agents = [agent("a", idle_since=50, answered=2), agent("b", idle_since=5, answered=2)]
    q = queue(members=("a", "b"), strategy=Strategy.FEWEST_CALLS)
    assert offer_sequence(q, agents, 1) == [("b",)]


def test_random_is_reproducible_with_a_seed_and_covers_everyone() -> None:
    q = queue(members=("a", "b", "c"), strategy=Strategy.RANDOM)
    assert offer_sequence(q, FLOOR, 3, seed=7) == offer_sequence(q, FLOOR, 3, seed=7)
    firsts = {offer_sequence(q, FLOOR, 1, seed=s)[0] for s in range(40)}
    assert firsts == {("a",), ("b",), ("c",)}
    # an agent who already had the offer is not drawn again before the others
    assert sorted(offer_sequence(q, FLOOR, 3, seed=3)) == [("a",), ("b",), ("c",)]


def test_round_robin_rotates_across_decisions() -> None:
    q = queue(members=("a", "b", "c"), strategy=Strategy.ROUND_ROBIN)
    state = RouterState()
    got = []
    for n in range(5):  # a new call each time, every agent free again
        state, out = route(state, snapshot([q], FLOOR, [waiting(f"c{n}")]), 100.0, RNG)
        got.append(out[0].agents[0])
    assert got == ["a", "b", "c", "a", "b"]


def test_round_robin_skips_busy_member_and_continues_after_it() -> None:
    q = queue(members=("a", "b", "c"), strategy=Strategy.ROUND_ROBIN)
    busy_b = [FLOOR[0], agent("b", free=frozenset()), FLOOR[2]]
    state, out = route(RouterState({"q": "a"}), snapshot([q], busy_b, [waiting("x")]), 0.0, RNG)
    assert out[0].agents == ("c",) and state.last_offered["q"] == "c"


def test_ring_all_offers_every_ready_qualified_agent_once() -> None:
    q = queue(members=("a", "b", "c", "d", "e"), strategy=Strategy.RING_ALL)
    agents = [
        agent("a", {"pl": 3}),
        agent("b", {"pl": 9}),
        agent("c", {"pl": 9}, free=frozenset()),  # busy
        agent("d", {"pl": 1}),  # below the minimum
        agent("e", {"pl": 5}, free=frozenset({Channel.CHAT})),  # no voice now
    ]
    _, out = route(RouterState(), snapshot([q], agents, [waiting("x", skills={"pl": 2})]), 0.0, RNG)
    assert [(o.interaction_id, set(o.agents)) for o in out] == [("x", {"a", "b"})]


SKILLED = [
    agent("x", {"de": 9, "en": 9}),
    agent("y", {"de": 5, "en": 5}),
    agent("z", {"de": 7, "en": 6}),
    agent("w", {"en": 10}),  # no German: never offered
]


@pytest.mark.parametrize(
    ("pref", "expected"),
    [
        (SkillPreference.CLOSEST, [("y",), ("z",), ("x",), ("y",), ("z",)]),
        (SkillPreference.HIGHEST, [("x",), ("z",), ("y",), ("x",), ("z",)]),
    ],
)
def test_best_skill_match_first_and_unqualified_never(
    pref: SkillPreference, expected: list[tuple[str, ...]]
) -> None:
    q = queue(members=("w", "x", "y", "z"), skill_preference=pref)
    rng = random.Random(1)
    tried: dict[str, int] = {}
    seq = []
    for _ in range(5):
        w = Waiting(interaction("c", skills={"de": 5}), "q", 0.0, dict(tried))
        _, out = route(RouterState(), snapshot([q], SKILLED, [w]), 0.0, rng)
        seq.append(out[0].agents)
        tried[out[0].agents[0]] = tried.get(out[0].agents[0], 0) + 1
    assert seq == expected
    assert ("w",) not in seq


def test_only_unqualified_agents_free_means_no_offer() -> None:
    q = queue(members=("w",))
    _, out = route(
        RouterState(), snapshot([q], SKILLED, [waiting("c", skills={"de": 1})]), 0.0, RNG
    )
    assert out == []


def first_served(q_aging: AgingRule, old_arrival: float, new_arrival: float, now: float) -> str:
    """'old' has base 0, 'new' has base 5; one agent free: who gets it?"""
    q = queue(members=("a",), aging=q_aging)
    ws = [
        waiting("old", arrived_at=old_arrival, priority=0),
        waiting("new", arrived_at=new_arrival, priority=5),
    ]
    _, out = route(RouterState(), snapshot([q], [agent("a")], ws), now, RNG)
    return out[0].interaction_id


@pytest.mark.parametrize(
    ("aging", "new_arrival", "now", "winner"),
    [
        (AgingRule(), 60.0, 61.0, "new"),  # no aging: base priority decides whatever the wait
        (AgingRule(rate_per_s=0.1), 40.0, 41.0, "new"),  # old waited 40 s more: +4 < +5
        (AgingRule(rate_per_s=0.1), 60.0, 61.0, "old"),  # old waited 60 s more: +6 > +5
        (AgingRule(rate_per_s=0.1), 60.0, 600.0, "old"),  # and stays ahead
        (AgingRule(rate_per_s=0.1, max_bonus=3.0), 90.0, 91.0, "new"),  # bonus capped below 5
        (AgingRule(steps=((30.0, 2.0), (80.0, 6.0))), 30.0, 70.0, "new"),  # old +2, new +2
        (AgingRule(steps=((30.0, 2.0), (80.0, 6.0))), 60.0, 85.0, "old"),  # old +6, new 0
    ],
)
def test_aging_lower_priority_overtakes_after_enough_wait(
    aging: AgingRule, new_arrival: float, now: float, winner: str
) -> None:
    assert first_served(aging, 0.0, new_arrival, now) == winner


def test_multi_queue_agent_order_priority_then_wait_then_queue_order() -> None:
    q1 = queue("q1", members=("m",), order=0)
    q2 = queue("q2", members=("m",), order=1)
    m = [agent("m")]

    def served(ws: list[Waiting]) -> str:
        for perm in (ws, ws[::-1]):  # input order must not matter
            _, out = route(RouterState(), snapshot([q2, q1], m, perm), 100.0, RNG)
            assert len(out) == 1
        return out[0].interaction_id

    # higher effective priority wins across queues
    assert (
        served([waiting("x1", "q1", 0.0, priority=1), waiting("x2", "q2", 50.0, priority=2)])
        == "x2"
    )
    # same priority: the longest wait wins
    assert served([waiting("x1", "q1", 20.0), waiting("x2", "q2", 10.0)]) == "x2"
    # same priority and arrival: queue order
    assert served([waiting("x1", "q1", 10.0), waiting("x2", "q2", 10.0)]) == "x1"
    # per-queue aging makes queues comparable: q2 ages faster
    fast = queue("q2", members=("m",), order=1, aging=AgingRule(rate_per_s=1.0))
    _, out = route(
        RouterState(),
        snapshot([q1, fast], m, [waiting("x1", "q1", 0.0, priority=10), waiting("x2", "q2", 50.0)]),
        100.0,
        RNG,
    )
    assert out[0].interaction_id == "x2"


STICKY_Q = queue(members=("a", "b"), sticky_wait_s=30.0)


@pytest.mark.parametrize(
    ("now", "agents", "tried", "expected"),
    [
        (10.0, [agent("a"), agent("b")], {}, ("b", "sticky")),  # in the window, last agent free
        (10.0, [agent("a"), agent("b", free=frozenset())], {}, None),  # waits for b
        (31.0, [agent("a"), agent("b", free=frozenset())], {}, ("a", "linear")),  # window over
        (31.0, [agent("a"), agent("b")], {}, ("a", "linear")),  # after the window: queue order
        (10.0, [agent("a")], {}, ("a", "linear")),  # b logged out: no point waiting
        (10.0, [agent("a"), agent("b")], {"b": 1}, ("a", "linear")),  # b let it ring out
    ],
)
def test_sticky_agent_within_window_then_queue(
    now: float, agents: list[AgentView], tried: dict[str, int], expected: tuple[str, str] | None
) -> None:
    w = waiting("c", arrived_at=0.0, last_agent="b", last_contact_at=-100.0, tried=tried)
    _, out = route(RouterState(), snapshot([STICKY_Q], agents, [w]), now, RNG)
    assert (None if not out else (out[0].agents[0], out[0].why)) == expected


def test_sticky_relationship_too_old_is_ignored() -> None:
    q = queue(members=("a", "b"), sticky_wait_s=30.0, sticky_max_age_s=3600.0)
    fresh = waiting("c", last_agent="b", last_contact_at=-600.0)
    stale = waiting("d", last_agent="b", last_contact_at=-7200.0)
    _, out = route(RouterState(), snapshot([q], [agent("a"), agent("b")], [fresh]), 1.0, RNG)
    assert out[0].agents == ("b",)
    _, out = route(RouterState(), snapshot([q], [agent("a"), agent("b")], [stale]), 1.0, RNG)
    assert out[0].agents == ("a",)


def test_unavailable_channels_are_never_offered() -> None:
    q = queue(members=("a",))
    chats_only = [agent("a", free=frozenset({Channel.CHAT}))]  # e.g. phone unreachable
    _, out = route(RouterState(), snapshot([q], chats_only, [waiting("v")]), 0.0, RNG)
    assert out == []
    _, out = route(
        RouterState(), snapshot([q], chats_only, [waiting("t", channel=Channel.CHAT)]), 0.0, RNG
    )
    assert out[0].agents == ("a",)


def test_per_agent_ring_timeout_and_one_offer_per_agent_per_pass() -> None:
    q = queue(members=("a",), ring_timeout_s=20.0, wrap_up_s=7.0)
    _, out = route(
        RouterState(),
        snapshot(
            [q],
            [agent("a", ring_timeout_s=12.0)],
            [waiting("1", arrived_at=0), waiting("2", arrived_at=1)],
        ),
        5.0,
        RNG,
    )
    assert [(o.interaction_id, o.timeout_s, o.wrap_up_s) for o in out] == [("1", 12.0, 7.0)]


def test_offered_interactions_are_skipped() -> None:
    q = queue(members=("a",))
    busy = Waiting(interaction("1"), "q", 0.0, {}, offered=True)
    _, out = route(
        RouterState(), snapshot([q], [agent("a")], [busy, waiting("2", arrived_at=3)]), 5.0, RNG
    )
    assert [o.interaction_id for o in out] == ["2"]


def test_queue_positions_and_estimated_wait() -> None:
    q = queue(members=("a", "b"))
    ws = [
        waiting("late", arrived_at=20.0),
        waiting("vip", arrived_at=30.0, priority=9),
        waiting("early", arrived_at=10.0),
    ]
    pos = queue_positions(snapshot([q], [agent("a"), agent("b")], ws), 40.0, {"q": 120.0})
    assert pos == {"vip": (1, 60.0), "early": (2, 120.0), "late": (3, 180.0)}
    assert queue_positions(snapshot([q], [], ws), 40.0, {"q": 120.0})["vip"] == (1, None)
