"""The agent machine: one agent's status, offers, work and breaks.

Theory of operation
-------------------
    logged_out → ready → reserved → ringing → on_call → wrap_up → ready

The router picks a free agent and the service sends ``Reserve``; the phone
rings (``Ringing``), is answered (``Answered``) and the agent is ``on_call``
until every interaction they hold has ended; then ``wrap_up`` for the wrap-up
time of the queue the last interaction came from (0: straight to ready);
``Tick`` ends it, or the agent ends it early with ``GoReady``.

* Every status change emits ``StatusChanged(agent, from, to, reason, at)``.
* Breaks (``BreakKind``): FREE is taken at will; APPROVAL puts a request
  aside (the agent keeps working) until a supervisor approves or denies;
  CONDITIONAL is refused when ``on_break`` (counted by the service) already
  reached the reason's cap; SUPERVISOR breaks only come by ``ForceBreak``.
* A break or a logout asked for while the agent is busy (reserved, ringing or
  on_call) is *deferred*: it starts when the agent would otherwise become
  ready (after wrap-up), and until then no new offer is accepted.
* ``OfferFailed`` counts a missed offer; after ``max_missed`` consecutive
  misses the agent goes to the ``missed`` break (deferred if still holding
  chats). An answer resets the count.
* ``ContactStatus`` Unreachable/Removed clears the ``reachable`` flag: no
  voice offer while it is clear (chats still reach the browser); Reachable
  sets it again. The status itself does not change.
* While an agent holds chats (status on_call) they may still be reserved for
  more, within :mod:`.interactions` capacity; one offer at a time.
* E-mails (tickets) are *background* work (:data:`BACKGROUND`): held for hours or
  days, they count in the agent's load but do not make the agent busy. An agent
  who holds only e-mails is ``ready`` (offered calls, chats and e-mails within
  capacity), takes breaks at once, and gets the queue's wrap-up after a call;
  an e-mail that ends (solved, given back) in any status just leaves the load.

The table below lists, per event, the statuses in which it is accepted and the
statuses it may lead to. An event in a status not listed is refused with a
``Refused`` record; ``step`` asserts each handler stays inside the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from controlplane.acd import agent_events as ev
from controlplane.acd.agent_events import BreakKind, Status
from controlplane.acd.interactions import DEFAULT_CAPACITY, Capacity, Channel, free_channels

S = Status
_IDLE = (S.READY, S.WRAP_UP, S.BREAK)  # a break or logout starts at once
_BUSY = (S.RESERVED, S.RINGING, S.ON_CALL)  # … is deferred
_IN = (*_IDLE, *_BUSY)
_AFTER_WORK = frozenset({S.READY, S.BREAK, S.LOGGED_OUT})
BACKGROUND = frozenset({Channel.EMAIL})  # held work that does not make the agent busy


def _rows(
    froms: tuple[Status, ...], to: frozenset[Status] | None = None
) -> dict[Status, frozenset[Status]]:
    """``to`` None: the event keeps the status."""
    return {f: (to if to is not None else frozenset({f})) for f in froms}


TRANSITIONS: dict[type[Any], dict[Status, frozenset[Status]]] = {
    ev.LoggedIn: _rows((S.LOGGED_OUT,), frozenset({S.READY, S.BREAK})),
    ev.LoggedOut: {**_rows(_IDLE, frozenset({S.LOGGED_OUT})), **_rows(_BUSY)},
    ev.GoReady: {S.BREAK: frozenset({S.READY}), S.WRAP_UP: _AFTER_WORK},
    ev.RequestBreak: {**_rows(_IDLE, frozenset({S.BREAK, S.READY, S.WRAP_UP})), **_rows(_BUSY)},
    ev.CancelBreakRequest: _rows(_IN),
    ev.ApproveBreak: {**_rows(_IDLE, frozenset({S.BREAK, S.READY, S.WRAP_UP})), **_rows(_BUSY)},
    ev.DenyBreak: _rows(_IN),
    ev.ForceBreak: {**_rows(_IDLE, frozenset({S.BREAK})), **_rows(_BUSY)},
    ev.Reserve: {S.READY: frozenset({S.RESERVED}), S.ON_CALL: frozenset({S.ON_CALL})},
    ev.Ringing: {S.RESERVED: frozenset({S.RINGING}), S.ON_CALL: frozenset({S.ON_CALL})},
    ev.Answered: _rows((S.RESERVED, S.RINGING, S.ON_CALL), _AFTER_WORK | {S.ON_CALL}),
    ev.OfferFailed: {**_rows((S.RESERVED, S.RINGING), _AFTER_WORK), **_rows((S.ON_CALL,))},
    ev.OfferCancelled: {**_rows((S.RESERVED, S.RINGING), _AFTER_WORK), **_rows((S.ON_CALL,))},
    ev.InteractionEnded: {**_rows((S.READY, S.RESERVED, S.RINGING, S.WRAP_UP, S.BREAK)),
                          S.ON_CALL: _AFTER_WORK | {S.ON_CALL, S.WRAP_UP, S.RESERVED}},
    ev.ContactStatus: _rows(tuple(S)),
    ev.Tick: {**_rows(tuple(s for s in S if s != S.WRAP_UP)), S.WRAP_UP: _AFTER_WORK | {S.WRAP_UP}},
}

UNREACHABLE = frozenset({"Unreachable", "Removed"})
REACHABLE = frozenset({"Reachable", "NonQualified", "Created", "Updated"})


@dataclass(frozen=True, slots=True)
class AgentSettings:
    """Tenant settings the machine needs. ``max_missed`` 0 disables the missed break."""

    max_missed: int = 3
    breaks: Mapping[str, ev.BreakReason] = field(default_factory=dict)
    capacity: Capacity = DEFAULT_CAPACITY


DEFAULT_SETTINGS = AgentSettings()


@dataclass(frozen=True, slots=True)
class Work:
    """An interaction offered to or held by the agent."""

    interaction_id: str
    channel: Channel
    queue_id: str
    wrap_up_s: float


@dataclass(frozen=True, slots=True)
class Deferred:
    """What to do once the agent's work ends: ``break`` (with reason) or ``logout``."""

    action: str
    reason: str | None = None
    by: str | None = None


@dataclass(frozen=True, slots=True)
class AgentState:
    """``idle_since`` is when the agent last became ready (longest-idle strategy);
    ``answered`` counts interactions answered since login (fewest-calls strategy)."""

    agent_id: str
    status: Status = Status.LOGGED_OUT
    reason: str | None = None
    since: float = 0.0
    reachable: bool = True
    offer: Work | None = None
    held: tuple[Work, ...] = ()
    wrap_until: float | None = None
    deferred: Deferred | None = None
    pending_break: str | None = None
    missed: int = 0
    answered: int = 0
    idle_since: float = 0.0

    @property
    def load(self) -> dict[Channel, int]:
        out: dict[Channel, int] = {}
        for w in self.held:
            out[w.channel] = out.get(w.channel, 0) + 1
        return out


Out = list[ev.AgentOutput]
Result = tuple[AgentState, Out]


def available_channels(
    state: AgentState, capacity: Capacity = DEFAULT_CAPACITY
) -> frozenset[Channel]:
    """The channels the router may offer this agent now (empty: not available)."""
    if state.status not in (S.READY, S.ON_CALL) or state.offer or state.deferred:
        return frozenset()
    free = free_channels(state.load, capacity)
    return free if state.reachable else free - {Channel.VOICE}


def _move(state: AgentState, to: Status, reason: str | None, now: float) -> Result:
    if state.status == to and state.reason == reason:
        return state, []
    rec = ev.StatusChanged(state.agent_id, state.status, to, reason, now)
    new = replace(state, status=to, reason=reason, since=now)
    if to == S.READY:
        new = replace(new, idle_since=now)
    if to != S.WRAP_UP:
        new = replace(new, wrap_until=None)
    return new, [rec]


def _refuse(state: AgentState, event: object, why: str, now: float) -> Result:
    return state, [ev.Refused(state.agent_id, type(event).__name__, why, now)]


def _free(state: AgentState, now: float) -> Result:
    """Work is over: start the deferred break or logout, else ready."""
    d = state.deferred
    state = replace(state, deferred=None)
    if d is None:
        return _move(state, S.READY, None, now)
    if d.action == "logout":
        return _logout(state, now)
    return _move(state, S.BREAK, d.reason, now)


def busy(state: AgentState) -> bool:
    """Holds work that makes the agent busy (a call, chats; not e-mails alone)."""
    return any(w.channel not in BACKGROUND for w in state.held)


def _settle(state: AgentState, now: float, wrap_s: float = 0.0) -> Result:
    """Pick the status that matches the agent's offer and held (foreground) work."""
    if busy(state):
        return _move(state, S.ON_CALL, None, now)
    if state.offer is not None:
        return _move(state, S.RESERVED, None, now)
    if wrap_s > 0:
        state, out = _move(state, S.WRAP_UP, None, now)
        return replace(state, wrap_until=now + wrap_s), out
    return _free(state, now)


def _logout(state: AgentState, now: float) -> Result:
    state, out = _move(state, S.LOGGED_OUT, None, now)
    return replace(state, pending_break=None, deferred=None, missed=0), out


def _start_break(state: AgentState, reason: str, by: str | None, action: str, now: float) -> Result:
    log = ev.BreakLog(state.agent_id, action, reason, by, now)
    state = replace(state, pending_break=None)
    if state.status in _IDLE:
        state, out = _move(state, S.BREAK, reason, now)
        return state, [log, *out]
    state = replace(state, deferred=Deferred("break", reason, by))
    return state, [log, ev.BreakLog(state.agent_id, "deferred", reason, by, now)]


# ---- handlers, one per event type ----


def _logged_in(s: AgentState, e: ev.LoggedIn, now: float, cfg: AgentSettings) -> Result:
    s = replace(s, answered=0, missed=0, offer=None, held=(), deferred=None)
    return _move(s, S.READY, None, now) if e.ready else _move(s, S.BREAK, ev.LOGIN, now)


def _logged_out(s: AgentState, e: ev.LoggedOut, now: float, cfg: AgentSettings) -> Result:
    if s.status in _IDLE:
        return _logout(s, now)
    s = replace(s, deferred=Deferred("logout", None, e.by))
    return s, [ev.BreakLog(s.agent_id, "deferred", "logout", e.by, now)]


def _go_ready(s: AgentState, e: ev.GoReady, now: float, cfg: AgentSettings) -> Result:
    return _free(s, now) if s.status == S.WRAP_UP else _move(s, S.READY, None, now)


def _request_break(s: AgentState, e: ev.RequestBreak, now: float, cfg: AgentSettings) -> Result:
    reason = cfg.breaks.get(e.reason)
    if reason is None:
        return _refuse(s, e, f"unknown break reason {e.reason!r}", now)
    if reason.kind == BreakKind.SUPERVISOR:
        return _refuse(s, e, f"break {e.reason!r} can only be set by a supervisor", now)
    cap = reason.max_on_break if reason.kind == BreakKind.CONDITIONAL else None
    if cap is not None and e.on_break >= cap:
        why = f"at most {cap} agents may be on break {e.reason!r} at once"
        return _refuse(s, e, why, now)
    if reason.kind == BreakKind.APPROVAL:
        s = replace(s, pending_break=e.reason)
        return s, [ev.BreakLog(s.agent_id, "requested", e.reason, None, now)]
    return _start_break(s, e.reason, None, "taken", now)


def _cancel_request(
    s: AgentState, e: ev.CancelBreakRequest, now: float, cfg: AgentSettings
) -> Result:
    if s.pending_break is not None:
        log = ev.BreakLog(s.agent_id, "cancelled", s.pending_break, None, now)
        return replace(s, pending_break=None), [log]
    if s.deferred is not None and s.deferred.action == "break" and s.deferred.by is None:
        log = ev.BreakLog(s.agent_id, "cancelled", s.deferred.reason or "", None, now)
        return replace(s, deferred=None), [log]
    return _refuse(s, e, "no break request to cancel", now)


def _approve(s: AgentState, e: ev.ApproveBreak, now: float, cfg: AgentSettings) -> Result:
    if s.pending_break is None:
        return _refuse(s, e, "no break request to approve", now)
    return _start_break(s, s.pending_break, e.by, "approved", now)


def _deny(s: AgentState, e: ev.DenyBreak, now: float, cfg: AgentSettings) -> Result:
    if s.pending_break is None:
        return _refuse(s, e, "no break request to deny", now)
    log = ev.BreakLog(s.agent_id, "denied", s.pending_break, e.by, now)
    return replace(s, pending_break=None), [log]


def _force_break(s: AgentState, e: ev.ForceBreak, now: float, cfg: AgentSettings) -> Result:
    if e.reason not in cfg.breaks and e.reason != ev.MISSED:
        return _refuse(s, e, f"unknown break reason {e.reason!r}", now)
    return _start_break(s, e.reason, e.by, "forced", now)


def _reserve(s: AgentState, e: ev.Reserve, now: float, cfg: AgentSettings) -> Result:
    if e.channel not in available_channels(s, cfg.capacity):
        why = "unreachable" if not s.reachable and e.channel == Channel.VOICE else "not available"
        return _refuse(s, e, f"cannot take a {e.channel} offer: {why}", now)
    s = replace(s, offer=Work(e.interaction_id, e.channel, e.queue_id, e.wrap_up_s))
    return _settle(s, now)


def _offer_matches(s: AgentState, interaction_id: str) -> bool:
    return s.offer is not None and s.offer.interaction_id == interaction_id


def _ringing(s: AgentState, e: ev.Ringing, now: float, cfg: AgentSettings) -> Result:
    if not _offer_matches(s, e.interaction_id):
        return _refuse(s, e, "no such offer", now)
    return (s, []) if s.status == S.ON_CALL else _move(s, S.RINGING, None, now)


def _answered(s: AgentState, e: ev.Answered, now: float, cfg: AgentSettings) -> Result:
    if s.offer is None or not _offer_matches(s, e.interaction_id):
        return _refuse(s, e, "no such offer", now)
    s = replace(s, held=(*s.held, s.offer), offer=None, missed=0, answered=s.answered + 1)
    return _settle(s, now)  # on_call; an e-mail alone: ready (BACKGROUND)


def _offer_failed(s: AgentState, e: ev.OfferFailed, now: float, cfg: AgentSettings) -> Result:
    if not _offer_matches(s, e.interaction_id):
        return _refuse(s, e, "no such offer", now)
    s = replace(s, offer=None, missed=s.missed + 1)
    if cfg.max_missed and s.missed >= cfg.max_missed:
        s = replace(s, missed=0)
        if s.deferred is None or s.deferred.action != "logout":
            s = replace(s, deferred=Deferred("break", ev.MISSED))
    return _settle(s, now)


def _offer_cancelled(s: AgentState, e: ev.OfferCancelled, now: float, cfg: AgentSettings) -> Result:
    if not _offer_matches(s, e.interaction_id):
        return _refuse(s, e, "no such offer", now)
    return _settle(replace(s, offer=None), now)


def _ended(s: AgentState, e: ev.InteractionEnded, now: float, cfg: AgentSettings) -> Result:
    work = next((w for w in s.held if w.interaction_id == e.interaction_id), None)
    if work is None:
        return _refuse(s, e, "no such interaction", now)
    s = replace(s, held=tuple(w for w in s.held if w is not work))
    if s.status != S.ON_CALL:  # background work (an e-mail) ended: the status stays
        return s, []
    return _settle(s, now, work.wrap_up_s)


def _contact(s: AgentState, e: ev.ContactStatus, now: float, cfg: AgentSettings) -> Result:
    reachable = False if e.status in UNREACHABLE else True if e.status in REACHABLE else s.reachable
    if reachable == s.reachable:
        return s, []
    return replace(s, reachable=reachable), [ev.ReachabilityChanged(s.agent_id, reachable, now)]


def _tick(s: AgentState, e: ev.Tick, now: float, cfg: AgentSettings) -> Result:
    if s.status == S.WRAP_UP and s.wrap_until is not None and now >= s.wrap_until:
        return _free(s, now)
    return s, []


_HANDLERS: dict[type[Any], Callable[[AgentState, Any, float, AgentSettings], Result]] = {
    ev.LoggedIn: _logged_in,
    ev.LoggedOut: _logged_out,
    ev.GoReady: _go_ready,
    ev.RequestBreak: _request_break,
    ev.CancelBreakRequest: _cancel_request,
    ev.ApproveBreak: _approve,
    ev.DenyBreak: _deny,
    ev.ForceBreak: _force_break,
    ev.Reserve: _reserve,
    ev.Ringing: _ringing,
    ev.Answered: _answered,
    ev.OfferFailed: _offer_failed,
    ev.OfferCancelled: _offer_cancelled,
    ev.InteractionEnded: _ended,
    ev.ContactStatus: _contact,
    ev.Tick: _tick,
}


def step(
    state: AgentState, event: ev.AgentEvent, now: float, settings: AgentSettings = DEFAULT_SETTINGS
) -> Result:
    """Advance one agent by one event."""
    allowed = TRANSITIONS[type(event)].get(state.status)
    if allowed is None:
        return _refuse(state, event, f"not allowed while {state.status}", now)
    new, out = _HANDLERS[type(event)](state, event, now, settings)
    # a handler that refuses returns the state unchanged
    assert new is state or new.status in allowed, (
        f"{type(event).__name__}: {state.status} → {new.status}"
    )
    return new, out
