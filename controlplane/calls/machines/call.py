"""The call-leg machine: a call that enters the platform and is connected to one other leg.

Inbound: a caller dials a DID; an IVR flow, a prompt or nothing comes first, then the
agent phone bound to the DID (or the one the IVR or the queue chose) is rung. Outbound:
an agent phone dials a number; the call goes out over the tenant's trunk at once. Either
way the "other leg" is originated by the control plane and called the agent leg below.
Ids, state and billing: :mod:`.call_state`; events and commands: :mod:`.call_events`.

Theory of operation
-------------------
``TRANSITIONS`` maps each event to the phases it is accepted in and the phases it may lead
to; the table below is the same (a unit test compares them, so they cannot drift). ``*``
is every phase without a row of its own for that event, ``=`` the phase it came from. An
event in a phase not listed is ignored (a late or duplicate event: the state and commands
stay as they are). ``HANDLERS`` maps (event, phase) to the function that runs it
(:mod:`.call_steps`; (event, None) serves the event's other phases); ``step`` asserts that
each handler stays inside the table. Inside a row a handler may still ignore an event that
is not about this call's current leg (a foreign playback, a withdrawn leg's hang-up).

    event            from          → to               commands
    Entered          (new)         → IVR              SaveCall, Answer, StartIvr
    Entered          (new)         → PROMPT           SaveCall, Answer, Play(prompt)
    Entered          (new)         → DIALING          SaveCall, StartRinging, Originate
                                                      (no prompt; an outbound phone)
    Entered          (new)         → QUEUED           SaveCall, Answer, StartMoh, Enqueue
                                                      (a DID routed straight to a queue)
    Entered          (new)         → REJECTING        SaveCall, Answer, Play(no-service, or
                                                      why the outbound guard refused it)
    PromptDone       PROMPT        → DIALING          StartRinging, Originate(agent)
    PromptDone       REJECTING     → ENDING           Hangup(caller); refused: cause 21
                                                      ("Call Rejected"), by system
    PromptDone       ABANDONING    → ENDING           Hangup(caller), by system
    IvrFinished      IVR           → DIALING          SaveCall, StartRinging, Originate
    IvrFinished      IVR           → QUEUED           SaveCall, StartMoh, Enqueue
    IvrFinished      IVR           → REJECTING        SaveCall, Answer, Play(why refused)
    IvrFinished      IVR           → ENDING           Hangup(caller): the flow dials nothing
    EnterQueue       RINGING|AMD   → QUEUED           SaveCall, Enqueue (campaign: no music)
    OfferAgent       QUEUED        → QUEUED           SaveCall, Originate(leg n), even while
                                                      other legs ring (ring-all)
    CancelOffer      QUEUED        → QUEUED           Hangup(that agent's leg; no agent:
                                                      every ringing leg)
    AgentAnswered    QUEUED        → TALKING          StopMoh, CreateBridge, AddToBridge,
                                                      Hangup(the other ringing legs),
                                                      SaveCall, QueueNotify(answered): the
                                                      ACD withdraws the others, not as a miss
    AgentAnswered    QUEUED        → ABANDONING       (campaign) answered after connect_by:
                                                      as ConnectDeadline
    AgentAnswered    DIALING       → TALKING          StopRinging, Answer, CreateBridge,
                                                      AddToBridge, RecordBridge, SaveCall
    AgentAnswered    *             → =                Hangup(a late leg: the caller left, or
                                                      another ring-all leg answered first)
    Connected        TALKING       → TALKING          RecordBridge when the queue says so
    LeaveQueue       QUEUED        → ENDING           StopMoh, Hangup(ringing legs, caller)
    LeaveQueue       QUEUED        → REJECTING        StopMoh, Hangup(ringing legs),
                                                      Play(farewell), then as REJECTING
    LeaveQueue       QUEUED        → ABANDONING       (campaign) as ConnectDeadline
    ConnectDeadline  QUEUED        → ABANDONING       QueueNotify(caller_left),
                                                      Hangup(ringing legs), PlayAbandon
    TransferToQueue  TALKING       → QUEUED           QueueNotify(ended: the first agent's
                                                      wrap-up), Hangup(agent leg, no longer
                                                      the call's), DestroyBridge, SaveCall,
                                                      StartMoh, Enqueue(the new queue; to an
                                                      agent: offered to them first)
    TransferToNumber TALKING       → DIALING          as TransferToQueue up to SaveCall, then
                                                      StartRinging, Originate(the number)
    LegGone          ENDED         → ENDED            (nothing is left)
    LegGone          DIALING       → =|ENDING|ENDED|QUEUED  as below; and a number a queued
                                                      call was transferred to did not answer:
                                                      QUEUED, StopRinging, SaveCall, StartMoh,
                                                      Enqueue(back to its queue)
    LegGone          *             → =|ENDING|ENDED   the caller gone: Hangup(the agent leg),
                                                      DestroyBridge; queued: also
                                                      QueueNotify(caller_left); a ringing
                                                      leg of a queued call gone:
                                                      QueueNotify(failed, that agent); the
                                                      agent leg gone while DIALING or
                                                      TALKING: Hangup(caller) -- but an
                                                      outbound leg failed before answer with
                                                      a failover cause (20/34/38/41/42/102) and
                                                      a next trunk: stays DIALING, SaveCall,
                                                      Originate(next trunk, new leg); a queued
                                                      call's TALKING ends: QueueNotify(ended)
                                                      (agent wrap-up); the last leg gone:
                                                      ENDED, SaveCall (final)

Campaign calls (:mod:`.campaign` dials the customer and runs AMD; the customer's channel
is the call's own) reach this machine with ``EnterQueue`` once a person answered.

A refused call (``refused``: the toll-fraud guard said no before anything was dialled,
:mod:`controlplane.calls.toll_guard`) is a REJECTING call with ``refused_reason`` set: the
caller hears why, then the platform hangs up; the record keeps the reason. A phone the
platform does not know gets the no-service message; a trunk call to a number that is not
its tenant's never gets here (security/trunk_calls.py refuses it unanswered).

Every offer gets a new agent leg (``<call_id>-agent``, ``-agent1``, …), so several can
ring at once (``ringing``: channel and agent of each) and a re-offer never reuses an id;
an event about a leg that no longer rings (withdrawn, hung up, an older attempt) is
ignored, and such a leg answering late is hung up. ``attempt`` is the newest leg's
number (the answered one's once bridged); it is saved before each Originate, so a
restarted daemon names its next leg afresh.

The call machine is the one model of hold music (StartMoh / StopMoh): the queue decides
when a caller waits, this machine plays and stops the music.

Answers: whenever the machine answers the caller's leg (``Answer``) it notes
``platform_answered_at`` (the first time only); ``answered_at`` is when the other leg
answered. The first hang-up fixes ``ended_at``, the cause and who hung up; the record is
saved (``SaveCall``) on entry, on answer and at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from controlplane.calls.machines import call_steps as s
from controlplane.calls.machines import call_transfers as tr
from controlplane.calls.machines.call_events import (
    AgentAnswered,
    CallEvent,
    CancelOffer,
    ConnectDeadline,
    Connected,
    EnterQueue,
    IvrFinished,
    LeaveQueue,
    LegGone,
    OfferAgent,
    PromptDone,
    TransferToNumber,
    TransferToQueue,
)
from controlplane.calls.machines.call_state import CallState, Phase
from controlplane.calls.machines.call_steps import Result

# ``start`` and the constants live beside the handlers; the machine's API names them here
start = s.start
AGENT_RING_TIMEOUT_S = s.AGENT_RING_TIMEOUT_S
NO_SERVICE_PROMPT = s.NO_SERVICE_PROMPT

P = Phase


def _to(*phases: Phase) -> frozenset[Phase]:
    return frozenset(phases)


TRANSITIONS: dict[type[Any], dict[Phase, frozenset[Phase]]] = {
    PromptDone: {P.PROMPT: _to(P.DIALING), P.REJECTING: _to(P.ENDING),
                 P.ABANDONING: _to(P.ENDING)},
    IvrFinished: {P.IVR: _to(P.DIALING, P.QUEUED, P.REJECTING, P.ENDING)},
    EnterQueue: {P.RINGING: _to(P.QUEUED), P.AMD: _to(P.QUEUED)},
    OfferAgent: {P.QUEUED: _to(P.QUEUED)},
    CancelOffer: {P.QUEUED: _to(P.QUEUED)},
    AgentAnswered: {**{p: _to(p) for p in Phase},
                    P.QUEUED: _to(P.TALKING, P.ABANDONING), P.DIALING: _to(P.TALKING)},
    Connected: {P.TALKING: _to(P.TALKING)},
    LeaveQueue: {P.QUEUED: _to(P.ENDING, P.REJECTING, P.ABANDONING)},
    ConnectDeadline: {P.QUEUED: _to(P.ABANDONING)},
    TransferToQueue: {P.TALKING: _to(P.QUEUED)},
    TransferToNumber: {P.TALKING: _to(P.DIALING)},
    LegGone: {**{p: _to(p, P.ENDING, P.ENDED) for p in Phase}, P.ENDED: _to(P.ENDED),
              P.DIALING: _to(P.DIALING, P.ENDING, P.ENDED, P.QUEUED)},
}
STARTS = _to(P.IVR, P.PROMPT, P.DIALING, P.REJECTING, P.QUEUED)  # the phases ``start`` leads to


def accepts(phase: Phase, event: type[Any]) -> bool:
    """Whether ``event`` does anything in ``phase`` (else ``step`` ignores it)."""
    return phase in TRANSITIONS.get(event, {})


Handler = Callable[[CallState, Any, datetime], Result]
# (event, phase) → handler; (event, None) serves every other phase of the event's rows.
HANDLERS: dict[tuple[type[Any], Phase | None], Handler] = {
    (PromptDone, P.PROMPT): s.prompt_done,
    (PromptDone, None): s.message_done,
    (IvrFinished, None): s.ivr_finished,
    (EnterQueue, None): s.enter_queue,
    (OfferAgent, None): s.offer_agent,
    (CancelOffer, None): s.cancel_offer,
    (AgentAnswered, P.DIALING): s.agent_answered,
    (AgentAnswered, P.QUEUED): s.queued_answer,
    (AgentAnswered, None): s.late_answer,
    (Connected, None): s.connected,
    (LeaveQueue, None): s.leave_queue,
    (ConnectDeadline, None): s.connect_deadline,
    (TransferToQueue, None): tr.transfer_to_queue,
    (TransferToNumber, None): tr.transfer_to_number,
    (LegGone, None): s.leg_gone,
}


def handler(event: type[Any], phase: Phase) -> Handler:
    """The handler of ``event`` in ``phase`` (the pair must be in ``TRANSITIONS``)."""
    return HANDLERS.get((event, phase)) or HANDLERS[(event, None)]


def step(state: CallState, event: CallEvent, now: datetime) -> Result:
    """Advance one call by one event (see the table above)."""
    allowed = TRANSITIONS.get(type(event))
    if allowed is None:
        raise TypeError(f"unknown call event {event!r}")
    to = allowed.get(state.phase)
    if to is None:
        return state, []  # not in the table: a late or duplicate event, ignored
    new, cmds = handler(type(event), state.phase)(state, event, now)
    # a handler that ignores the event returns the state unchanged
    assert new is state or new.phase in to, f"{type(event).__name__}: {state.phase} → {new.phase}"
    return new, cmds
