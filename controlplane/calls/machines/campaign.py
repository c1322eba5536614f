"""A campaign call before it reaches the queue: dial the customer, answer, AMD (pure).

Theory of operation
-------------------
The customer's leg is the call's own channel (``campaign-<attempt id>``), originated by
the platform into the Stasis app with ``campaign,<attempt id>``; everything else of the call
is named from it as for any call (``<call>-agent``, ``<call>-bridge``, ``<call>-prompt``).

``TRANSITIONS`` holds this machine's own events, in the same form as :mod:`.call`'s table
(and compared with the rows below by a unit test); any other event goes to
:func:`controlplane.calls.machines.call.step` (the customer's leg gone while RINGING ends
the call there, its cause kept; QUEUED onwards is that machine's).

    event            from          → to               commands
    CampaignEntered  (new)         → RINGING          SaveCall, DialCustomer (ring timeout
                                                      + RING_PAD_S: the full time rings)
    CustomerAnswered RINGING       → AMD              SaveCall, RunAmd (AMD on)
    CustomerAnswered RINGING       → QUEUED           EnterQueue: greeting end = the answer
                                                      (AMD off), ArmDeadline
    AmdDecided       AMD           → QUEUED           EnterQueue(connect_by), ArmDeadline
    AmdDecided       AMD           → ENDING           Hangup(customer): a machine, no agent
                                                      leg, ever

The customer's answer is the platform's answer of the call (``platform_answered_at``):
the carrier bills from then, whether an agent is ever connected or not.

A person is any verdict but MACHINE: NOTSURE (silence, or a detector that could not
decide) goes to an agent, since hanging up on a person is worse than an agent hearing
a machine. ``connect_by`` is the greeting end plus ``connect_within_s``: the legal window
(2 s) minus the time it takes to withdraw and start the abandon message, so a call given
up at ``connect_by`` hears the message inside the window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from controlplane.calls.machines import call as machine
from controlplane.calls.machines.call_events import (
    CallEvent,
    EnterQueue,
    PlayAbandon,
    SaveCall,
)
from controlplane.calls.machines.call_events import (
    Out as CallOut,
)
from controlplane.calls.machines.call_state import Binding, CallState, Phase
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
    """Feed :class:`~.call_events.ConnectDeadline` to the call at ``at``."""

    call_id: str
    at: datetime


CampaignEvent = CustomerAnswered | AmdDecided
CampaignOut = DialCustomer | RunAmd | ArmDeadline | PlayAbandon
COMMANDS = (DialCustomer, RunAmd, ArmDeadline, PlayAbandon)
Out = CallOut | DialCustomer | RunAmd | ArmDeadline
Result = tuple[CallState, list[Out]]
P = Phase


def start(event: CampaignEntered, now: datetime) -> Result:
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


def _customer_answered(state: CallState, plan: CampaignPlan, event: CustomerAnswered,
                       now: datetime) -> Result:
    if not state.caller_alive:
        return state, []
    state = replace(state, platform_answered_at=state.platform_answered_at or now)
    if not plan.amd:
        return _to_queue(state, plan, now, now)
    state = replace(state, phase=P.AMD)
    return state, [SaveCall(state), RunAmd(state.call_id)]


def _amd_decided(state: CallState, plan: CampaignPlan, event: AmdDecided, now: datetime) -> Result:
    if not state.caller_alive:
        return state, []
    if event.human:
        return _to_queue(state, plan, event.greeting_end, now)
    why = f"Answering machine ({event.cause})" if event.cause else "Answering machine"
    state = replace(state, phase=P.ENDING, ended_at=now, hangup_cause=16,
                    hangup_cause_txt=why[:64], hangup_by="system")
    return state, [Hangup(state.call_id, "normal"), SaveCall(state)]


TRANSITIONS: dict[type[Any], dict[Phase, frozenset[Phase]]] = {
    CustomerAnswered: {P.RINGING: frozenset({P.AMD, P.QUEUED})},
    AmdDecided: {P.AMD: frozenset({P.QUEUED, P.ENDING})},
}
STARTS = frozenset({P.RINGING})  # the phases ``start`` leads to
_HANDLERS: dict[type[Any], Callable[[CallState, CampaignPlan, Any, datetime], Result]] = {
    CustomerAnswered: _customer_answered,
    AmdDecided: _amd_decided,
}


def step(state: CallState, plan: CampaignPlan, event: CampaignEvent | CallEvent,
         now: datetime) -> Result:
    """Advance a campaign call by one event: its own in the table above, any other by
    :func:`controlplane.calls.machines.call.step`."""
    if not isinstance(event, CustomerAnswered | AmdDecided):  # TRANSITIONS' own events
        state, cmds = machine.step(state, event, now)
        return state, [*cmds]
    to = TRANSITIONS[type(event)].get(state.phase)
    if to is None:
        return state, []  # not in the table: a late or duplicate event, ignored
    new, out = _HANDLERS[type(event)](state, plan, event, now)
    assert new is state or new.phase in to, f"{type(event).__name__}: {state.phase} → {new.phase}"
    return new, out


def _to_queue(state: CallState, plan: CampaignPlan, greeting_end: datetime,
              now: datetime) -> Result:
    connect_by = greeting_end + timedelta(seconds=plan.connect_within_s)
    state, cmds = machine.step(state, EnterQueue(plan.queue, connect_by, plan.abandon_media,
                                                 plan.priority, plan.skills), now)
    return state, [*cmds, ArmDeadline(state.call_id, connect_by)]
