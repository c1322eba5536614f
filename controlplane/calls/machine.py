"""The call-leg machine: a call that enters the platform and is connected to one other leg.

Inbound: a caller dials a DID; after a prompt the agent phone bound to the DID
is rung. Outbound: an agent phone dials a number; the call goes out over the
tenant's trunk at once (no prompt). Either way the "other leg" is originated
by the control plane and called the agent leg below.

Theory of operation
-------------------
A call is keyed by the caller channel's id (``call_id``). Every other Asterisk
object of the call has an id derived from it, so after a restart the control
plane finds them again with ARI GETs alone: the agent leg is
``<call_id>-agent``, the bridge ``<call_id>-bridge``, the prompt playback
``<call_id>-prompt`` and the recording is named ``<call_id>``.

    phase       event                         → phase       commands
    (new)       Entered(binding)              → PROMPT      SaveCall, Answer, Play(prompt)
    (new)       Entered(binding, no prompt)   → DIALING     SaveCall, StartRinging, Originate
    (new)       Entered(binding with a flow)  → IVR         SaveCall, Answer, StartIvr
    IVR         IvrFinished(dial)             → DIALING     StartRinging, Originate
    IVR         IvrFinished(no dial)          → ENDING      Hangup(caller)
    IVR         IvrFinished(queue)            → QUEUED      Enqueue, StartMoh
    QUEUED      OfferAgent(agent)             → QUEUED      SaveCall, Originate(leg n), even
                                                            while other legs ring (ring-all)
    QUEUED      a ringing leg gone (no answer) → QUEUED     QueueNotify(failed, that agent)
    QUEUED      a ringing leg answers         → TALKING     StopMoh, bridge it, Hangup(the other
                                                            ringing legs), SaveCall,
                                                            QueueNotify(answered): the ACD then
                                                            withdraws the others, not as a miss
    QUEUED      CancelOffer(agent)            → QUEUED      Hangup(that agent's leg); no agent:
                                                            every ringing leg
    TALKING     Connected(record)             → TALKING     RecordBridge when the queue says so
    QUEUED      LeaveQueue(outcome)           → ENDING      Hangup(caller, every ringing leg)
    QUEUED      LeaveQueue(with a farewell)   → REJECTING   Play(farewell), then as REJECTING
    QUEUED      caller gone                   → ENDING      QueueNotify(caller_left),
                                                            Hangup(every ringing leg)
    ENDING      a ringing leg gone, none left → ENDED       SaveCall (once the caller is gone)
    (queued call) TALKING ends                → ...         QueueNotify(ended): agent wrap-up

Campaign calls (``controlplane/calls/campaign_machine.py`` dials the customer and runs AMD;
the customer's channel is the call's own): a person answered →
    RINGING/AMD EnterQueue(queue, connect_by) → QUEUED      SaveCall, Enqueue (no hold music)
    QUEUED      ConnectDeadline / LeaveQueue  → ABANDONING  QueueNotify(caller_left),
                                                            Hangup(ringing legs), PlayAbandon
    QUEUED      agent answers after connect_by → ABANDONING (the same: too late is abandoned)
    ABANDONING  message finished              → ENDING      Hangup(caller)

    (new)       Entered(no binding)           → REJECTING   SaveCall, Answer, Play(no-service)
                (a phone the platform does not know; a trunk call to a number that is not its
                tenant's never gets here: security/trunk_calls.py refuses it unanswered)
    (new)       Entered(binding refused)      → REJECTING   SaveCall, Answer, Play(why)
    IVR         IvrFinished(refused)          → REJECTING   SaveCall, Answer, Play(why)
    REJECTING   (refused) playback finished   → ENDING      Hangup(caller); cause 21, by system
    PROMPT      prompt finished               → DIALING     StartRinging, Originate(agent)
    REJECTING   playback finished             → ENDING      Hangup(caller)
    DIALING     agent entered Stasis (answer) → TALKING     StopRinging, CreateBridge,
                                                            AddToBridge, RecordBridge, SaveCall
    DIALING     agent leg gone (no answer)    → ENDING      Hangup(caller)
    any         caller gone                   → ENDING      Hangup(agent), DestroyBridge
    TALKING     agent gone                    → ENDING      Hangup(caller), DestroyBridge
    ENDING      last leg gone                 → ENDED       SaveCall (final)

A refused call (``refused``: the toll-fraud guard said no before anything was dialled,
:mod:`controlplane.calls.toll_guard`) is a REJECTING call with ``refused_reason`` set: the
caller hears why, then the platform hangs up ("Call Rejected"); the record keeps the reason.

Every offer gets a new agent leg (``<call_id>-agent``, ``-agent1``, …), so several can
ring at once (``ringing``: channel and agent of each) and a re-offer never reuses an id;
an event about a leg that no longer rings (withdrawn, hung up, an older attempt) is
ignored, and such a leg answering late is hung up. ``attempt`` is the newest leg's
number (the answered one's once bridged); it is saved before each Originate, so a
restarted daemon names its next leg afresh.

The first hang-up fixes ``ended_at``, the cause and who hung up; the record is
saved (``SaveCall``) on entry, on answer and at the end. ``step`` is pure: it
takes the state, an event and the time, and returns the new state and commands.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from controlplane.engine.commands import (
    AddToBridge,
    Answer,
    Command,
    CreateBridge,
    DestroyBridge,
    Hangup,
    Originate,
    Play,
    RecordBridge,
    StartRinging,
    StopRinging,
)

AGENT_RING_TIMEOUT_S = 30
NO_SERVICE_PROMPT = "sound:ss-noservice"


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
    direction: str  # inbound | outbound
    callee: str
    did: str | None
    trunk: str | None
    agent_endpoint: str | None
    dial: str | None  # ARI endpoint of the other leg, e.g. PJSIP/demo-1001; None: no service
    prompt: str | None  # played before dialing (inbound); None dials at once
    ivr: bool = False  # the DID leads into an IVR flow (run by the service, see StartIvr)
    refused: str | None = None  # the outbound guard refused the call: why (prompt: the message)


@dataclass(frozen=True)
class RingingLeg:
    """An agent leg of a queued call that was originated and has not answered yet."""

    channel: str
    agent_endpoint: str
    dial: str


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
    answered_at: datetime | None = None
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


@dataclass(frozen=True)
class QueueNotify:
    """Tell the queue service what happened: answered, failed, caller_left, ended."""

    call_id: str
    what: str
    agent_endpoint: str | None
    cause: int = 0


@dataclass(frozen=True)
class StartMoh:
    channel_id: str


@dataclass(frozen=True)
class StopMoh:
    channel_id: str


@dataclass(frozen=True)
class StartIvr:
    """Run the DID's IVR flow on the caller's channel (executed by the service)."""

    call_id: str


@dataclass(frozen=True)
class SaveCall:
    """Persist the call record from this snapshot (executed by the service)."""

    state: CallState


CallEvent = (Entered | PromptDone | AgentAnswered | LegGone | IvrFinished | OfferAgent
             | Connected | LeaveQueue | CancelOffer | EnterQueue | ConnectDeadline)
Out = Command | SaveCall | StartIvr | Enqueue | QueueNotify | StartMoh | StopMoh | PlayAbandon


def start(event: Entered, now: datetime) -> tuple[CallState, list[Out]]:
    b = event.binding
    state = CallState(
        call_id=event.call_id, phase=Phase.PROMPT, tenant_id=b.tenant_id,
        direction=b.direction, caller=event.caller, callee=b.callee, did=b.did, trunk=b.trunk,
        agent_endpoint=b.agent_endpoint, started_at=now, prompt=b.prompt, dial=b.dial,
    )
    if b.ivr:
        state = replace(state, phase=Phase.IVR)
        return state, [SaveCall(state), Answer(state.call_id), StartIvr(state.call_id)]
    if b.refused is not None:
        return _refuse(state, b.refused, b.prompt)
    if b.dial is None:
        state = replace(state, phase=Phase.REJECTING)
        return state, [SaveCall(state), Answer(state.call_id),
                       Play(state.call_id, NO_SERVICE_PROMPT, state.prompt_playback)]
    if b.prompt is None:
        state, cmds = _dial(state)
        return state, [SaveCall(state), *cmds]
    return state, [SaveCall(state), Answer(state.call_id),
                   Play(state.call_id, b.prompt, state.prompt_playback)]


def _refuse(state: CallState, why: str, media: str | None) -> tuple[CallState, list[Out]]:
    """Nothing is dialled: the caller hears ``media`` (why), then is hung up."""
    state = replace(state, phase=Phase.REJECTING, refused_reason=why, dial=None)
    return state, [SaveCall(state), Answer(state.call_id),
                   Play(state.call_id, media or NO_SERVICE_PROMPT, state.prompt_playback)]


def _dial(state: CallState) -> tuple[CallState, list[Out]]:
    dial = state.dial
    assert dial is not None
    state = replace(state, phase=Phase.DIALING, agent_dialed=True)
    return state, [
        StartRinging(state.call_id),
        Originate(state.agent_channel, dial, f"agent,{state.call_id}", state.caller,
                  AGENT_RING_TIMEOUT_S, (("X-Centrala-Call-Id", state.call_id),)),
    ]


def _end(state: CallState, leg: LegGone, now: datetime) -> CallState:
    """Fix end time, cause and who hung up at the first hang-up only."""
    if state.ended_at is not None:
        return state
    return replace(state, ended_at=now, hangup_cause=leg.cause, hangup_cause_txt=leg.cause_txt,
                   hangup_by=leg.leg, end_estimated=leg.estimated)


def _teardown(state: CallState) -> list[Out]:
    cmds: list[Out] = []
    if state.caller_alive:
        cmds.append(Hangup(state.call_id))
    if state.ringing:
        cmds += [Hangup(leg.channel) for leg in state.ringing]
    elif state.agent_alive or (state.agent_dialed and state.phase != Phase.ENDED):
        cmds.append(Hangup(state.agent_channel))
    if state.answered_at is not None:
        cmds.append(DestroyBridge(state.bridge_id))
    return cmds


def _abandon(state: CallState) -> tuple[CallState, list[Out]]:
    """Campaign call, no agent in time: withdraw from the queue, play the message."""
    media = state.abandon_media
    assert media is not None
    cmds: list[Out] = [QueueNotify(state.call_id, "caller_left", state.agent_endpoint),
                       *_hangups(state.ringing)]
    state = replace(state, phase=Phase.ABANDONING, agent_dialed=False, ringing=())
    return state, [*cmds, PlayAbandon(state.call_id, media, state.prompt_playback),
                   SaveCall(state)]


def _hangups(legs: tuple[RingingLeg, ...]) -> list[Out]:
    return [Hangup(leg.channel, "normal") for leg in legs]


def _ringing_leg(state: CallState, channel: str | None) -> RingingLeg | None:
    """The ringing leg ``channel`` names (None: the newest leg's channel), if it rings."""
    wanted = channel or state.agent_channel
    return next((leg for leg in state.ringing if leg.channel == wanted), None)


def _drop_legs(state: CallState, legs: tuple[RingingLeg, ...]) -> CallState:
    rest = tuple(leg for leg in state.ringing if leg not in legs)
    return replace(state, ringing=rest, agent_dialed=bool(rest))


def step(state: CallState, event: CallEvent, now: datetime) -> tuple[CallState, list[Out]]:
    """Advance one call by one event."""
    if isinstance(event, EnterQueue):
        if state.phase not in (Phase.RINGING, Phase.AMD) or not state.caller_alive:
            return state, []
        state = replace(state, phase=Phase.QUEUED, queue=event.queue, connect_by=event.connect_by,
                        abandon_media=event.abandon_media)
        return state, [SaveCall(state),
                       Enqueue(state.call_id, event.queue, event.priority, event.skills)]

    if isinstance(event, ConnectDeadline):
        if state.phase != Phase.QUEUED or state.abandon_media is None:
            return state, []
        return _abandon(state)

    if isinstance(event, IvrFinished):
        if state.phase != Phase.IVR:
            return state, []
        if event.queue is not None:
            state = replace(state, phase=Phase.QUEUED, queue=event.queue)
            return state, [SaveCall(state), StartMoh(state.call_id),
                           Enqueue(state.call_id, event.queue, event.priority, event.skills)]
        if event.refused is not None:
            state = replace(state, callee=event.callee or state.callee)
            return _refuse(state, event.refused, event.refusal_media)
        if event.dial is None:
            state = replace(state, phase=Phase.ENDING)
            return state, [Hangup(state.call_id, "normal")]
        state = replace(state, dial=event.dial, callee=event.callee or state.callee,
                        agent_endpoint=event.agent_endpoint)
        state, cmds = _dial(state)
        return state, [SaveCall(state), *cmds]

    if isinstance(event, OfferAgent):
        if state.phase != Phase.QUEUED or not state.caller_alive:
            return state, []
        if any(leg.agent_endpoint == event.agent_endpoint for leg in state.ringing):
            return state, []  # that phone rings for this call already
        # a new channel per offer, so a late event of an earlier ring is recognised
        attempt = state.attempt + 1 if state.agent_endpoint is not None else state.attempt
        leg = RingingLeg(agent_channel_id(state.call_id, attempt), event.agent_endpoint,
                         event.dial)
        state = replace(state, agent_endpoint=event.agent_endpoint, dial=event.dial,
                        agent_dialed=True, attempt=attempt, ringing=(*state.ringing, leg))
        return state, [
            SaveCall(state),  # before the Originate: a restart then knows the newest leg's id
            Originate(leg.channel, event.dial, f"agent,{state.call_id}", state.caller,
                      event.timeout_s, (("X-Centrala-Call-Id", state.call_id),)),
        ]

    if isinstance(event, Connected):
        if state.phase != Phase.TALKING or not event.record or state.recording:
            return state, []
        state = replace(state, recording=state.call_id)
        return state, [RecordBridge(state.bridge_id, state.call_id), SaveCall(state)]

    if isinstance(event, LeaveQueue):
        if state.phase != Phase.QUEUED:
            return state, []
        if state.abandon_media is not None:  # a campaign call: a person must hear the message
            return _abandon(state)
        leave: list[Out] = [StopMoh(state.call_id), *_hangups(state.ringing)]
        state = _end(state, LegGone("system", 16, f"Left the queue: {event.outcome}"), now)
        if event.farewell is not None:  # say goodbye first: PromptDone hangs up (REJECTING)
            state = replace(state, phase=Phase.REJECTING, agent_dialed=False, ringing=())
            return state, [*leave, Play(state.call_id, event.farewell, state.prompt_playback)]
        return replace(state, phase=Phase.ENDING), [*leave, Hangup(state.call_id, "normal")]

    if isinstance(event, PromptDone):
        if event.playback_id != state.prompt_playback:
            return state, []
        if state.phase == Phase.PROMPT and state.dial:
            return _dial(state)
        if state.phase == Phase.REJECTING:
            if state.refused_reason is not None:
                state = _end(state, LegGone("system", 21, "Call Rejected"), now)
            state = replace(state, phase=Phase.ENDING)
            return state, [Hangup(state.call_id, "normal")]
        if state.phase == Phase.ABANDONING:
            state = _end(state, LegGone("system", 16, "Abandoned: no agent in time"), now)
            state = replace(state, phase=Phase.ENDING)
            return state, [Hangup(state.call_id, "normal")]
        return state, []

    if isinstance(event, CancelOffer):
        if state.phase != Phase.QUEUED:
            return state, []
        legs = tuple(leg for leg in state.ringing
                     if event.agent_endpoint in (None, leg.agent_endpoint))
        # Those legs' own hang-up events are then ignored: they no longer ring for the call.
        return _drop_legs(state, legs), _hangups(legs)

    if isinstance(event, AgentAnswered) and state.phase == Phase.QUEUED:
        return _queued_answer(state, event, now)

    if isinstance(event, AgentAnswered):
        if state.phase == Phase.TALKING and event.channel in (None, state.agent_channel):
            return state, []  # the bridged leg itself: nothing new
        if state.phase != Phase.DIALING:
            # The caller left while the phone was ringing, or another ring-all leg answered
            # after the first: drop the late answer.
            return state, [Hangup(event.channel or state.agent_channel)]
        state = replace(state, phase=Phase.TALKING, agent_alive=True, answered_at=now,
                        recording=state.call_id)
        # Answer is a no-op for an inbound caller (already up); it answers an outbound phone.
        return state, [
            StopRinging(state.call_id), Answer(state.call_id), CreateBridge(state.bridge_id),
            AddToBridge(state.bridge_id, (state.call_id, state.agent_channel)),
            RecordBridge(state.bridge_id, state.call_id), SaveCall(state),
        ]

    if isinstance(event, LegGone):
        if event.leg == "caller":
            if not state.caller_alive:
                return state, []
            queued = state.phase == Phase.QUEUED
            state = _end(state, event, now)
            state = replace(state, caller_alive=False)
            if queued:
                note: list[Out] = [QueueNotify(state.call_id, "caller_left", state.agent_endpoint)]
                state, cmds = _close(state)
                return state, [*note, *cmds]
        elif state.ringing:
            return _ringing_leg_gone(state, event)
        else:
            if not (state.agent_alive or state.agent_dialed):
                return state, []
            if event.channel is not None and event.channel != state.agent_channel:
                return state, []  # an earlier attempt's leg
            if state.phase in (Phase.DIALING, Phase.TALKING):
                # In DIALING: no answer, busy or unreachable; the caller is released.
                state = _end(state, event, now)
            state = replace(state, agent_alive=False, agent_dialed=False)
        return _close(state)

    raise TypeError(f"unknown call event {event!r}")


def _queued_answer(state: CallState, event: AgentAnswered,
                   now: datetime) -> tuple[CallState, list[Out]]:
    """A leg of a queued call answered: the first ringing one is bridged, the rest hung up."""
    leg = _ringing_leg(state, event.channel)
    if leg is None:  # withdrawn, or an older attempt's leg: it answered too late
        return state, [Hangup(event.channel or state.agent_channel, "normal")]
    if state.connect_by is not None and now > state.connect_by:
        return _abandon(state)  # connected this late, the call counts as abandoned anyway
    others = tuple(other for other in state.ringing if other != leg)
    state = replace(state, phase=Phase.TALKING, agent_alive=True, agent_dialed=False, ringing=(),
                    answered_at=now, agent_endpoint=leg.agent_endpoint, dial=leg.dial,
                    attempt=attempt_of_agent_channel(leg.channel))
    # The others are not reported one by one: "answered" makes the ACD withdraw them as
    # answered elsewhere (no missed offer); their CancelOffers then find nothing ringing.
    return state, [
        StopMoh(state.call_id), CreateBridge(state.bridge_id),
        AddToBridge(state.bridge_id, (state.call_id, leg.channel)), *_hangups(others),
        SaveCall(state), QueueNotify(state.call_id, "answered", leg.agent_endpoint),
    ]


def _ringing_leg_gone(state: CallState, event: LegGone) -> tuple[CallState, list[Out]]:
    """An agent leg of a queued call (QUEUED, or ENDING while its legs go) left."""
    leg = _ringing_leg(state, event.channel)
    if leg is None:
        return state, []  # a leg that no longer rings for the call (withdrawn, older attempt)
    state = _drop_legs(state, (leg,))
    if state.phase == Phase.QUEUED:
        # This offer failed (no answer, busy, unreachable): only its agent is reported;
        # the other legs ring on, and the queue offers again when none is left.
        return state, [QueueNotify(state.call_id, "failed", leg.agent_endpoint, event.cause)]
    if not state.caller_alive and not state.agent_alive and not state.ringing:
        state = replace(state, phase=Phase.ENDED)
        return state, [SaveCall(state)]
    return state, []  # the caller's or the other legs' hang-ups are still on their way


def _close(state: CallState) -> tuple[CallState, list[Out]]:
    """After a hang-up: release what is left; ENDED once no leg remains."""
    cmds = _teardown(state)
    if state.queue is not None and state.answered_at is not None and state.phase == Phase.TALKING:
        cmds.append(QueueNotify(state.call_id, "ended", state.agent_endpoint))
    if not state.caller_alive and not state.agent_alive and not state.agent_dialed:
        state = replace(state, phase=Phase.ENDED)
        return state, [*cmds, SaveCall(state)]
    return replace(state, phase=Phase.ENDING), cmds
