"""Chats in the pure machines: capacity (with and without "voice while in chats"), the
order across channels, exactly one agent per chat offer, the chat offer timeout, transfer
to an agent."""

from __future__ import annotations

import random
from dataclasses import replace

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd.interactions import Channel, can_take, capacity_of, free_channels
from controlplane.acd.queues import Strategy
from controlplane.acd.router import RouterState, route
from controlplane.acd.testing import agent, queue, snapshot, waiting

RNG = random.Random(0)
CHAT = Channel.CHAT
VOICE = Channel.VOICE


def test_capacity_two_holds_two_chats_and_no_third() -> None:
    cap = capacity_of(chats=2)
    assert can_take({CHAT: 1}, CHAT, cap)
    assert not can_take({CHAT: 2}, CHAT, cap)


def test_voice_is_not_offered_while_chats_are_held_unless_configured() -> None:
    assert free_channels({CHAT: 1}, capacity_of()) == {CHAT, Channel.EMAIL}
    assert VOICE in free_channels({CHAT: 1}, capacity_of(voice_with_chats=True))
    # on a call, nothing else is offered either way (the chats held go on)
    assert free_channels({CHAT: 1, VOICE: 1}, capacity_of(voice_with_chats=True)) == set()
    # e-mails held never keep a call away, with or without the chat option
    assert can_take({Channel.EMAIL: 1}, VOICE, capacity_of(voice_with_chats=True))
    assert can_take({Channel.EMAIL: 1}, VOICE, capacity_of())


def _hold_chats(n: int, settings: am.AgentSettings) -> am.AgentState:
    s = am.AgentState("a", ev.Status.READY)
    for k in range(n):
        s, _ = am.step(s, ev.Reserve(f"chat:{k}", CHAT, "q", 0), 1.0, settings)
        s, _ = am.step(s, ev.Answered(f"chat:{k}"), 1.0, settings)
    return s


def test_agent_machine_with_capacity_two_refuses_a_third_chat() -> None:
    settings = am.AgentSettings(capacity=capacity_of(chats=2))
    s = _hold_chats(2, settings)
    assert s.status == ev.Status.ON_CALL and s.load == {CHAT: 2}
    assert am.available_channels(s, settings.capacity) == {Channel.EMAIL}
    s2, outs = am.step(s, ev.Reserve("chat:9", CHAT, "q", 0), 2.0, settings)
    assert s2 is s and isinstance(outs[0], ev.Refused)


def test_agent_machine_takes_a_call_next_to_chats_only_when_configured() -> None:
    off = am.AgentSettings(capacity=capacity_of())
    on = am.AgentSettings(capacity=capacity_of(voice_with_chats=True))
    s = _hold_chats(1, off)
    refused, _ = am.step(s, ev.Reserve("c1", VOICE, "q", 0), 2.0, off)
    assert refused is s
    took, _ = am.step(_hold_chats(1, on), ev.Reserve("c1", VOICE, "q", 0), 2.0, on)
    assert took.offer is not None and took.offer.channel == VOICE


def test_a_waiting_call_is_offered_before_an_older_chat_to_an_idle_agent() -> None:
    q = queue(members=("a",))
    snap = snapshot([q], [agent("a")], [waiting("chat:1", arrived_at=0.0, channel=CHAT),
                                        waiting("c1", arrived_at=50.0)])
    _, out = route(RouterState(), snap, 100.0, RNG)
    assert [x.interaction_id for x in out] == ["c1"]


def test_the_chat_goes_to_the_agent_already_chatting_while_the_call_takes_the_idle_one() -> None:
    q = queue(members=("a", "b"))
    chatting = agent("a", free=frozenset({CHAT}))
    snap = snapshot([q], [chatting, agent("b")],
                    [waiting("chat:1", arrived_at=0.0, channel=CHAT), waiting("c1", arrived_at=9)])
    _, out = route(RouterState(), snap, 100.0, RNG)
    assert {(x.interaction_id, x.agents) for x in out} == {("c1", ("b",)), ("chat:1", ("a",))}


def test_chats_keep_priority_then_fifo_within_a_queue() -> None:
    q = queue(members=("a",))
    ws = [waiting("chat:1", arrived_at=0.0, channel=CHAT),
          waiting("chat:2", arrived_at=5.0, channel=CHAT, priority=3),
          waiting("chat:3", arrived_at=1.0, channel=CHAT)]
    order = []
    for _ in range(3):
        _, out = route(RouterState(), snapshot([q], [agent("a")], ws), 10.0, RNG)
        order.append(out[0].interaction_id)
        ws = [w for w in ws if w.interaction.interaction_id != out[0].interaction_id]
    assert order == ["chat:2", "chat:1", "chat:3"]


def test_ring_all_offers_a_chat_to_exactly_one_agent_with_the_chat_timeout() -> None:
    q = queue(members=("a", "b", "c"), strategy=Strategy.RING_ALL)
    snap = snapshot([q], [agent("a"), agent("b"), agent("c")],
                    [waiting("chat:1", channel=CHAT)])
    _, out = route(RouterState(), snap, 1.0, RNG)
    assert len(out) == 1 and len(out[0].agents) == 1
    assert out[0].timeout_s == q.chat_offer_timeout_s == 20.0


def test_after_a_timed_out_offer_the_chat_goes_to_the_next_agent() -> None:
    q = queue(members=("a", "b"))
    snap = snapshot([q], [agent("a"), agent("b")],
                    [waiting("chat:1", channel=CHAT, tried={"a": 1})])
    _, out = route(RouterState(), snap, 1.0, RNG)
    assert out[0].agents == ("b",)


def test_a_transfer_to_an_agent_offers_that_agent_first_member_or_not() -> None:
    q = queue(members=("a",))
    w = waiting("chat:1", channel=CHAT)
    w = replace(w, interaction=replace(w.interaction, direct_agent="z"))
    _, out = route(RouterState(), snapshot([q], [agent("a"), agent("z")], [w]), 1.0, RNG)
    assert out[0].agents == ("z",) and out[0].why == "direct"


def test_one_offer_per_agent_under_interleaved_chats_and_calls() -> None:
    """Many waiting chats and calls, agents with room for several chats: in one pass
    every interaction is offered to one agent at most and every agent gets one offer."""
    q = queue(members=("a", "b", "c"), strategy=Strategy.RING_ALL)
    ws = [waiting(f"chat:{n}", arrived_at=n, channel=CHAT) for n in range(10)]
    ws += [waiting(f"c{n}", arrived_at=n + 0.5) for n in range(3)]
    agents = [agent("a"), agent("b", free=frozenset({CHAT})), agent("c", free=frozenset({CHAT}))]
    _, out = route(RouterState(), snapshot([q], agents, ws), 100.0, RNG)
    offered = [a for x in out for a in x.agents]
    assert len(offered) == len(set(offered)) == 3
    assert all(len(x.agents) == 1 for x in out if x.interaction_id.startswith("chat:"))
