"""Attended transfer: the agent consults someone (a colleague's phone or a number) while the
caller holds, then hands the caller over or comes back. Pure: no I/O.

    event            TALKING, consult none        TALKING, consulting
    StartConsult     RemoveFromBridge(caller),    (refused by the service: one at a time)
                     StartMoh(caller), SaveCall,
                     Originate(consult leg)
    AgentAnswered    -                            the consult leg: AddToBridge(it): the
                                                  agent and the target talk
    CompleteConsult  -                            answered: the agent's leg goes (wrap-up
                                                  for a queued call), StopMoh(caller),
                                                  AddToBridge(caller): caller and target
                                                  talk; the target is the call's new leg
    CancelConsult    -                            Hangup(consult leg), StopMoh(caller),
                                                  AddToBridge(caller): back together
    LegGone(consult) -                            (no answer, busy, the target hung up) as
                                                  CancelConsult without the hang-up
    LegGone(agent)   as ever (the call ends)      answered: as CompleteConsult (an agent
                                                  hanging up hands the caller over, as on a
                                                  desk phone); not yet: the call ends

The caller stays in the call's bridge's Stasis app, out of the bridge, with hold music; the
agent stays in the bridge, which the consult leg joins (the bridge's recording hears the
consultation too). The consult leg is named like an agent leg (``<call>-agent<n>``, ``n``
past every leg so far), so its ARI events reach this call by the usual path.

A consulted number (not a colleague's phone) is a carrier leg of its own: its answer starts
the call's number meter (``number_answered_at``), a cancel or its hang-up stops it, and a
completed consultation keeps it running (the number is now the call's leg).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from controlplane.calls.machines.call_events import (
    CancelConsult,
    CompleteConsult,
    Out,
    QueueNotify,
    SaveCall,
    StartConsult,
)
from controlplane.calls.machines.call_state import (
    CallState,
    ConsultLeg,
    agent_channel_id,
    attempt_of_agent_channel,
    number_answered,
    number_gone,
)
from controlplane.engine.commands import (
    AddToBridge,
    Hangup,
    Originate,
    RemoveFromBridge,
    StartMoh,
    StopMoh,
)

Result = tuple[CallState, list[Out]]
CONSULT_RING_TIMEOUT_S = 30


def next_leg(state: CallState) -> int:
    """A leg number no leg of this call has had (offers and consultations share the space)."""
    return max(state.attempt, state.last_leg) + 1


def start_consult(state: CallState, event: StartConsult, now: datetime) -> Result:
    if state.consult is not None or not (state.caller_alive and state.agent_alive):
        return state, []
    n = next_leg(state)
    leg = ConsultLeg(agent_channel_id(state.call_id, n), event.dial, event.target,
                     event.agent_endpoint)
    state = replace(state, consult=leg, last_leg=n)
    return state, [
        RemoveFromBridge(state.bridge_id, state.call_id), StartMoh(state.call_id),
        SaveCall(state),
        Originate(leg.channel, event.dial, f"agent,{state.call_id}", state.caller,
                  CONSULT_RING_TIMEOUT_S, (("X-Centrala-Call-Id", state.call_id),)),
    ]


def consult_answered(state: CallState, now: datetime) -> Result:
    leg = state.consult
    assert leg is not None
    state = replace(state, consult=replace(leg, answered=True))
    if leg.agent_endpoint is None:  # a number, over the trunk: the carrier bills it
        state = number_answered(state, now)
    return state, [AddToBridge(state.bridge_id, (leg.channel,)), SaveCall(state)]


def _caller_back(state: CallState) -> list[Out]:
    return [StopMoh(state.call_id), AddToBridge(state.bridge_id, (state.call_id,))]


def complete_consult(state: CallState, event: CompleteConsult | None, now: datetime) -> Result:
    """The consulted party becomes the call's leg; the agent's leg goes."""
    leg = state.consult
    if leg is None or not leg.answered or not state.caller_alive:
        return state, []
    first: list[Out] = ([QueueNotify(state.call_id, "ended", state.agent_endpoint)]
                        if state.queue is not None and state.agent_endpoint is not None else [])
    old, old_alive = state.agent_channel, state.agent_alive
    state = replace(state, consult=None, attempt=attempt_of_agent_channel(leg.channel),
                    agent_endpoint=leg.agent_endpoint, dial=leg.dial, callee=(
                        state.callee if leg.agent_endpoint else leg.target),
                    agent_alive=True, agent_dialed=False, transfers=state.transfers + 1)
    hang = [Hangup(old, "normal")] if old_alive else []
    return state, [*first, *hang, *_caller_back(state), SaveCall(state)]


def cancel_consult(state: CallState, event: CancelConsult, now: datetime) -> Result:
    leg = state.consult
    if leg is None:
        return state, []
    state = replace(number_gone(state, now), consult=None)
    return state, [Hangup(leg.channel, "normal"), *_caller_back(state), SaveCall(state)]


def consult_gone(state: CallState, now: datetime) -> Result:
    """The consult leg ended by itself (not answered, busy, the target hung up)."""
    state = replace(number_gone(state, now), consult=None)
    if not state.caller_alive:
        return state, []
    return state, [*_caller_back(state), SaveCall(state)]
