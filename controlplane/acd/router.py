"""The routing decision: which waiting interaction goes to which free agent now.

Theory of operation
-------------------
``route(state, snapshot, now, rng)`` is a pure function over a frozen
:class:`Snapshot` (queue configs, agents with what they can take now, waiting
interactions). The service calls it whenever something may have changed the
answer (an interaction entered, an agent became free, an offer failed, and on
each tick for aging and sticky windows) and turns each :class:`Assignment`
into ``Reserve`` events for the agents and an ``Offered`` event for the
interaction. One pass:

1. Serving order, across all queues: waiting interactions with no offer out,
   sorted by (channel, effective priority desc, arrival asc, queue ``order``
   asc, queue id, interaction id). Channel first: voice, then chat, then
   e-mail (:data:`CHANNEL_ORDER`). Only an agent who holds nothing can take a
   call, and a chat or e-mail given to such an agent would shut calls out of
   them, while a chat can also go to an agent already chatting; so when both
   fit the same agent, the waiting call is offered first (issue 14: "a
   waiting call is offered before a waiting e-mail"). Effective priority is the queue's aging rule
   applied to the interaction's base priority (:mod:`.queues`). This one
   order is also what an agent in several queues sees: a free agent gets the
   first interaction in it that they may take, so ties between queues fall
   to the longest wait, then the queue order.
2. For each interaction in that order, the candidates are the queue's members
   who can take its channel now, were not picked earlier in this pass, and
   hold every required skill at the minimum level or above. An agent who declined
   this interaction (a chat's or e-mail's Decline) is not a candidate for it again for
   :data:`DECLINE_WAIT_S`: it goes to the others, and comes back to them (the only
   agent, say) only after that.
3. Sticky agent: a returning customer whose ``last_agent`` is logged in is,
   for the queue's ``sticky_wait_s`` from entering the queue, offered only to
   that agent (member of the queue or not); while that agent is busy the
   interaction waits. After the window, or once that agent let it ring out,
   or when they are logged out, the queue's candidates apply.
4. Candidates are ranked by the key (times already offered this interaction,
   skill score, strategy key): an agent who already let it ring goes after
   all who have not; then the best skill match; then the strategy
   (``linear``: member order; ``random``: seeded draw; ``round_robin``: the
   members after the last one offered in this queue, cyclically;
   ``longest_idle``: earliest ``idle_since``; ``fewest_calls``: fewest
   answered, then longest idle). Final tie-break: member order.
   ``ring_all`` offers every candidate at once.
5. Skill score, only over the required skills (an agent missing one, or
   below its minimum, is never a candidate): ``closest`` (default, "the
   agent with the most similar skill set goes first") ranks by the surplus
   Σ(level − minimum), smallest first, which keeps experts free for the
   interactions that need them; ``highest`` ranks by Σ level, largest first.
   Without required skills every agent scores 0.

An agent gets at most one offer per pass (and the agent machine accepts one
offer at a time). The pass stops early when no free agent is left.

Chats (and e-mails) are offered to exactly one agent: ``ring_all`` rings
phones, it does not apply to them (the first candidate is offered). Their
offer lasts the queue's ``chat_offer_timeout_s`` (``email_offer_timeout_s``), not a ring
timeout. An
interaction transferred to an agent (``direct_agent``) is offered to that
agent first, like a sticky one without a time window; unlike a sticky one it
does not wait for them: if that agent cannot take it now (busy, on a break),
the queue's agents may.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.queues import QueueConfig, SkillPreference, Strategy, effective_priority


@dataclass(frozen=True, slots=True)
class AgentView:
    """A logged-in agent as the router sees it. ``free`` is
    :func:`.agent_machine.available_channels`; empty means not free now.
    ``ring_timeout_s`` overrides the queue's ring timeout for this agent."""

    agent_id: str
    free: frozenset[Channel]
    skills: Mapping[str, int] = field(default_factory=dict)
    idle_since: float = 0.0
    answered: int = 0
    ring_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class Waiting:
    """An interaction waiting in a queue. ``tried`` counts offers per agent so
    far; ``offered`` is True while an offer is out (it is then skipped); ``declined``:
    agent → when they declined it (not offered to them again for :data:`DECLINE_WAIT_S`)."""

    interaction: Interaction
    queue_id: str
    entered_at: float
    tried: Mapping[str, int] = field(default_factory=dict)
    offered: bool = False
    declined: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Snapshot:
    queues: Mapping[str, QueueConfig]
    agents: Mapping[str, AgentView]  # logged-in agents only
    waiting: tuple[Waiting, ...]


@dataclass(frozen=True, slots=True)
class RouterState:
    """Round-robin memory: the agent last offered in each queue."""

    last_offered: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Assignment:
    """Offer ``interaction_id`` to ``agents`` (several: ring all) for ``timeout_s``.
    ``why`` is ``sticky``, ``direct`` (a transfer to an agent) or the strategy name."""

    interaction_id: str
    queue_id: str
    agents: tuple[str, ...]
    timeout_s: float
    wrap_up_s: float
    why: str


CHANNEL_ORDER = {Channel.VOICE: 0, Channel.CHAT: 1, Channel.EMAIL: 2}
# Seconds before an interaction an agent declined is offered to them again (step 2).
DECLINE_WAIT_S = 30.0


def serving_key(
    w: Waiting, q: QueueConfig, now: float
) -> tuple[int, float, float, int, str, str]:
    """Sort key of the global serving order (smallest first)."""
    i = w.interaction
    eff = effective_priority(q.aging, i.priority, now - i.arrived_at)
    return (CHANNEL_ORDER[i.channel], -eff, i.arrived_at, q.order, q.queue_id, i.interaction_id)


def offer_timeout(i: Interaction, q: QueueConfig, agent: AgentView | None) -> float:
    """How long an offer lasts: a call rings for the agent's or the queue's ring timeout;
    a chat waits for acceptance ``chat_offer_timeout_s``, an e-mail (a ticket)
    ``email_offer_timeout_s``."""
    if i.channel == Channel.EMAIL:
        return q.email_offer_timeout_s
    if i.channel != Channel.VOICE:
        return q.chat_offer_timeout_s
    return (agent.ring_timeout_s if agent is not None else None) or q.ring_timeout_s


def qualified(agent: AgentView, required: Mapping[str, int]) -> bool:
    """True when the agent has every required skill at its minimum level or above."""
    return all(agent.skills.get(s, 0) >= lvl for s, lvl in required.items())


def skill_score(agent: AgentView, required: Mapping[str, int], pref: SkillPreference) -> int:
    """Rank of a qualified agent for ``required`` skills; lower is offered first."""
    if pref == SkillPreference.HIGHEST:
        return -sum(agent.skills.get(s, 0) for s in required)
    return sum(agent.skills.get(s, 0) - lvl for s, lvl in required.items())


def _sticky(w: Waiting, q: QueueConfig, snap: Snapshot, now: float) -> str | None:
    """The agent this interaction is reserved for now, if any."""
    i = w.interaction
    direct = i.direct_agent
    if direct is not None and direct in snap.agents and w.tried.get(direct, 0) == 0:
        return direct
    if i.last_agent is None or q.sticky_wait_s <= 0 or now - w.entered_at >= q.sticky_wait_s:
        return None
    if q.sticky_max_age_s is not None and (
        i.last_contact_at is None or now - i.last_contact_at > q.sticky_max_age_s
    ):
        return None
    if i.last_agent not in snap.agents or w.tried.get(i.last_agent, 0) > 0:
        return None
    return i.last_agent


def _rank(
    w: Waiting, q: QueueConfig, cands: list[AgentView], state: RouterState, rng: random.Random
) -> list[AgentView]:
    required = w.interaction.skills
    index = {m: n for n, m in enumerate(q.members)}
    last = state.last_offered.get(q.queue_id)
    last_i = index.get(last, -1) if last is not None else -1
    size = max(len(q.members), 1)
    keyed: list[tuple[int, int, float, float, int, AgentView]] = []
    for a in cands:
        i = index[a.agent_id]
        s = q.strategy
        k1: float = 0.0
        k2: float = 0.0
        if s == Strategy.RANDOM:
            k1 = rng.random()
        elif s == Strategy.ROUND_ROBIN:
            k1 = (i - last_i - 1) % size
        elif s == Strategy.LONGEST_IDLE:
            k1 = a.idle_since
        elif s == Strategy.FEWEST_CALLS:
            k1, k2 = a.answered, a.idle_since
        score = skill_score(a, required, q.skill_preference) if required else 0
        keyed.append((w.tried.get(a.agent_id, 0), score, k1, k2, i, a))
    keyed.sort(key=lambda t: t[:5])
    return [t[5] for t in keyed]


def route(
    state: RouterState, snap: Snapshot, now: float, rng: random.Random
) -> tuple[RouterState, list[Assignment]]:
    """One routing pass: the offers to make now, in serving order.

    ``rng`` is the only source of randomness (seed it for reproducible runs);
    it is drawn from only for queues with the random strategy.
    """
    free = {a.agent_id: a for a in snap.agents.values() if a.free}
    if not free:
        return state, []
    order = sorted(
        (w for w in snap.waiting if not w.offered and w.queue_id in snap.queues),
        key=lambda w: serving_key(w, snap.queues[w.queue_id], now),
    )
    last = dict(state.last_offered)
    out: list[Assignment] = []
    for w in order:
        if not free:
            break
        q = snap.queues[w.queue_id]
        i = w.interaction
        sticky = _sticky(w, q, snap, now)
        if sticky is not None:
            a = free.get(sticky)
            if a is not None and i.channel in a.free and qualified(a, i.skills):
                del free[sticky]
                timeout = offer_timeout(i, q, a)
                why = "direct" if sticky == i.direct_agent else "sticky"
                out.append(
                    Assignment(i.interaction_id, q.queue_id, (sticky,), timeout, q.wrap_up_s, why)
                )
                continue
            if sticky != i.direct_agent:
                continue  # a sticky interaction waits for its agent (within the window)
            # a transfer's agent who cannot take it now: the queue's agents may
        cands = [
            a
            for m in q.members
            if (a := free.get(m)) is not None and i.channel in a.free and qualified(a, i.skills)
            and now - w.declined.get(m, -DECLINE_WAIT_S) >= DECLINE_WAIT_S
        ]
        if not cands:
            continue
        ranked = _rank(w, q, cands, RouterState(last), rng)
        ring_all = q.strategy == Strategy.RING_ALL and i.channel == Channel.VOICE
        chosen = ranked if ring_all else ranked[:1]
        for a in chosen:
            del free[a.agent_id]
        timeout = offer_timeout(i, q, chosen[0] if len(chosen) == 1 else None)
        last[q.queue_id] = chosen[0].agent_id
        out.append(
            Assignment(
                i.interaction_id,
                q.queue_id,
                tuple(a.agent_id for a in chosen),
                timeout,
                q.wrap_up_s,
                str(q.strategy),
            )
        )
    return RouterState(last), out


def queue_positions(
    snap: Snapshot, now: float, aht_s: Mapping[str, float]
) -> dict[str, tuple[int, float | None]]:
    """Position (1-based, in serving order) and estimated wait of each waiting
    interaction in its queue. EWT = position × AHT / logged-in members, None
    when no member is logged in or the queue has no AHT yet."""
    by_queue: dict[str, list[Waiting]] = {}
    for w in snap.waiting:
        if w.queue_id in snap.queues:
            by_queue.setdefault(w.queue_id, []).append(w)
    out: dict[str, tuple[int, float | None]] = {}
    for qid, ws in by_queue.items():
        q = snap.queues[qid]
        ws.sort(key=lambda w: serving_key(w, q, now))
        staffed = sum(1 for m in q.members if m in snap.agents)
        aht = aht_s.get(qid)
        for pos, w in enumerate(ws, 1):
            ewt = pos * aht / staffed if staffed and aht else None
            out[w.interaction.interaction_id] = (pos, ewt)
    return out
