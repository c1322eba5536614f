"""Builders shared by the ACD tests and the benchmark (pure, no test framework).

Tests run with ``--import-mode=importlib`` and cannot import one another, so
the small factories they share live here.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.queues import AgingRule, QueueConfig, Strategy
from controlplane.acd.router import AgentView, RouterState, Snapshot, Waiting, route

VOICE_AND_CHAT = frozenset({Channel.VOICE, Channel.CHAT, Channel.EMAIL})


def agent(
    agent_id: str,
    skills: Mapping[str, int] | None = None,
    idle_since: float = 0.0,
    answered: int = 0,
    free: frozenset[Channel] = VOICE_AND_CHAT,
    ring_timeout_s: float | None = None,
) -> AgentView:
    return AgentView(agent_id, free, dict(skills or {}), idle_since, answered, ring_timeout_s)


def interaction(
    iid: str,
    arrived_at: float = 0.0,
    priority: float = 0.0,
    skills: Mapping[str, int] | None = None,
    channel: Channel = Channel.VOICE,
    last_agent: str | None = None,
    last_contact_at: float | None = None,
) -> Interaction:
    return Interaction(
        iid,
        channel,
        arrived_at,
        priority,
        dict(skills or {}),
        "cust-" + iid,
        last_agent,
        last_contact_at,
    )


def waiting(
    iid: str,
    queue_id: str = "q",
    arrived_at: float = 0.0,
    entered_at: float | None = None,
    tried: Mapping[str, int] | None = None,
    **kw: object,
) -> Waiting:
    i = interaction(iid, arrived_at, **kw)  # type: ignore[arg-type]
    enter = arrived_at if entered_at is None else entered_at
    return Waiting(i, queue_id, enter, dict(tried or {}))


def snapshot(
    queues: Iterable[QueueConfig], agents: Iterable[AgentView], ws: Iterable[Waiting]
) -> Snapshot:
    return Snapshot({q.queue_id: q for q in queues}, {a.agent_id: a for a in agents}, tuple(ws))


def offer_sequence(
    queue: QueueConfig, agents: list[AgentView], n: int, now: float = 100.0, seed: int = 1
) -> list[tuple[str, ...]]:
    """Offer one interaction ``n`` times, each offer timing out: who is rung each time."""
    rng = random.Random(seed)
    tried: dict[str, int] = {}
    state = RouterState()
    seq: list[tuple[str, ...]] = []
    for _ in range(n):
        w = Waiting(interaction("c1"), queue.queue_id, 0.0, dict(tried))
        state, out = route(state, snapshot([queue], agents, [w]), now, rng)
        if not out:
            break
        seq.append(out[0].agents)
        for a in out[0].agents:
            tried[a] = tried.get(a, 0) + 1
    return seq


def queue(
    queue_id: str = "q", members: Iterable[str] = ("a", "b", "c"), **kw: object
) -> QueueConfig:
    return QueueConfig(queue_id, tuple(members), **kw)  # type: ignore[arg-type]


Timed = tuple[float, ev.AgentEvent]


def run_agent(
    events: Iterable[Timed],
    settings: am.AgentSettings = am.DEFAULT_SETTINGS,
    state: am.AgentState | None = None,
) -> tuple[am.AgentState, list[ev.AgentOutput]]:
    """Feed timed events to one agent machine; return the last state and every output."""
    s = state or am.AgentState("ag")
    out: list[ev.AgentOutput] = []
    for now, e in events:
        s, o = am.step(s, e, now, settings)
        out += o
    return s, out


def statuses(out: Iterable[object]) -> list[str]:
    """The ``to`` status (with break reason) of each StatusChanged in ``out``."""
    return [
        f"{o.to}:{o.reason}" if o.reason else str(o.to)
        for o in out
        if isinstance(o, ev.StatusChanged)
    ]


def random_floor(
    seed: int, n_agents: int, n_waiting: int, n_queues: int, now: float = 1000.0
) -> Snapshot:
    """A seeded random floor: queues with skills, agents in 1–2 queues, waiting interactions."""
    rng = random.Random(seed)
    skills = [f"s{i}" for i in range(8)]
    strategies = list(Strategy)
    qids = [f"q{i}" for i in range(n_queues)]
    members: dict[str, list[str]] = {q: [] for q in qids}
    agents = []
    for n in range(n_agents):
        aid = f"a{n:03d}"
        for q in rng.sample(qids, rng.choice((1, 2))):
            members[q].append(aid)
        sk = {s: rng.randint(1, 10) for s in rng.sample(skills, 4)}
        agents.append(agent(aid, sk, idle_since=rng.uniform(0, now), answered=rng.randint(0, 40)))
    queues = [
        QueueConfig(
            q,
            tuple(members[q]),
            strategies[i % len(strategies)],
            aging=AgingRule(rate_per_s=0.01 * (i + 1)),
            order=i,
        )
        for i, q in enumerate(qids)
    ]
    ws = []
    for n in range(n_waiting):
        req = {s: rng.randint(1, 6) for s in rng.sample(skills, rng.choice((0, 1, 2)))}
        ws.append(
            waiting(
                f"i{n:04d}",
                rng.choice(qids),
                arrived_at=rng.uniform(0, now),
                priority=rng.choice((0, 0, 1, 5)),
                skills=req,
            )
        )
    return snapshot(queues, agents, ws)
