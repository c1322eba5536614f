"""Blind transfers of a talking call: to a queue (optionally to one agent first) or to a
number. The handlers :mod:`.call` dispatches ``TransferToQueue`` and ``TransferToNumber``
to, and what a transfer to a number does when nobody answers. Pure: no I/O.

Either way the agent's leg is hung up as no longer the call's (its hang-up is then
ignored), the queue hears the first agent's part end (their wrap-up starts), the bridge
goes (and its recording with it: the next part is recorded under ``<call>-t<n>``), and the
first answer time stays the call's.

* To a queue: the caller waits there with music; with ``agent`` set, the ACD offers the
  call to that agent first (``Enqueue.direct_agent``), and to the queue's agents if they
  let it ring out.
* To a number: the caller hears ringing while the number rings over the tenant's trunk
  (``Originate`` of a new leg, the outbound route's failover trunks after it, as a phone's
  call out). Answered: bridged and recorded like any answered leg. Not answered (busy, no
  answer, unreachable): a call that came through a queue goes back to it (``fallback_queue``,
  music, enqueued again); any other call is released. The number's answer starts the
  call's second carrier meter (``number_answered_at``, :func:`number_reached`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from controlplane.calls.machines.call_consult import next_leg
from controlplane.calls.machines.call_events import (
    Enqueue,
    Out,
    QueueNotify,
    SaveCall,
    TransferToNumber,
    TransferToQueue,
)
from controlplane.calls.machines.call_state import CallState, Phase, number_answered
from controlplane.engine.commands import (
    DestroyBridge,
    Hangup,
    Originate,
    StartMoh,
    StartRinging,
    StopRinging,
)

P = Phase
Result = tuple[CallState, list[Out]]
NUMBER_RING_TIMEOUT_S = 30


def part_recording(state: CallState) -> str:
    """The recording name of the call's current part: ``<call>``, then ``<call>-t<n>``."""
    return state.call_id if not state.transfers else f"{state.call_id}-t{state.transfers}"


def _leave_agent(state: CallState) -> tuple[CallState, list[Out]]:
    """The agent's part ends: wrap-up for a queued call, their leg and the bridge go."""
    first: list[Out] = ([QueueNotify(state.call_id, "ended", state.agent_endpoint)]
                        if state.queue is not None and state.agent_endpoint is not None else [])
    old = state.agent_channel
    state = replace(state, agent_alive=False, agent_dialed=False, ringing=(), recording=None,
                    transfers=state.transfers + 1, connect_by=None, abandon_media=None)
    return state, [*first, Hangup(old, "normal"), DestroyBridge(state.bridge_id)]


def transfer_to_queue(state: CallState, event: TransferToQueue, now: datetime) -> Result:
    """TALKING → QUEUED: the caller waits in ``event.queue`` (for ``event.agent`` first)."""
    if not state.caller_alive:
        return state, []
    state, cmds = _leave_agent(state)
    state = replace(state, phase=P.QUEUED, queue=event.queue, fallback_queue=None)
    return state, [*cmds, SaveCall(state), StartMoh(state.call_id),
                   Enqueue(state.call_id, event.queue, event.priority, event.skills,
                           direct_agent=event.agent)]


def transfer_to_number(state: CallState, event: TransferToNumber, now: datetime) -> Result:
    """TALKING → DIALING: the number rings on a new leg while the caller hears ringing."""
    if not state.caller_alive:
        return state, []
    state, cmds = _leave_agent(state)
    state = replace(state, phase=P.DIALING, dial=event.dial, callee=event.callee,
                    failover=event.failover, agent_endpoint=None, agent_dialed=True,
                    attempt=next_leg(state), fallback_queue=state.queue)
    return state, [
        *cmds, SaveCall(state), StartRinging(state.call_id),
        Originate(state.agent_channel, event.dial, f"agent,{state.call_id}", state.caller,
                  NUMBER_RING_TIMEOUT_S, (("X-Centrala-Call-Id", state.call_id),)),
    ]


def number_reached(state: CallState, now: datetime) -> CallState:
    """The leg a transfer dialled answered: a number (no agent's phone) starts the call's
    second carrier meter; the first leg of an outbound call is the call's own meter."""
    return number_answered(state, now) if state.transfers and state.agent_endpoint is None \
        else state


def transfer_unanswered(state: CallState) -> Result:
    """DIALING, the transferred-to number did not answer: back to the call's queue."""
    queue = state.fallback_queue
    assert queue is not None
    state = replace(state, phase=P.QUEUED, queue=queue, fallback_queue=None, dial=None,
                    failover=(), agent_alive=False, agent_dialed=False,
                    attempt=next_leg(state))  # the next offer rings on a new leg id
    return state, [StopRinging(state.call_id), SaveCall(state), StartMoh(state.call_id),
                   Enqueue(state.call_id, queue, 0, ())]
