"""The queue-side machine: one interaction's life in one queue.

Theory of operation
-------------------
    phase       event                           → phase       outputs
    (new)       start(Enter)                    → WAITING     log enter
    (new)       start, ≥ max_waiting waiting    → OVERFLOWED  log enter+overflow, Overflow, Left
    (new)       start, no member logged in      → DIVERTED    log enter+divert, Overflow, Left
    WAITING     Offered(agents, timeout)        → OFFERED     Offer ×n, log offer ×n
    OFFERED     AgentAnswered(agent)            → CONNECTED   CancelOffer(others), Connect,
                                                              Record, log answer, Left
    OFFERED     OfferTimeout(agent) (last one)  → WAITING     log offer_timeout
    OFFERED     Tick past the offer deadline    → WAITING     CancelOffer ×n, log offer_timeout ×n
    WAITING|OFFERED Tick past max_wait          → OVERFLOWED  CancelOffer, Overflow, Left
    WAITING     Tick, no member logged in       → DIVERTED    Overflow, Left
    WAITING     Tick at the announce interval   → WAITING     AnnouncePosition(position, ewt)
    WAITING|OFFERED CallerAbandoned             → ABANDONED   CancelOffer, log abandon, Left
    WAITING|OFFERED CallbackRequested           → CALLBACK    CancelOffer, log callback, Left
    CONNECTED   Ended | CallerAbandoned         → ENDED       log end
    other       Offered                         → (same)      CancelOffer ×n (stale assignment)
    other       AgentAnswered                   → (same)      CancelOffer (too late)

``Left(outcome)`` is emitted exactly once, when the interaction leaves the
waiting list; the service drops it from the router's snapshot then. Music on
hold is not modelled here: the call machine (``calls/machine.py``) starts it when
a call is queued and stops it when the call leaves the queue. Overflow
(``max_wait_s`` in this queue, or ``max_waiting`` already waiting on entry)
needs an ``overflow`` destination in the queue; without one the interaction
keeps waiting. ``no_agents`` likewise (``None``: keep waiting). The recording
policy is emitted on answer as ``Record(mode)`` unless it is ``never``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from controlplane.acd.interactions import Interaction
from controlplane.acd.queues import Destination, QueueConfig, Recording
from controlplane.acd.stats import QueueLogRecord


class Phase(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    ENDED = "ended"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    DIVERTED = "diverted"
    CALLBACK = "callback"


QUEUED = (Phase.WAITING, Phase.OFFERED)


@dataclass(frozen=True, slots=True)
class QueuedState:
    interaction: Interaction
    queue_id: str
    phase: Phase
    entered_at: float
    offered: tuple[str, ...] = ()
    offer_deadline: float | None = None
    tried: Mapping[str, int] = field(default_factory=dict)
    agent: str | None = None
    next_announce_at: float | None = None
    # agent → when they declined its offer (a chat's or ticket's Decline button): the router
    # offers it to them again only after router.DECLINE_WAIT_S
    declined: Mapping[str, float] = field(default_factory=dict)

    @property
    def iid(self) -> str:
        return self.interaction.interaction_id


# ---- events ----


@dataclass(frozen=True, slots=True)
class Enter:
    """``waiting`` interactions already wait in the queue; ``staffed`` members are logged in."""

    interaction: Interaction
    waiting: int
    staffed: int
    resumed_at: float | None = None  # set: re-entering after a restart (see ``start``)


@dataclass(frozen=True, slots=True)
class Offered:
    """The router assigned the interaction to ``agents`` (see ``router.Assignment``)."""

    agents: tuple[str, ...]
    timeout_s: float


@dataclass(frozen=True, slots=True)
class AgentAnswered:
    agent: str


@dataclass(frozen=True, slots=True)
class OfferTimeout:
    """The offer to ``agent`` failed: ``cause`` timeout | busy | rejected | unreachable."""

    agent: str
    cause: str = "timeout"


@dataclass(frozen=True, slots=True)
class CallerAbandoned:
    pass


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """The caller pressed the callback key (or clicked it in the chat)."""


@dataclass(frozen=True, slots=True)
class Ended:
    """The answered interaction ended (either side hung up, chat closed)."""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes. ``position``/``ewt_s`` from ``router.queue_positions``;
    ``staffed``: members of the queue logged in now."""

    position: int | None = None
    ewt_s: float | None = None
    staffed: int = 1


QueueEvent = (
    Offered | AgentAnswered | OfferTimeout | CallerAbandoned | CallbackRequested | Ended | Tick
)


# ---- commands ----


@dataclass(frozen=True, slots=True)
class AnnouncePosition:
    interaction_id: str
    position: int
    ewt_s: float | None


@dataclass(frozen=True, slots=True)
class Offer:
    agent: str
    interaction_id: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing ``agent``. ``reason`` answered_elsewhere | caller_left | timeout |
    overflow | callback | stale | late; only ``timeout`` counts as the agent's miss."""

    agent: str
    interaction_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Connect:
    interaction_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class Record:
    interaction_id: str
    agent: str
    mode: Recording


@dataclass(frozen=True, slots=True)
class Overflow:
    """Send the interaction to ``destination``; ``reason`` max_wait | max_waiting | no_agents."""

    interaction_id: str
    destination: Destination
    reason: str


@dataclass(frozen=True, slots=True)
class Left:
    """The interaction left the waiting list: answered | abandoned | overflow |
    no_agents | callback_requested."""

    interaction_id: str
    queue_id: str
    outcome: str


QueueCommand = (
    AnnouncePosition | Offer | CancelOffer | Connect | Record | Overflow | Left
)
QueueOutput = QueueCommand | QueueLogRecord
Result = tuple[QueuedState, list[QueueOutput]]


def _log(
    s: QueuedState, kind: str, now: float, agent: str | None = None, detail: str = ""
) -> QueueLogRecord:
    return QueueLogRecord(s.iid, s.queue_id, kind, now, agent, detail)


def enter_detail(i: Interaction) -> str:
    """``p=<priority>;s=<skill>:<level>,…`` — what a restart needs to rebuild ``i``."""
    skills = ",".join(f"{k}:{v}" for k, v in sorted(i.skills.items()))
    return f"p={i.priority:g};s={skills}"[:200]


def parse_enter_detail(detail: str) -> tuple[float, dict[str, int]]:
    """The priority and skills written by :func:`enter_detail` (0 and none if absent)."""
    fields = dict(part.split("=", 1) for part in detail.split(";") if "=" in part)
    try:
        priority = float(fields.get("p", "0"))
    except ValueError:
        priority = 0.0
    skills: dict[str, int] = {}
    for item in fields.get("s", "").split(","):
        name, _, level = item.rpartition(":")
        if name and level.isdigit():
            skills[name] = int(level)
    return priority, skills


def start(event: Enter, q: QueueConfig, now: float) -> Result:
    """An interaction enters queue ``q``.

    With ``resumed_at`` the interaction had entered this queue at that time before a
    restart of the control plane: it keeps that entry time (so maximum wait and the
    service level count the whole wait), is not logged or admitted again, and only gets
    its announcements back. The ``enter`` record's detail carries the
    priority and skills (``enter_detail``) so a restart can rebuild the interaction.
    """
    if event.resumed_at is not None:
        s = QueuedState(event.interaction, q.queue_id, Phase.WAITING, entered_at=event.resumed_at)
        if q.announce_interval_s:
            s = replace(s, next_announce_at=now + q.announce_interval_s)
        return s, []
    s = QueuedState(event.interaction, q.queue_id, Phase.WAITING, entered_at=now)
    out: list[QueueOutput] = [_log(s, "enter", now, detail=enter_detail(event.interaction))]
    if q.max_waiting is not None and event.waiting >= q.max_waiting and q.overflow is not None:
        s, more = _send_away(s, q.overflow, "max_waiting", now)
        return s, out + more
    if event.staffed == 0 and q.no_agents is not None:
        s, more = _send_away(s, q.no_agents, "no_agents", now)
        return s, out + more
    if q.announce_interval_s:
        s = replace(s, next_announce_at=now + q.announce_interval_s)
    return s, out


def _cancel_all(s: QueuedState, reason: str) -> list[QueueOutput]:
    return [CancelOffer(a, s.iid, reason) for a in s.offered]


def _send_away(s: QueuedState, dest: Destination, reason: str, now: float) -> Result:
    no_agents = reason == "no_agents"
    out: list[QueueOutput] = _cancel_all(s, "overflow")
    out += [
        _log(
            s,
            "divert" if no_agents else "overflow",
            now,
            detail=f"{reason}:{dest.kind}:{dest.target}",
        ),
        Overflow(s.iid, dest, reason),
        Left(s.iid, s.queue_id, "no_agents" if no_agents else "overflow"),
    ]
    phase = Phase.DIVERTED if no_agents else Phase.OVERFLOWED
    return replace(s, phase=phase, offered=(), offer_deadline=None), out


def _leave(
    s: QueuedState, phase: Phase, kind: str, outcome: str, reason: str, now: float
) -> Result:
    out: list[QueueOutput] = _cancel_all(s, reason)
    out += [_log(s, kind, now), Left(s.iid, s.queue_id, outcome)]
    return replace(s, phase=phase, offered=(), offer_deadline=None), out


def _timed_out(s: QueuedState, agents: tuple[str, ...], cause: str, now: float) -> Result:
    tried = dict(s.tried)
    for a in agents:
        tried[a] = tried.get(a, 0) + 1
    offered = tuple(a for a in s.offered if a not in agents)
    s = replace(s, offered=offered, tried=tried)
    if cause == "rejected":
        s = replace(s, declined={**s.declined, **{a: now for a in agents}})
    if not offered:
        s = replace(s, phase=Phase.WAITING, offer_deadline=None)
    return s, [_log(s, "offer_timeout", now, a, cause) for a in agents]


def _tick(s: QueuedState, e: Tick, q: QueueConfig, now: float) -> Result:
    out: list[QueueOutput] = []
    if s.phase == Phase.OFFERED and s.offer_deadline is not None and now >= s.offer_deadline:
        late = s.offered
        out += _cancel_all(s, "timeout")
        s, logs = _timed_out(s, late, "timeout", now)
        out += logs
    if q.max_wait_s is not None and now - s.entered_at >= q.max_wait_s and q.overflow is not None:
        s, more = _send_away(s, q.overflow, "max_wait", now)
        return s, out + more
    if s.phase == Phase.WAITING and e.staffed == 0 and q.no_agents is not None:
        s, more = _send_away(s, q.no_agents, "no_agents", now)
        return s, out + more
    due = s.next_announce_at is not None and now >= s.next_announce_at
    if s.phase == Phase.WAITING and due and e.position is not None and q.announce_interval_s:
        out.append(AnnouncePosition(s.iid, e.position, e.ewt_s))
        s = replace(s, next_announce_at=now + q.announce_interval_s)
    return s, out


def step(state: QueuedState, event: QueueEvent, now: float, q: QueueConfig) -> Result:
    """Advance one queued interaction by one event; ``q`` is its queue's config."""
    s = state
    if isinstance(event, Tick):
        return _tick(s, event, q, now) if s.phase in QUEUED else (s, [])
    if isinstance(event, Offered):
        if s.phase != Phase.WAITING:
            return s, [CancelOffer(a, s.iid, "stale") for a in event.agents]
        s = replace(
            s, phase=Phase.OFFERED, offered=event.agents, offer_deadline=now + event.timeout_s
        )
        out: list[QueueOutput] = []
        for a in event.agents:
            out += [Offer(a, s.iid, event.timeout_s), _log(s, "offer", now, a)]
        return s, out
    if isinstance(event, AgentAnswered):
        if s.phase != Phase.OFFERED or event.agent not in s.offered:
            return s, [CancelOffer(event.agent, s.iid, "late")]
        others = tuple(a for a in s.offered if a != event.agent)
        out = [CancelOffer(a, s.iid, "answered_elsewhere") for a in others]
        out.append(Connect(s.iid, event.agent))
        if q.recording != Recording.NEVER:
            out.append(Record(s.iid, event.agent, q.recording))
        out += [_log(s, "answer", now, event.agent), Left(s.iid, s.queue_id, "answered")]
        s = replace(s, phase=Phase.CONNECTED, agent=event.agent, offered=(), offer_deadline=None)
        return s, out
    if isinstance(event, OfferTimeout):
        if s.phase != Phase.OFFERED or event.agent not in s.offered:
            return s, []
        return _timed_out(s, (event.agent,), event.cause, now)
    if isinstance(event, CallerAbandoned | Ended):
        if s.phase == Phase.CONNECTED:
            return replace(s, phase=Phase.ENDED), [_log(s, "end", now, s.agent)]
        if s.phase in QUEUED and isinstance(event, CallerAbandoned):
            return _leave(s, Phase.ABANDONED, "abandon", "abandoned", "caller_left", now)
        return s, []
    if isinstance(event, CallbackRequested):
        if s.phase not in QUEUED:
            return s, []
        return _leave(s, Phase.CALLBACK, "callback", "callback_requested", "callback", now)
    raise TypeError(f"unknown queue event {event!r}")
