"""A campaign call before it reaches the queue: dial the customer, answer, AMD (pure).

Theory of operation
-------------------
The customer's leg is the call's own channel (``campaign-<attempt id>``), originated by
the platform into the Stasis app with ``campaign,<attempt id>``; everything else of the call
is named from it as for any call (``<call>-agent``, ``<call>-bridge``, ``<call>-prompt``).

    phase     event                        → phase    commands
    (new)     CampaignEntered              → RINGING  SaveCall, DialCustomer (ring timeout
                                                      + RING_PAD_S: the full time really rings)
    RINGING   customer leg gone            → ENDED    SaveCall (machine.step: cause kept)
    RINGING   CustomerAnswered (AMD on)    → AMD      SaveCall, RunAmd
    RINGING   CustomerAnswered (AMD off)   → QUEUED   EnterQueue: greeting end = the answer
    AMD       AmdDecided(person)           → QUEUED   EnterQueue(connect_by), ArmDeadline
    AMD       AmdDecided(machine)          → ENDING   Hangup(customer): no agent leg, ever
    QUEUED …  (see machine.py)

A person is any verdict but MACHINE: NOTSURE (silence, or a detector that could not
decide) goes to an agent, since hanging up on a person is worse than an agent hearing
a machine. ``connect_by`` is the greeting end plus ``connect_within_s``: the legal window
(2 s) minus the time it takes to withdraw and start the abandon message, so a call given
up at ``connect_by`` hears the message inside the window. Other events go to
:func:`controlplane.calls.machine.step`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from controlplane.calls import machine
from controlplane.calls.machine import (
    Binding,
    CallEvent,
    CallState,
    EnterQueue,
    Phase,
    PlayAbandon,
    SaveCall,
)
from controlplane.engine.commands import Hangup

CONNECT_LIMIT_S = 2.0  # US TSR / Ofcom: a live person gets an agent within 2 s of the greeting
WITHDRAW_MARGIN_S = 0.3  # measured: withdraw + start the message takes well under this
# The originate's timeout runs from the INVITE; the phone rings only from the carrier's 180.
RING_PAD_S = 1


@dataclass(frozen=True)
class CampaignPlan:
    """What the dialer asked for, kept by the adapter beside the call's state."""

    attempt_id: str
    dial: str  # PJSIP/<number>@<trunk>
    ring_timeout_s: int
    queue: str
    abandon_media: str
    amd: bool = True
    priority: int = 0
    skills: tuple[str, ...] = ()
    connect_within_s: float = CONNECT_LIMIT_S - WITHDRAW_MARGIN_S


@dataclass(frozen=True)
class CampaignEntered:
    call_id: str
    caller_id: str
    binding: Binding  # tenant, direction "campaign", callee = the number, trunk
    plan: CampaignPlan


@dataclass(frozen=True)
class CustomerAnswered:
    """The customer's leg entered Stasis (answered)."""


@dataclass(frozen=True)
class AmdDecided:
    """Our detector's verdict; ``greeting_end`` is when a person's greeting was over."""

    human: bool
    greeting_end: datetime
    cause: str = ""


# ---- commands (executed by controlplane/calls/campaign_glue.py) ----

@dataclass(frozen=True)
class DialCustomer:
    channel_id: str
    endpoint: str
    app_args: str
    caller_id: str
    timeout_s: int


@dataclass(frozen=True)
class RunAmd:
    channel_id: str


@dataclass(frozen=True)
class ArmDeadline:
    """Feed :class:`machine.ConnectDeadline` to the call at ``at``."""

    call_id: str
    at: datetime


CampaignEvent = CustomerAnswered | AmdDecided
CampaignOut = DialCustomer | RunAmd | ArmDeadline | PlayAbandon
COMMANDS = (DialCustomer, RunAmd, ArmDeadline, PlayAbandon)
Out = machine.Out | DialCustomer | RunAmd | ArmDeadline


def start(event: CampaignEntered, now: datetime) -> tuple[CallState, list[Out]]:
    """A new attempt: the record is written, then the customer is dialled."""
    b, plan = event.binding, event.plan
    state = CallState(
        call_id=event.call_id, phase=Phase.RINGING, tenant_id=b.tenant_id, direction=b.direction,
        caller=event.caller_id, callee=b.callee, did=None, trunk=b.trunk, agent_endpoint=None,
        started_at=now, prompt=None, dial=None, caller_alive=True,
    )
    return state, [SaveCall(state),
                   DialCustomer(event.call_id, plan.dial, f"campaign,{plan.attempt_id}",
                                event.caller_id, plan.ring_timeout_s + RING_PAD_S)]


def step(state: CallState, plan: CampaignPlan, event: CampaignEvent | CallEvent,
         now: datetime) -> tuple[CallState, list[Out]]:
    """Advance a campaign call by one event."""
    if isinstance(event, CustomerAnswered):
        if state.phase != Phase.RINGING or not state.caller_alive:
            return state, []
        if not plan.amd:
            return _to_queue(state, plan, now, now)
        state = replace(state, phase=Phase.AMD)
        return state, [SaveCall(state), RunAmd(state.call_id)]
    if isinstance(event, AmdDecided):
        if state.phase != Phase.AMD or not state.caller_alive:
            return state, []
        if event.human:
            return _to_queue(state, plan, event.greeting_end, now)
        why = f"Answering machine ({event.cause})" if event.cause else "Answering machine"
        state = replace(state, phase=Phase.ENDING, ended_at=now, hangup_cause=16,
                        hangup_cause_txt=why[:64], hangup_by="system")
        return state, [Hangup(state.call_id, "normal"), SaveCall(state)]
    state, cmds = machine.step(state, event, now)
    return state, [*cmds]


def _to_queue(state: CallState, plan: CampaignPlan, greeting_end: datetime,
              now: datetime) -> tuple[CallState, list[Out]]:
    connect_by = greeting_end + timedelta(seconds=plan.connect_within_s)
    state, cmds = machine.step(state, EnterQueue(plan.queue, connect_by, plan.abandon_media,
                                                 plan.priority, plan.skills), now)
    return state, [*cmds, ArmDeadline(state.call_id, connect_by)]
