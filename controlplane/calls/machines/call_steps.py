"""What each event does to a call: ``start`` and the handlers :mod:`.call` dispatches to.

:mod:`.call` holds the transition table and ``step``; it calls a handler here only for an
(event, phase) pair in its table. A handler may still ignore an event that is not about
the call's current leg (a foreign playback, a withdrawn leg) by returning the state
unchanged. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from controlplane.calls.machines import call_consult as consult
from controlplane.calls.machines import call_transfers as tr
from controlplane.calls.machines.call_events import (
    AgentAnswered,
    CancelOffer,
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
    StartIvr,
)
from controlplane.calls.machines.call_state import (
    CallState,
    Phase,
    RingingLeg,
    agent_channel_id,
    attempt_of_agent_channel,
)
from controlplane.engine.commands import (
    AddToBridge,
    Answer,
    CreateBridge,
    DestroyBridge,
    Hangup,
    Originate,
    Play,
    RecordBridge,
    StartMoh,
    StartRinging,
    StopMoh,
    StopRinging,
)

AGENT_RING_TIMEOUT_S = 30
NO_SERVICE_PROMPT = "sound:ss-noservice"

P = Phase
Result = tuple[CallState, list[Out]]


# ---- helpers shared by the handlers ----


def _answer_caller(state: CallState, now: datetime) -> tuple[CallState, Answer]:
    """``Answer`` the caller's leg, noting when the platform first answered it."""
    answered = replace(state, platform_answered_at=state.platform_answered_at or now)
    return answered, Answer(state.call_id)


def _refuse(state: CallState, why: str, media: str | None, now: datetime) -> Result:
    """Nothing is dialled: the caller hears ``media`` (why), then is hung up."""
    state = replace(state, phase=P.REJECTING, refused_reason=why, dial=None)
    state, answer = _answer_caller(state, now)
    return state, [SaveCall(state), answer,
                   Play(state.call_id, media or NO_SERVICE_PROMPT, state.prompt_playback)]


# Hang-up causes of a leg that failed before answer because its way out is down (the
# trunk, the carrier or its network), not because of the number or the person: 20 the
# leg could not even be made (Asterisk refuses to dial a trunk its qualify found
# unreachable: ARI "Allocation failed", fed back as cause 20 by calls/failures.py), 34 no
# circuit (SIP 503), 38 network out of order, 41 temporary failure, 42 congestion, 102
# timer expired (SIP 408: the carrier never answered the INVITE, after 32 s). Busy (17),
# no answer (18/19), unallocated (1), rejected (21) fail over to nothing: another trunk
# would only ring the same person again.
FAILOVER_CAUSES = frozenset({20, 34, 38, 41, 42, 102})


def _dial(state: CallState) -> Result:
    dial = state.dial
    assert dial is not None
    state = replace(state, phase=P.DIALING, agent_dialed=True)
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
    elif state.agent_alive or (state.agent_dialed and state.phase != P.ENDED):
        cmds.append(Hangup(state.agent_channel))
    if state.consult is not None:
        cmds.append(Hangup(state.consult.channel))
    if state.answered_at is not None:
        cmds.append(DestroyBridge(state.bridge_id))
    return cmds


def _abandon(state: CallState) -> Result:
    """Campaign call, no agent in time: withdraw from the queue, play the message."""
    media = state.abandon_media
    assert media is not None
    cmds: list[Out] = [QueueNotify(state.call_id, "caller_left", state.agent_endpoint),
                       *_hangups(state.ringing)]
    state = replace(state, phase=P.ABANDONING, agent_dialed=False, ringing=())
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


def _close(state: CallState) -> Result:
    """After a hang-up: release what is left; ENDED once no leg remains."""
    cmds = _teardown(state)
    if (state.queue is not None and state.answered_at is not None and state.phase == P.TALKING
            and state.agent_endpoint is not None):  # not a number a transfer reached
        cmds.append(QueueNotify(state.call_id, "ended", state.agent_endpoint))
    if not state.caller_alive and not state.agent_alive and not state.agent_dialed:
        state = replace(state, phase=P.ENDED)
        return state, [*cmds, SaveCall(state)]
    return replace(state, phase=P.ENDING), cmds


# ---- start, and one handler per event (the table in call.py says when each runs) ----


def start(event: Entered, now: datetime) -> Result:
    """A new call: its record is saved first (queued for the writer: the ``Answer`` after it
    waits for no database), then whatever the binding leads to."""
    b = event.binding
    state = CallState(
        call_id=event.call_id, phase=P.PROMPT, tenant_id=b.tenant_id,
        direction=b.direction, caller=event.caller, callee=b.callee, did=b.did, trunk=b.trunk,
        agent_endpoint=b.agent_endpoint, started_at=now, prompt=b.prompt, dial=b.dial,
        failover=b.failover,
    )
    if b.ivr:
        state, answer = _answer_caller(replace(state, phase=P.IVR), now)
        return state, [SaveCall(state), answer, StartIvr(state.call_id)]
    if b.refused is not None:
        return _refuse(state, b.refused, b.prompt, now)
    if b.queue is not None:
        # A queue DID is an IVR whose only node is that queue: answered, music, enqueued
        # exactly as IvrFinished(queue) does, without an IVR session to run.
        state, answer = _answer_caller(replace(state, phase=P.QUEUED, queue=b.queue), now)
        return state, [SaveCall(state), answer, StartMoh(state.call_id),
                       Enqueue(state.call_id, b.queue, 0, ())]
    if b.dial is None:
        state, answer = _answer_caller(replace(state, phase=P.REJECTING), now)
        return state, [SaveCall(state), answer,
                       Play(state.call_id, NO_SERVICE_PROMPT, state.prompt_playback)]
    if b.prompt is None:
        state, cmds = _dial(state)
        return state, [SaveCall(state), *cmds]
    state, answer = _answer_caller(state, now)
    return state, [SaveCall(state), answer, Play(state.call_id, b.prompt, state.prompt_playback)]


def enter_queue(state: CallState, event: EnterQueue, now: datetime) -> Result:
    if not state.caller_alive:
        return state, []
    state = replace(state, phase=P.QUEUED, queue=event.queue, connect_by=event.connect_by,
                    abandon_media=event.abandon_media)
    return state, [SaveCall(state),
                   Enqueue(state.call_id, event.queue, event.priority, event.skills)]


def connect_deadline(state: CallState, event: ConnectDeadline, now: datetime) -> Result:
    if state.abandon_media is None:
        return state, []
    return _abandon(state)


def ivr_finished(state: CallState, event: IvrFinished, now: datetime) -> Result:
    if event.queue is not None:
        state = replace(state, phase=P.QUEUED, queue=event.queue)
        return state, [SaveCall(state), StartMoh(state.call_id),
                       Enqueue(state.call_id, event.queue, event.priority, event.skills)]
    if event.refused is not None:
        state = replace(state, callee=event.callee or state.callee)
        return _refuse(state, event.refused, event.refusal_media, now)
    if event.dial is None:
        state = replace(state, phase=P.ENDING)
        return state, [Hangup(state.call_id, "normal")]
    state = replace(state, dial=event.dial, callee=event.callee or state.callee,
                    agent_endpoint=event.agent_endpoint)
    state, cmds = _dial(state)
    return state, [SaveCall(state), *cmds]


def offer_agent(state: CallState, event: OfferAgent, now: datetime) -> Result:
    if not state.caller_alive:
        return state, []
    if any(leg.agent_endpoint == event.agent_endpoint for leg in state.ringing):
        return state, []  # that phone rings for this call already
    # a new channel per offer, so a late event of an earlier ring is recognised
    attempt = state.attempt + 1 if state.agent_endpoint is not None else state.attempt
    if state.last_leg and state.last_leg >= attempt:  # a consultation used that number
        attempt = consult.next_leg(state)
    leg = RingingLeg(agent_channel_id(state.call_id, attempt), event.agent_endpoint, event.dial)
    state = replace(state, agent_endpoint=event.agent_endpoint, dial=event.dial,
                    agent_dialed=True, attempt=attempt, ringing=(*state.ringing, leg))
    return state, [
        SaveCall(state),  # before the Originate: a restart then knows the newest leg's id
        Originate(leg.channel, event.dial, f"agent,{state.call_id}", state.caller,
                  event.timeout_s, (("X-Centrala-Call-Id", state.call_id),)),
    ]


def connected(state: CallState, event: Connected, now: datetime) -> Result:
    if not event.record or state.recording:
        return state, []
    name = tr.part_recording(state)
    state = replace(state, recording=name)
    return state, [RecordBridge(state.bridge_id, name), SaveCall(state)]


def leave_queue(state: CallState, event: LeaveQueue, now: datetime) -> Result:
    if state.abandon_media is not None:  # a campaign call: a person must hear the message
        return _abandon(state)
    leave: list[Out] = [StopMoh(state.call_id), *_hangups(state.ringing)]
    state = _end(state, LegGone("system", 16, f"Left the queue: {event.outcome}"), now)
    if event.farewell is not None:  # say goodbye first: PromptDone hangs up (REJECTING)
        state = replace(state, phase=P.REJECTING, agent_dialed=False, ringing=())
        return state, [*leave, Play(state.call_id, event.farewell, state.prompt_playback)]
    return replace(state, phase=P.ENDING), [*leave, Hangup(state.call_id, "normal")]


def prompt_done(state: CallState, event: PromptDone, now: datetime) -> Result:
    """PROMPT: the prompt before dialling ended; ring the agent."""
    if event.playback_id != state.prompt_playback or not state.dial:
        return state, []
    return _dial(state)


def message_done(state: CallState, event: PromptDone, now: datetime) -> Result:
    """REJECTING / ABANDONING: the last message (why, goodbye, abandon) ended; hang up."""
    if event.playback_id != state.prompt_playback:
        return state, []
    if state.phase == P.REJECTING and state.refused_reason is not None:
        state = _end(state, LegGone("system", 21, "Call Rejected"), now)
    elif state.phase == P.ABANDONING:
        state = _end(state, LegGone("system", 16, "Abandoned: no agent in time"), now)
    return replace(state, phase=P.ENDING), [Hangup(state.call_id, "normal")]


def cancel_offer(state: CallState, event: CancelOffer, now: datetime) -> Result:
    legs = tuple(leg for leg in state.ringing
                 if event.agent_endpoint in (None, leg.agent_endpoint))
    # Those legs' own hang-up events are then ignored: they no longer ring for the call.
    return _drop_legs(state, legs), _hangups(legs)


def agent_answered(state: CallState, event: AgentAnswered, now: datetime) -> Result:
    """DIALING: the one agent leg answered; bridge it with the caller and record."""
    state = replace(state, phase=P.TALKING, agent_alive=True, fallback_queue=None,
                    answered_at=state.answered_at or now,  # a transferred call: the first
                    recording=tr.part_recording(state))
    state = tr.number_reached(state, now)  # a number a transfer dialled: the carrier's meter
    # Answer is a no-op for an inbound caller the platform answered already; it answers
    # an outbound phone, or an inbound caller rung straight through to a phone.
    state, answer = _answer_caller(state, now)
    return state, [
        StopRinging(state.call_id), answer, CreateBridge(state.bridge_id),
        AddToBridge(state.bridge_id, (state.call_id, state.agent_channel)),
        RecordBridge(state.bridge_id, tr.part_recording(state)), SaveCall(state),
    ]


def late_answer(state: CallState, event: AgentAnswered, now: datetime) -> Result:
    """Any other phase: nothing for the bridged leg itself; any other leg answered too late
    (the caller left while it rang, or another ring-all leg answered first): hang it up."""
    if state.phase == P.TALKING and event.channel in (None, state.agent_channel):
        return state, []
    leg = state.consult
    if state.phase == P.TALKING and leg is not None and event.channel == leg.channel \
            and not leg.answered:
        return consult.consult_answered(state, now)
    return state, [Hangup(event.channel or state.agent_channel)]


def queued_answer(state: CallState, event: AgentAnswered, now: datetime) -> Result:
    """QUEUED: a leg answered: the first ringing one is bridged, the rest hung up."""
    leg = _ringing_leg(state, event.channel)
    if leg is None:  # withdrawn, or an older attempt's leg: it answered too late
        return state, [Hangup(event.channel or state.agent_channel, "normal")]
    if state.connect_by is not None and now > state.connect_by:
        return _abandon(state)  # connected this late, the call counts as abandoned anyway
    others = tuple(other for other in state.ringing if other != leg)
    state = replace(state, phase=P.TALKING, agent_alive=True, agent_dialed=False, ringing=(),
                    answered_at=state.answered_at or now,  # a transferred call: the first
                    agent_endpoint=leg.agent_endpoint, dial=leg.dial,
                    attempt=attempt_of_agent_channel(leg.channel))
    # The others are not reported one by one: "answered" makes the ACD withdraw them as
    # answered elsewhere (no missed offer); their CancelOffers then find nothing ringing.
    return state, [
        StopMoh(state.call_id), CreateBridge(state.bridge_id),
        AddToBridge(state.bridge_id, (state.call_id, leg.channel)), *_hangups(others),
        SaveCall(state), QueueNotify(state.call_id, "answered", leg.agent_endpoint),
    ]


def leg_gone(state: CallState, event: LegGone, now: datetime) -> Result:
    if event.leg == "caller":
        if not state.caller_alive:
            return state, []
        queued = state.phase == P.QUEUED
        state = replace(_end(state, event, now), caller_alive=False)
        if queued:
            note: list[Out] = [QueueNotify(state.call_id, "caller_left", state.agent_endpoint)]
            state, cmds = _close(state)
            return state, [*note, *cmds]
    elif state.consult is not None and event.channel == state.consult.channel:
        return consult.consult_gone(state, now)
    elif state.ringing:
        return _ringing_leg_gone(state, event)
    else:
        if not (state.agent_alive or state.agent_dialed):
            return state, []
        if event.channel is not None and event.channel != state.agent_channel:
            return state, []  # an earlier attempt's leg
        if state.consult is not None and state.consult.answered and state.caller_alive:
            # the agent hung up during an answered consultation: the caller is handed over
            return consult.complete_consult(replace(state, agent_alive=False), None, now)
        if state.phase == P.DIALING and state.caller_alive and state.failover \
                and event.cause in FAILOVER_CAUSES:
            return _fail_over(state)
        if state.phase == P.DIALING and state.caller_alive and state.fallback_queue:
            return tr.transfer_unanswered(state)  # a transfer to a number: back to the queue
        if state.phase in (P.DIALING, P.TALKING):
            # In DIALING: no answer, busy or unreachable; the caller is released.
            state = _end(state, event, now)
        state = replace(state, agent_alive=False, agent_dialed=False)
    return _close(state)


def _fail_over(state: CallState) -> Result:
    """The way out failed before answer: dial the route's next trunk as a new leg (the
    caller keeps hearing ringback; the record names the trunk that carried the call)."""
    nxt, rest = state.failover[0], state.failover[1:]
    state = replace(state, attempt=state.attempt + 1, dial=nxt, failover=rest,
                    trunk=nxt.rpartition("@")[2], agent_alive=False, agent_dialed=False)
    state, cmds = _dial(state)
    return state, [SaveCall(state), *cmds]


def _ringing_leg_gone(state: CallState, event: LegGone) -> Result:
    """An agent leg of a queued call (QUEUED, or ENDING while its legs go) left."""
    leg = _ringing_leg(state, event.channel)
    if leg is None:
        return state, []  # a leg that no longer rings for the call (withdrawn, older attempt)
    state = _drop_legs(state, (leg,))
    if state.phase == P.QUEUED:
        # This offer failed (no answer, busy, unreachable): only its agent is reported;
        # the other legs ring on, and the queue offers again when none is left.
        return state, [QueueNotify(state.call_id, "failed", leg.agent_endpoint, event.cause)]
    if not state.caller_alive and not state.agent_alive and not state.ringing:
        state = replace(state, phase=P.ENDED)
        return state, [SaveCall(state)]
    return state, []  # the caller's or the other legs' hang-ups are still on their way
