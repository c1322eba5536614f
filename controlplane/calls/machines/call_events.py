"""What the call machines read and write: events in, and the commands they emit besides
the engine's ARI commands (:mod:`controlplane.engine.commands`).

Adapters (``calls/service.py`` and its glue) translate ARI events into these events; the
commands below are executed by the service (records, IVR, queue) or the campaign glue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from controlplane.calls.machines.call_state import Binding, CallState
from controlplane.engine.commands import Command, StartMoh, StopMoh

# ---- events the machine understands (adapters translate ARI events into these) ----


@dataclass(frozen=True)
class Entered:
    call_id: str
    caller: str
    binding: Binding


@dataclass(frozen=True)
class PromptDone:
    playback_id: str


@dataclass(frozen=True)
class AgentAnswered:
    channel: str | None = None  # which agent leg answered (queued calls try several)


@dataclass(frozen=True)
class CancelOffer:
    """The queue withdraws the offer to ``agent_endpoint`` (ring timeout, answered elsewhere,
    …); ``None`` withdraws every ringing offer (a restart)."""

    reason: str
    agent_endpoint: str | None = None


@dataclass(frozen=True)
class LegGone:
    """A leg left for good (``ChannelDestroyed``, or found missing after a restart)."""

    leg: str  # "caller" | "agent"
    cause: int
    cause_txt: str
    estimated: bool = False
    channel: str | None = None  # for an agent leg: which attempt's channel


@dataclass(frozen=True)
class OfferAgent:
    """The queue offers the call to ``agent_endpoint`` (ring ``dial`` for ``timeout_s``)."""

    agent_endpoint: str
    dial: str
    timeout_s: int


@dataclass(frozen=True)
class Connected:
    """The queue confirmed the answered agent; ``record`` per the queue's policy."""

    record: bool


@dataclass(frozen=True)
class TransferToQueue:
    """The agent (or a supervisor) sends the talking caller to a queue (a blind transfer):
    the agent's leg goes, the caller waits in ``queue`` with music for the next agent."""

    queue: str
    by: str  # who asked (for the log)
    priority: int = 0
    skills: tuple[str, ...] = ()
    agent: str | None = None  # to this agent (ACD id): offered to them first, then the queue


@dataclass(frozen=True)
class TransferToNumber:
    """The agent (or a supervisor) sends the talking caller to a number over the tenant's
    trunk (a blind transfer): the agent's leg goes and the caller hears ringing while
    ``dial`` rings; if it is not answered, a queued call goes back to its queue."""

    dial: str
    callee: str
    by: str
    failover: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeaveQueue:
    """The queue gives the call up (overflow to nowhere, no agents, maximum wait, callback
    requested); ``farewell`` is played to the caller before the hang-up."""

    outcome: str
    farewell: str | None = None


@dataclass(frozen=True)
class IvrFinished:
    """The IVR flow ended: ring ``dial`` (an agent, a number) or, when None, hang up."""

    outcome: str
    dial: str | None = None
    agent_endpoint: str | None = None
    callee: str | None = None
    queue: str | None = None
    priority: int = 0
    skills: tuple[str, ...] = ()
    refused: str | None = None  # the transfer was refused by the outbound guard: why
    refusal_media: str | None = None  # what the caller hears then


@dataclass(frozen=True)
class EnterQueue:
    """An answered campaign call goes straight into ``queue``: an agent must answer by
    ``connect_by``, else the caller hears ``abandon_media`` and is released."""

    queue: str
    connect_by: datetime
    abandon_media: str
    priority: int = 0
    skills: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectDeadline:
    """``connect_by`` has come (a timer of the adapter): abandon a call still waiting."""


# ---- commands besides the engine's ----


@dataclass(frozen=True)
class PlayAbandon:
    """Play the abandon message (executed by the campaign glue, which notes when)."""

    channel_id: str
    media: str
    playback_id: str


@dataclass(frozen=True)
class Enqueue:
    call_id: str
    queue: str
    priority: int
    skills: tuple[str, ...]
    resume: bool = False  # the call waited before a restart: it keeps its place
    direct_agent: str | None = None  # a transfer to this agent: offered to them first


@dataclass(frozen=True)
class QueueNotify:
    """Tell the queue service what happened: answered, failed, caller_left, ended."""

    call_id: str
    what: str
    agent_endpoint: str | None
    cause: int = 0


@dataclass(frozen=True)
class StartIvr:
    """Run the DID's IVR flow on the caller's channel (executed by the service)."""

    call_id: str


@dataclass(frozen=True)
class SaveCall:
    """Persist the call record from this snapshot (executed by the service)."""

    state: CallState


CallEvent = (Entered | PromptDone | AgentAnswered | LegGone | IvrFinished | OfferAgent
             | Connected | LeaveQueue | CancelOffer | EnterQueue | ConnectDeadline
             | TransferToQueue | TransferToNumber)
# StartMoh / StopMoh are engine commands (Command subclasses); named here for the reader:
# the call machine is the one model of hold music.
Out = Command | SaveCall | StartIvr | Enqueue | QueueNotify | StartMoh | StopMoh | PlayAbandon
