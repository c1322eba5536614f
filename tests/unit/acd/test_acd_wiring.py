"""The machines wired together as docs/acd.md §9 tells the adapter to: a pure mini-floor.

This is the contract between the router, the queue machine and the agent
machines; if the commands of one stop matching the events of another, these fail.
"""

from __future__ import annotations

import random

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import queue_machine as qm
from controlplane.acd.interactions import Interaction
from controlplane.acd.queues import QueueConfig
from controlplane.acd.router import AgentView, RouterState, Snapshot, Waiting, route
from controlplane.acd.stats import QueueLogRecord, queue_report
from controlplane.acd.testing import interaction, queue


class Floor:
    """What the ARI adapter does, minus the I/O."""

    def __init__(self, q: QueueConfig, agents: list[str], settings: am.AgentSettings) -> None:
        self.q, self.settings = q, settings
        self.agents = {a: am.AgentState(a) for a in agents}
        self.calls: dict[str, qm.QueuedState] = {}
        self.router = RouterState()
        self.log: list[QueueLogRecord] = []
        self.records: list[object] = []
        self.rng = random.Random(0)

    def agent(self, aid: str, e: ev.AgentEvent, now: float) -> None:
        self.agents[aid], out = am.step(self.agents[aid], e, now, self.settings)
        self.records += out

    def call(self, iid: str, e: qm.QueueEvent, now: float) -> None:
        self.calls[iid], out = qm.step(self.calls[iid], e, now, self.q)
        self.apply(out, now)

    def enter(self, i: Interaction, now: float) -> None:
        waiting = sum(s.phase in qm.QUEUED for s in self.calls.values())
        staffed = sum(a.status != ev.Status.LOGGED_OUT for a in self.agents.values())
        self.calls[i.interaction_id], out = qm.start(qm.Enter(i, waiting, staffed), self.q, now)
        self.apply(out, now)

    def apply(self, out: list[qm.QueueOutput], now: float) -> None:
        for c in out:
            if isinstance(c, QueueLogRecord):
                self.log.append(c)
            elif isinstance(c, qm.CancelOffer) and c.reason not in ("late", "stale"):
                e = (
                    ev.OfferFailed(c.interaction_id)
                    if c.reason == "timeout"
                    else ev.OfferCancelled(c.interaction_id)
                )
                self.agent(c.agent, e, now)

    def snapshot(self) -> Snapshot:
        views = {
            a: AgentView(a, am.available_channels(s), idle_since=s.idle_since, answered=s.answered)
            for a, s in self.agents.items()
            if s.status != ev.Status.LOGGED_OUT
        }
        ws = tuple(
            Waiting(s.interaction, s.queue_id, s.entered_at, s.tried, s.phase == qm.Phase.OFFERED)
            for s in self.calls.values()
            if s.phase in qm.QUEUED
        )
        return Snapshot({self.q.queue_id: self.q}, views, ws)

    def tick(self, now: float) -> None:
        for aid in self.agents:
            self.agent(aid, ev.Tick(), now)
        for iid, s in list(self.calls.items()):
            if s.phase in qm.QUEUED:
                self.call(iid, qm.Tick(), now)
        self.router, assignments = route(self.router, self.snapshot(), now, self.rng)
        for a in assignments:
            for aid in a.agents:
                self.agent(
                    aid,
                    ev.Reserve(
                        a.interaction_id,
                        self.calls[a.interaction_id].interaction.channel,
                        a.queue_id,
                        a.wrap_up_s,
                    ),
                    now,
                )
            self.call(a.interaction_id, qm.Offered(a.agents, a.timeout_s), now)


def status(f: Floor, aid: str) -> ev.Status:
    return f.agents[aid].status


def test_offer_rings_out_goes_to_next_agent_then_wrap_up_and_stats() -> None:
    f = Floor(
        queue(members=("a", "b"), ring_timeout_s=10, wrap_up_s=5, announce_interval_s=None),
        ["a", "b"],
        am.AgentSettings(max_missed=1),
    )
    for aid in "ab":
        f.agent(aid, ev.LoggedIn(), 0)
    f.enter(interaction("c1"), 1)
    f.tick(1)
    assert f.calls["c1"].offered == ("a",) and status(f, "a") == ev.Status.RESERVED
    f.tick(11)  # a let it ring out: missed break (max_missed=1); b gets it in the same tick
    assert status(f, "a") == ev.Status.BREAK and f.agents["a"].reason == ev.MISSED
    assert f.calls["c1"].offered == ("b",)
    f.agent("b", ev.Answered("c1"), 14)
    f.call("c1", qm.AgentAnswered("b"), 14)
    assert status(f, "b") == ev.Status.ON_CALL and f.calls["c1"].phase == qm.Phase.CONNECTED
    f.call("c1", qm.Ended(), 74)
    f.agent("b", ev.InteractionEnded("c1"), 74)
    f.tick(78)
    assert status(f, "b") == ev.Status.WRAP_UP
    f.tick(79)
    assert status(f, "b") == ev.Status.READY
    r = queue_report(f.log, "q", now=80, threshold_s=15)
    assert (r.answered, r.answered_in_threshold, r.avg_speed_of_answer_s, r.avg_handle_s) == (
        1,
        1,
        13,
        60,
    )


def test_caller_abandons_while_ringing_releases_the_agent_without_a_miss() -> None:
    f = Floor(
        queue(members=("a",), announce_interval_s=None), ["a"], am.AgentSettings(max_missed=1)
    )
    f.agent("a", ev.LoggedIn(), 0)
    f.enter(interaction("c1"), 0)
    f.tick(1)
    f.agent("a", ev.Ringing("c1"), 2)
    f.call("c1", qm.CallerAbandoned(), 3)
    assert f.agents["a"].status == ev.Status.READY and f.agents["a"].missed == 0
    assert not [r for r in f.records if isinstance(r, ev.Refused)]
