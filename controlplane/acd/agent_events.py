"""Inputs and outputs of the agent machine (see :mod:`controlplane.acd.agent_machine`).

Events come from three sources: the agent (panel or phone keys), a supervisor,
and the ACD service (offers made by the router and their outcome, the phone's
contact status from AMI/ARI, the periodic tick). Outputs are records: the
service stores them (time in status, audit) and shows refusals to the user.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from controlplane.acd.interactions import Channel


class Status(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"  # chosen by the router, offer sent, phone not ringing yet
    RINGING = "ringing"
    ON_CALL = "on_call"  # holds at least one interaction (a call, or chats)
    WRAP_UP = "wrap_up"
    BREAK = "break"


class BreakKind(enum.StrEnum):
    FREE = "free"  # the agent takes it at will
    APPROVAL = "approval"  # the agent asks, a supervisor approves or denies
    CONDITIONAL = "conditional"  # at most ``max_on_break`` agents of the group at once
    SUPERVISOR = "supervisor"  # only a supervisor can put an agent on it (forced)


@dataclass(frozen=True, slots=True)
class BreakReason:
    code: str
    kind: BreakKind = BreakKind.FREE
    max_on_break: int | None = None  # CONDITIONAL: cap for the agent's group


MISSED = "missed"  # system break after too many unanswered offers
LOGIN = "login"  # system break when an agent logs in not ready


# ---- events ----


@dataclass(frozen=True, slots=True)
class LoggedIn:
    ready: bool = True


@dataclass(frozen=True, slots=True)
class LoggedOut:
    by: str | None = None  # supervisor who forced it, None: the agent


@dataclass(frozen=True, slots=True)
class GoReady:
    """The agent declares readiness (ends a break, or ends wrap-up early)."""


@dataclass(frozen=True, slots=True)
class RequestBreak:
    """The agent asks for a break. ``on_break`` is how many agents of the
    reason's group are on it now (counted by the service, deferred ones included)."""

    reason: str
    on_break: int = 0


@dataclass(frozen=True, slots=True)
class CancelBreakRequest:
    pass


@dataclass(frozen=True, slots=True)
class ApproveBreak:
    by: str


@dataclass(frozen=True, slots=True)
class DenyBreak:
    by: str


@dataclass(frozen=True, slots=True)
class ForceBreak:
    reason: str
    by: str


@dataclass(frozen=True, slots=True)
class Reserve:
    """The router chose this agent: an offer of ``interaction_id`` is being made.
    ``wrap_up_s`` is the wrap-up of the queue the interaction came from."""

    interaction_id: str
    channel: Channel
    queue_id: str
    wrap_up_s: float


@dataclass(frozen=True, slots=True)
class Ringing:
    interaction_id: str


@dataclass(frozen=True, slots=True)
class Answered:
    interaction_id: str


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """The agent did not take the offer: ``cause`` timeout | rejected | busy | unreachable.
    Counts as a missed offer."""

    interaction_id: str
    cause: str = "timeout"


@dataclass(frozen=True, slots=True)
class OfferCancelled:
    """The offer was withdrawn through no fault of the agent (the caller left,
    another agent answered a ring-all). Not a miss."""

    interaction_id: str


@dataclass(frozen=True, slots=True)
class InteractionEnded:
    interaction_id: str


@dataclass(frozen=True, slots=True)
class ContactStatus:
    """The agent's phone contact status (AMI ``ContactStatus`` / ARI
    ``ContactStatusChange``), aggregated over the AOR by the service."""

    status: str  # Reachable | Unreachable | Removed | NonQualified | Created | Updated | Unknown


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: ends wrap-up when its time is up."""


AgentEvent = (
    LoggedIn
    | LoggedOut
    | GoReady
    | RequestBreak
    | CancelBreakRequest
    | ApproveBreak
    | DenyBreak
    | ForceBreak
    | Reserve
    | Ringing
    | Answered
    | OfferFailed
    | OfferCancelled
    | InteractionEnded
    | ContactStatus
    | Tick
)


# ---- outputs (records) ----


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """Every status transition; the reports sum time per status from these."""

    agent: str
    from_: Status
    to: Status
    reason: str | None
    at: float


@dataclass(frozen=True, slots=True)
class Refused:
    """An event not allowed now; ``why`` is shown to whoever sent it."""

    agent: str
    event: str
    why: str
    at: float


@dataclass(frozen=True, slots=True)
class BreakLog:
    """Audit of the break workflow: requested | cancelled | approved | denied |
    deferred | forced."""

    agent: str
    action: str
    reason: str
    by: str | None
    at: float


@dataclass(frozen=True, slots=True)
class ReachabilityChanged:
    agent: str
    reachable: bool
    at: float


AgentOutput = StatusChanged | Refused | BreakLog | ReachabilityChanged
