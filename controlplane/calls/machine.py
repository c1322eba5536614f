"""The call-leg machine, by the import path the rest of the platform uses.

The machine lives in :mod:`controlplane.calls.machines`: its transition table and
``step`` in :mod:`~controlplane.calls.machines.call` (read that module's docstring first),
the handlers in :mod:`~controlplane.calls.machines.call_steps`, state, ids and billing
in :mod:`~controlplane.calls.machines.call_state`, events and commands in
:mod:`~controlplane.calls.machines.call_events`. Hold music (``StartMoh``/``StopMoh``) is
an engine command (:mod:`controlplane.engine.commands`); the call machine is its one model.
"""

from __future__ import annotations

from controlplane.calls.machines.call import (
    AGENT_RING_TIMEOUT_S,
    NO_SERVICE_PROMPT,
    STARTS,
    TRANSITIONS,
    accepts,
    start,
    step,
)
from controlplane.calls.machines.call_events import (
    AgentAnswered,
    CallEvent,
    CancelConsult,
    CancelOffer,
    CompleteConsult,
    ConnectDeadline,
    Connected,
    Enqueue,
    Entered,
    EnterQueue,
    IvrFinished,
    LeaveQueue,
    LegGone,
    OfferAgent,
    Out,
    PlayAbandon,
    PromptDone,
    QueueNotify,
    SaveCall,
    StartConsult,
    StartIvr,
    TransferToNumber,
    TransferToQueue,
)
from controlplane.calls.machines.call_state import (
    Binding,
    CallState,
    Phase,
    RingingLeg,
    agent_channel_id,
    attempt_of_agent_channel,
    call_of_agent_channel,
    carrier_answered_at,
    carrier_billsec,
    transfer_carrier_billsec,
)
from controlplane.engine.commands import StartMoh, StopMoh

__all__ = [
    "AGENT_RING_TIMEOUT_S", "NO_SERVICE_PROMPT", "STARTS", "TRANSITIONS", "accepts", "start",
    "step",
    "AgentAnswered", "CallEvent", "CancelOffer", "ConnectDeadline", "Connected", "Enqueue",
    "Entered", "EnterQueue", "IvrFinished", "LeaveQueue", "LegGone", "OfferAgent", "Out",
    "PlayAbandon", "PromptDone", "QueueNotify", "SaveCall", "StartIvr",
    "StartConsult", "CompleteConsult", "CancelConsult", "TransferToNumber",
    "TransferToQueue",
    "Binding", "CallState", "Phase", "RingingLeg", "agent_channel_id",
    "attempt_of_agent_channel", "call_of_agent_channel", "carrier_answered_at",
    "carrier_billsec", "transfer_carrier_billsec",
    "StartMoh", "StopMoh",
]
