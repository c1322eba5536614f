"""A call's state as the call machine keeps it, the ids derived from it, and its billing.

A call is keyed by the caller channel's id (``call_id``). Every other Asterisk object of
the call has an id derived from it, so after a restart the control plane finds them again
with ARI GETs alone: the agent leg is ``<call_id>-agent`` (``-agent1``, … for later offers),
the bridge ``<call_id>-bridge``, the prompt playback ``<call_id>-prompt`` and the
recording is named ``<call_id>``.

Three answer times, three durations (the call record stores them; see
:class:`controlplane.models.calls.CallRecord`):

* ``platform_answered_at``: the caller's leg was first answered, by the platform (IVR,
  prompt, queue, a refusal message) or, when the platform did not answer it first, by
  the connection to the agent, phone or number (a campaign call: the customer answered).
* ``answered_at``: the agent, phone or called number answered and was bridged.
* :func:`carrier_answered_at`: where the carrier's meter starts; :func:`carrier_billsec`
  counts from it to the end.

A call the platform sends on to a number (a blind transfer, or a consultation, over the
tenant's trunk) opens a second carrier leg, billed apart from the caller's:
``number_answered_at`` is when the current one answered (while it is up),
``number_billsec`` the seconds of those already ended; :func:`transfer_carrier_billsec`
adds them up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime


class Phase(enum.StrEnum):
    IVR = "ivr"
    RINGING = "ringing"  # campaign: the customer's leg is being dialled
    AMD = "amd"  # campaign: answered, answering-machine detection running
    ABANDONING = "abandoning"  # campaign: no agent in time, the abandon message plays
    PROMPT = "prompt"
    QUEUED = "queued"
    REJECTING = "rejecting"
    DIALING = "dialing"
    TALKING = "talking"
    ENDING = "ending"
    ENDED = "ended"


@dataclass(frozen=True)
class Binding:
    """Where a DID leads, resolved from the database before the call enters the machine."""

    tenant_id: int | None
    direction: str  # inbound | outbound | internal | campaign
    callee: str
    did: str | None
    trunk: str | None
    agent_endpoint: str | None
    dial: str | None  # ARI endpoint of the other leg, e.g. PJSIP/demo-1001; None: no service
    prompt: str | None  # played before dialing (inbound); None dials at once
    ivr: bool = False  # the DID leads into an IVR flow (run by the service, see StartIvr)
    refused: str | None = None  # the outbound guard refused the call: why (prompt: the message)
    queue: str | None = None  # the DID routes straight to this ACD queue (by name)
    # Outbound: the route's later trunks, dialled in order when a leg fails before answer
    # with a cause that says "this way out is down" (FAILOVER_CAUSES), e.g. PJSIP/48…@trunk2.
    failover: tuple[str, ...] = ()


@dataclass(frozen=True)
class RingingLeg:
    """An agent leg of a queued call that was originated and has not answered yet."""

    channel: str
    agent_endpoint: str
    dial: str


@dataclass(frozen=True)
class ConsultLeg:
    """The agent's consultation call before an attended transfer: ``channel`` (an agent-leg
    id, so its events find the call), to ``target`` (a number, or an agent's phone
    ``agent_endpoint``), ``answered`` once it is bridged with the agent."""

    channel: str
    dial: str
    target: str
    agent_endpoint: str | None = None
    answered: bool = False


@dataclass(frozen=True)
class CallState:
    call_id: str
    phase: Phase
    tenant_id: int | None
    direction: str
    caller: str
    callee: str
    did: str | None
    trunk: str | None
    agent_endpoint: str | None
    started_at: datetime
    prompt: str | None
    dial: str | None
    caller_alive: bool = True
    agent_alive: bool = False
    agent_dialed: bool = False
    answered_at: datetime | None = None  # the agent / phone / number answered (bridged)
    ended_at: datetime | None = None
    hangup_cause: int | None = None
    hangup_cause_txt: str | None = None
    hangup_by: str | None = None
    recording: str | None = None
    end_estimated: bool = False
    queue: str | None = None  # set once the call entered a queue
    attempt: int = 0  # the newest agent leg's number (the bridged one's once answered)
    connect_by: datetime | None = None  # campaign: an agent must answer by then, or abandon
    abandon_media: str | None = None  # campaign: played when abandoned
    ringing: tuple[RingingLeg, ...] = ()  # queued: legs ringing now; agent_dialed == bool(ringing)
    refused_reason: str | None = None  # the outbound guard refused the call (REJECTING)
    platform_answered_at: datetime | None = None  # the caller's leg was first answered
    transfers: int = 0  # blind transfers so far: each later part is recorded under its own name
    failover: tuple[str, ...] = ()  # outbound: dial strings left to try (Binding.failover)
    fallback_queue: str | None = None  # a transfer to a number rings: back here if unanswered
    consult: ConsultLeg | None = None  # the agent consults someone while the caller holds
    last_leg: int = 0  # the highest agent-leg number a consultation used (never reused)
    number_answered_at: datetime | None = None  # a number reached by transfer/consult: up since
    number_billsec: float = 0.0  # seconds of such number legs already ended

    @property
    def agent_channel(self) -> str:
        return agent_channel_id(self.call_id, self.attempt)

    @property
    def bridge_id(self) -> str:
        return f"{self.call_id}-bridge"

    @property
    def prompt_playback(self) -> str:
        return f"{self.call_id}-prompt"


def agent_channel_id(call_id: str, attempt: int) -> str:
    return f"{call_id}-agent" + (str(attempt) if attempt else "")


def call_of_agent_channel(channel_id: str) -> str | None:
    """``<call>-agent`` / ``<call>-agent3`` → ``<call>``; any other id → None."""
    call_id, sep, tail = channel_id.rpartition("-agent")
    return call_id if sep and (tail == "" or tail.isdigit()) else None


def attempt_of_agent_channel(channel_id: str) -> int:
    """``<call>-agent`` → 0, ``<call>-agent3`` → 3."""
    tail = channel_id.rpartition("-agent")[2]
    return int(tail) if tail.isdigit() else 0


def carrier_answered_at(state: CallState) -> datetime | None:
    """When the carrier starts to bill the call; None: it bills nothing.

    * inbound: the carrier's leg is the caller's, billed from its first answer, whoever
      gave it (an IVR or a prompt answers long before any agent does);
    * campaign: the customer's leg is the call's own, billed from the customer's answer;
    * outbound (a phone dials out through the trunk): the carrier's leg is the one the
      platform originated, billed from the called number's answer (``answered_at``); a
      phone the platform answered itself to play a refusal never reached the carrier;
    * internal (phone to phone): no carrier.
    """
    if state.direction in ("inbound", "campaign"):
        return state.platform_answered_at
    if state.direction == "outbound" and state.trunk is not None:
        return state.answered_at
    return None


def carrier_billsec(state: CallState) -> float | None:
    """Seconds the carrier bills: from :func:`carrier_answered_at` to the end (0: never
    answered); None while the call is not over."""
    if state.ended_at is None:
        return None
    since = carrier_answered_at(state)
    return round((state.ended_at - since).total_seconds(), 3) if since is not None else 0.0


def number_answered(state: CallState, now: datetime) -> CallState:
    """A number the call was transferred to, or consulted, answered: its meter starts."""
    return replace(state, number_answered_at=now)


def number_gone(state: CallState, now: datetime) -> CallState:
    """That number's leg ended before the call (a consultation cancelled, or hung up)."""
    since = state.number_answered_at
    if since is None:
        return state
    return replace(state, number_answered_at=None, number_billsec=round(
        state.number_billsec + max(0.0, (now - since).total_seconds()), 3))


def transfer_carrier_billsec(state: CallState) -> float:
    """Seconds the carrier bills for the numbers this call reached by transfer or
    consultation: the ended legs, and the one still up until the call's end (until then
    only the ended ones: the record's running figure, restored after a restart)."""
    since, end = state.number_answered_at, state.ended_at
    open_s = (end - since).total_seconds() if since is not None and end is not None else 0.0
    return round(state.number_billsec + max(0.0, open_s), 3)
