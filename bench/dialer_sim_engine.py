"""Discrete-event core of the dialer simulator (one policy, one seed, one day).

Theory of operation: a heapq of ``(time, seq, kind, a)`` events drives a floor
of agents (idle -> talk -> wrap-up -> idle) and outbound lines
(dial -> ring end -> AMD verdict -> agent or abandon). Once a second a tick asks
the policy how many calls to start. Every random quantity of attempt ``i`` is
read from :class:`Streams` row ``i``, drawn up front per (seed, day): attempt
``i`` has the same outcome, ring, AMD, talk and wrap-up times whichever policy
dials it (common random numbers).

Ground truth versus what the dialer sees: AMD can hang up on a person (false
positive: the policy sees ``machine``) or pass a machine to an agent (false
negative: the policy sees ``human``, the agent later marks it a machine).
Reported abandons and live answers are ground truth: only real people count.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from controlplane.dialer.events import (
    AttemptEnded,
    CallHandled,
    FloorView,
    LiveAnswered,
    MachineDisposition,
)

LIVE, MACHINE, NO_ANSWER, BUSY, UNOBTAIN = range(5)
OUTCOME_NAMES = ("human", "machine", "no_answer", "busy", "unobtain")
TICK, RING_END, VERDICT, DROP, TALK_END, WRAP_END = range(6)
GRACE_S = 2.0


@dataclass(frozen=True)
class CallModel:
    """Distributions of one scenario (means and standard deviations in seconds)."""

    mix: tuple[float, ...] = (0.25, 0.25, 0.35, 0.10, 0.05)  # live, machine, NA, busy, unob
    answer_ring: tuple[float, float] = (12.0, 7.0)
    busy_ring: tuple[float, float] = (5.0, 2.0)
    unobtain_ring: tuple[float, float] = (3.0, 1.5)
    no_answer_timeout_s: float = 30.0
    amd_human: tuple[float, float] = (2.5, 0.8)  # answer -> end of greeting / verdict
    amd_machine: tuple[float, float] = (3.5, 1.0)
    amd_fp: float = 0.01  # P(machine verdict | person)
    amd_fn: float = 0.10  # P(human verdict | machine)
    talk: tuple[float, float] = (150.0, 120.0)
    wrap: tuple[float, float] = (20.0, 10.0)
    machine_handle: tuple[float, float] = (6.0, 3.0)  # agent spots a machine AMD missed
    machine_wrap_s: float = 5.0


def _lognormal(rng: np.random.Generator, mean_sd: tuple[float, float], n: int) -> np.ndarray:
    mean, sd = mean_sd
    s2 = np.log1p((sd / mean) ** 2)
    return rng.lognormal(np.log(mean) - s2 / 2, np.sqrt(s2), n)


class Streams:
    """Pre-drawn per-attempt random values for one (seed, day), grown in blocks."""

    BLOCK = 4096

    def __init__(self, model: CallModel, seed: int, day: int) -> None:
        self.model, self.seed, self.day = model, seed, day
        self.cat: list[int] = []
        self.ring: list[float] = []
        self.amd: list[float] = []
        self.err: list[bool] = []
        self.talk: list[float] = []
        self.wrap: list[float] = []

    def ensure(self, i: int) -> None:
        """Make row ``i`` available (blocks are keyed by their index: CRN-safe)."""
        while i >= len(self.cat):
            self._grow(len(self.cat) // self.BLOCK)

    def _grow(self, block: int) -> None:
        m, n = self.model, self.BLOCK
        rng = np.random.default_rng([self.seed, self.day, block])
        cat = rng.choice(5, size=n, p=np.asarray(m.mix) / sum(m.mix))
        ring = np.select(
            [cat <= MACHINE, cat == NO_ANSWER, cat == BUSY],
            [
                np.minimum(_lognormal(rng, m.answer_ring, n), m.no_answer_timeout_s - 0.5),
                np.full(n, m.no_answer_timeout_s),
                _lognormal(rng, m.busy_ring, n),
            ],
            _lognormal(rng, m.unobtain_ring, n),
        )
        amd = np.where(
            cat == LIVE, _lognormal(rng, m.amd_human, n), _lognormal(rng, m.amd_machine, n)
        )
        u = rng.random(n)
        err = np.where(cat == LIVE, u < m.amd_fp, u < m.amd_fn)
        talk = np.where(
            cat == LIVE, _lognormal(rng, m.talk, n), _lognormal(rng, m.machine_handle, n)
        )
        wrap = np.where(cat == LIVE, _lognormal(rng, m.wrap, n), m.machine_wrap_s)
        self.cat += cat.tolist()
        self.ring += ring.tolist()
        self.amd += amd.tolist()
        self.err += err.tolist()
        self.talk += talk.tolist()
        self.wrap += wrap.tolist()


@dataclass
class DayResult:
    """Ground-truth counters of one simulated day."""

    live: int = 0
    abandoned: int = 0
    amd_false_positives: int = 0
    machine_verdicts: int = 0
    attempts: int = 0
    talk_s: float = 0.0
    busy_s: float = 0.0
    waits: list[float] = field(default_factory=list)


def run_day(policy, streams: Streams, agents: int, shift_s: float, day_offset: float) -> DayResult:
    """Simulate one shift.

    ``policy`` has ``tick(view, now) -> (count, amd)`` and ``event(ev, now)``.
    Calls dialled with ``amd`` False skip detection: answered calls (people
    and machines alike) are "human" at once and go to an agent.
    """
    res = DayResult()
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    idle: deque[int] = deque(range(agents))
    idle_since = [0.0] * agents
    talk_since: dict[int, float] = {}
    wrap_since: dict[int, float] = {}
    agent_call = [-1] * agents
    ringing: dict[int, float] = {}
    analysing = 0
    queue: deque[int] = deque()
    queued: set[int] = set()
    dial_time: dict[int, float] = {}
    no_amd: set[int] = set()
    nxt = 0
    want_events = policy.wants_events
    # A time-invariant policy that dialled nothing will dial nothing again
    # until some event changes the floor: skip those ticks (pure speed-up).
    invariant = getattr(policy, "time_invariant", False)
    changed, last_count = True, 0
    cat, ring, amd, err, talk, wrap = (
        streams.cat,
        streams.ring,
        streams.amd,
        streams.err,
        streams.talk,
        streams.wrap,
    )
    push, pop = heapq.heappush, heapq.heappop
    heap.append((0.0, 0, TICK, 0))

    def connect(call: int, agent: int, t: float) -> None:
        nonlocal seq
        agent_call[agent] = call
        talk_since[agent] = t
        d = talk[call]
        in_shift = max(min(t + d, shift_s) - t, 0.0)
        res.busy_s += in_shift
        if cat[call] == LIVE:
            res.live += 1
            res.talk_s += in_shift
        if want_events:
            policy.event(LiveAnswered(False), day_offset + t)
        seq += 1
        push(heap, (t + d, seq, TALK_END, agent))

    while heap:
        t, _, kind, a = pop(heap)
        now = day_offset + t
        if kind == TICK:
            if t >= shift_s:
                continue
            seq += 1
            push(heap, (t + 1.0, seq, TICK, 0))
            if not (changed or last_count or not invariant):
                continue
            changed = False
            view = FloorView(
                logged_in=agents,
                ready=len(idle),
                talk_elapsed=tuple(map(t.__sub__, talk_since.values())),
                wrap_elapsed=tuple(map(t.__sub__, wrap_since.values())),
                ringing_elapsed=tuple(map(t.__sub__, ringing.values())),
                analysing=analysing,
                queued=len(queue),
                shift_remaining_s=shift_s - t,
            )
            count, use_amd = policy.tick(view, now)
            last_count = count
            for _ in range(count):
                streams.ensure(nxt)
                if not use_amd:
                    no_amd.add(nxt)
                ringing[nxt] = t
                dial_time[nxt] = t
                seq += 1
                push(heap, (t + ring[nxt], seq, RING_END, nxt))
                nxt += 1
            continue
        changed = True
        if kind == RING_END:
            del ringing[a]
            c = cat[a]
            if c <= MACHINE:
                analysing += 1
                seq += 1
                push(heap, (t if a in no_amd else t + amd[a], seq, VERDICT, a))
            elif want_events:
                policy.event(AttemptEnded(OUTCOME_NAMES[c], t - dial_time[a]), now)
        elif kind == VERDICT:
            analysing -= 1
            human = a in no_amd or (cat[a] == LIVE) != err[a]
            if want_events:
                verdict = "human" if human else "machine"
                policy.event(AttemptEnded(verdict, t - dial_time[a]), now)
            if not human:
                res.machine_verdicts += 1
                res.amd_false_positives += cat[a] == LIVE
            elif idle:
                agent = idle.popleft()
                res.waits.append(t - idle_since[agent])
                connect(a, agent, t)
            else:
                queue.append(a)
                queued.add(a)
                seq += 1
                push(heap, (t + GRACE_S, seq, DROP, a))
        elif kind == DROP:
            if a in queued:
                queued.discard(a)
                queue.remove(a)
                res.live += cat[a] == LIVE
                res.abandoned += cat[a] == LIVE
                if want_events:
                    policy.event(LiveAnswered(True), now)
        elif kind == TALK_END:
            del talk_since[a]
            wrap_since[a] = t
            call = agent_call[a]
            w = wrap[call]
            res.busy_s += max(min(t + w, shift_s) - t, 0.0)
            if want_events and cat[call] != LIVE:
                policy.event(MachineDisposition(), now)
            seq += 1
            push(heap, (t + w, seq, WRAP_END, a))
        else:  # WRAP_END
            call = agent_call[a]
            del wrap_since[a]
            if want_events and cat[call] == LIVE:
                policy.event(CallHandled(talk[call], wrap[call]), now)
            if queue:
                nxt_call = queue.popleft()
                queued.discard(nxt_call)
                res.waits.append(0.0)
                connect(nxt_call, a, t)
            else:
                idle.append(a)
                idle_since[a] = t
    res.attempts = nxt
    return res
