"""Pure IVR interpreter: ``step(state, event, now) -> (state, commands)``.

Theory of operation
-------------------
A call is an :class:`IvrState` made by :func:`new_call` for one parsed flow and
the flow *version id* it started on (a redeploy never changes a running call).
The state is in one phase; the table below says which events each phase takes.
Any other pair is ignored, as is an event whose id (playback, timer, request,
recording) is not the one the state waits for: those are late echoes of
something already cancelled.

    phase      event               -> what happens
    ---------  ------------------  --------------------------------------------
    NEW        CallEntered         start max-time timer, enter flow.start
    PROMPT     PlaybackFinished    last item done: menu/collect -> INPUT,
                                   record -> RECORDING, play -> next node
    PROMPT     DtmfReceived        barge-in: StopPlayback, key counts as input
    PROMPT     TimerFired          prompt guard ran out: treat as finished
    INPUT      DtmfReceived        menu choice / collect digit
    INPUT      TimerFired          no input (or end of entry for collect)
    HTTP       HttpResult          2xx with all fields -> next, else on_failure
    HTTP       TimerFired          request timeout -> on_failure
    RECORDING  RecordingFinished   variable = recording name -> next
    RECORDING  TimerFired          StopRecording -> next
    SUBFLOW    SubflowReturned     "returned": copy outputs -> next;
                                   other outcome: the child ended the call
    any live   TimerFired(max)     settings.on_max_time (once) or Hangup
    any live   CallHungUp          cancel everything, FlowFinished
    DONE       (anything)          ignored

No dead air: every waiting phase owns exactly one node timer (prompt guard,
input, HTTP, recording) besides the call's max-time timer; a sub-flow takes
the remaining time with it (``StartSubflow.deadline``). Nodes that do not wait
(set, condition, language, callback) run within the same step; more than
``MAX_HOPS`` of them in a row ends the call (the validator forbids such loops).

Node execution lives in :mod:`ivr_flows.runtime`; this module owns the
event handlers and the dispatch table ``TRANSITIONS`` (at the bottom, as it
refers to the handlers).

Driving it from ARI (the adapter executes commands, in order)
--------------------------------------------------------------
==================  ===========================================================
command             ARI / service action
==================  ===========================================================
Play                POST /channels/{ch}/play/{playback_id}?media=...; ``sound:``
                    as is, ``audio:ID`` -> the tenant upload's sound path, TTS ->
                    ``TtsEngine.synthesize(text, voice)`` then ``sound:<path>``;
                    bill ``billable_chars``. Playbacks queue on the channel.
StopPlayback        DELETE /playbacks/{playback_id}
StartTimer/Cancel   loop.call_later / handle.cancel -> TimerFired(timer_id)
HttpRequest         aiohttp with ``timeout_s`` -> HttpResult(request_id, ...)
RecordMessage       POST /channels/{ch}/record?name=..&format=wav&beep=..
                    &maxDurationSeconds=..&terminateOn=..&ifExists=fail
StopRecording       POST /recordings/live/{name}/stop
SetLanguage         POST /channels/{ch}/variable CHANNEL(language)=..
EnqueueCall         hand the channel to the queue service (end of IVR)
Transfer            number: originate + bridge (or continueInDialplan);
                    agent: queue service; flow: start a new machine
RequestCallback     create the callback record
StartSubflow        start a child machine with ``new_call(..., scope, depth,
                    deadline, language, voice)`` and CallEntered(variables);
                    route events to it; its FlowFinished -> SubflowReturned
Hangup              DELETE /channels/{ch}?reason_code=..
FlowFinished        store outcome/variables with the call record; drop machine
==================  ===========================================================

Events in: StasisStart -> CallEntered, PlaybackFinished -> PlaybackFinished,
ChannelDtmfReceived -> DtmfReceived, RecordingFinished/RecordingFailed ->
RecordingFinished, ChannelHangupRequest/StasisEnd -> CallHungUp.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from . import runtime as rt
from .commands import Command, Hangup, StartTimer, StopRecording
from .events import (
    CallEntered,
    CallHungUp,
    DtmfReceived,
    Event,
    HttpResult,
    PlaybackFinished,
    RecordingFinished,
    SubflowReturned,
    TimerFired,
)
from .model import CollectNode, Flow, HttpNode, MenuNode, PlayNode, RecordNode, SubflowNode
from .runtime import Cmds, IvrState, Phase

__all__ = ["IvrState", "Phase", "new_call", "step"]


def new_call(
    flow: Flow,
    *,
    version_id: str,
    calendars: Mapping[str, frozenset[date]] | None = None,
    scope: str = "main",
    depth: int = 0,
    deadline: datetime | None = None,
    language: str | None = None,
    voice: str | None = None,
) -> IvrState:
    """A fresh call state, waiting for :class:`~ivr_flows.events.CallEntered`.

    ``calendars`` maps tenant holiday calendar names to their dates. For a
    sub-flow pass ``scope`` (unique within the call), ``depth`` = parent + 1
    and the parent's ``StartSubflow`` deadline, language and voice.
    """
    return IvrState(
        flow=flow,
        version_id=version_id,
        calendars=dict(calendars or {}),
        scope=scope,
        depth=depth,
        deadline=deadline,
        language=language or flow.settings.language,
        voice=voice or flow.settings.voice,
    )


# --- event handlers ----------------------------------------------------------


def _on_call_entered(state: IvrState, event: CallEntered, now: datetime, cmds: Cmds) -> IvrState:
    flow = state.flow
    variables = {**dict(flow.variables), **dict(event.variables)}
    variables.update(
        caller_id=event.caller_id, did=event.did, call_id=event.call_id, language=state.language
    )
    deadline = now + timedelta(seconds=flow.settings.max_duration_s)
    if state.deadline is not None:
        deadline = min(deadline, state.deadline)
    state = replace(
        state,
        call_id=event.call_id,
        caller_id=event.caller_id,
        variables=variables,
        deadline=deadline,
    )
    state, max_id = rt.new_id(state, "max")
    cmds.append(StartTimer(max_id, max(0.0, (deadline - now).total_seconds())))
    return rt.goto(replace(state, max_timer=max_id), flow.start, now, cmds)


def _on_playback_finished(
    state: IvrState, event: PlaybackFinished, now: datetime, cmds: Cmds
) -> IvrState:
    playing = tuple(p for p in state.playing if p != event.playback_id)
    if playing:
        return replace(state, playing=playing)
    return rt.prompt_done(replace(state, playing=()), now, cmds)


def _on_prompt_dtmf(state: IvrState, event: DtmfReceived, now: datetime, cmds: Cmds) -> IvrState:
    node = rt.current_node(state)
    if not getattr(node, "barge_in", False):
        return state
    state = rt.cancel_timer(rt.stop_playing(state, cmds), cmds)
    match node:
        case PlayNode(next=nxt):
            return rt.goto(state, nxt, now, cmds)
        case MenuNode():
            return rt.menu_key(replace(state, phase=Phase.INPUT), event.digit, now, cmds)
        case CollectNode():
            return rt.collect_key(replace(state, phase=Phase.INPUT), event.digit, now, cmds)
    return state


def _on_prompt_guard(state: IvrState, event: TimerFired, now: datetime, cmds: Cmds) -> IvrState:
    state = rt.stop_playing(replace(state, timer=None), cmds)
    return rt.prompt_done(state, now, cmds)


def _on_input_dtmf(state: IvrState, event: DtmfReceived, now: datetime, cmds: Cmds) -> IvrState:
    if isinstance(rt.current_node(state), MenuNode):
        return rt.menu_key(state, event.digit, now, cmds)
    return rt.collect_key(state, event.digit, now, cmds)


def _on_input_timeout(state: IvrState, event: TimerFired, now: datetime, cmds: Cmds) -> IvrState:
    state = replace(state, timer=None)
    if isinstance(rt.current_node(state), CollectNode) and state.digits:
        return rt.collect_done(state, now, cmds)
    return rt.retry(state, "no_input", now, cmds)


def _on_http_result(state: IvrState, event: HttpResult, now: datetime, cmds: Cmds) -> IvrState:
    node: HttpNode = rt.current_node(state)
    state = replace(rt.cancel_timer(state, cmds), pending=None)
    ok = event.error is None and event.status is not None and 200 <= event.status < 300
    values = {}
    for var, ptr in node.fields if ok else ():
        found, value = rt.json_pointer(event.json, ptr)
        if not found:  # a missing field would leave the variable unset downstream
            ok = False
            break
        values[var] = value
    if not ok:
        return rt.goto(state, node.on_failure, now, cmds)
    return rt.goto(replace(state, variables={**state.variables, **values}), node.next, now, cmds)


def _on_http_timeout(state: IvrState, event: TimerFired, now: datetime, cmds: Cmds) -> IvrState:
    node: HttpNode = rt.current_node(state)
    return rt.goto(replace(state, timer=None, pending=None), node.on_failure, now, cmds)


def _on_recording_finished(
    state: IvrState, event: RecordingFinished, now: datetime, cmds: Cmds
) -> IvrState:
    node: RecordNode = rt.current_node(state)
    state = replace(rt.cancel_timer(state, cmds), pending=None)
    value = event.name if event.error is None else None
    return rt.goto(
        replace(state, variables={**state.variables, node.variable: value}), node.next, now, cmds
    )


def _on_recording_timeout(
    state: IvrState, event: TimerFired, now: datetime, cmds: Cmds
) -> IvrState:
    node: RecordNode = rt.current_node(state)
    assert state.pending is not None
    cmds.append(StopRecording(state.pending))
    variables = {**state.variables, node.variable: state.pending}
    return rt.goto(
        replace(state, timer=None, pending=None, variables=variables), node.next, now, cmds
    )


def _on_subflow_returned(
    state: IvrState, event: SubflowReturned, now: datetime, cmds: Cmds
) -> IvrState:
    if event.outcome != "returned":  # the child queued, transferred or hung up the call
        return rt.finish(state, event.outcome, cmds)
    node: SubflowNode = rt.current_node(state)
    returned = dict(event.variables)
    variables = {**state.variables, **{name: returned.get(name) for name in node.outputs}}
    state = replace(state, variables=variables)
    deadline = state.deadline
    assert deadline is not None
    state, max_id = rt.new_id(state, "max")
    state = replace(state, max_timer=max_id)
    remaining = (deadline - now).total_seconds()
    if remaining <= 0:
        return _on_max_time(state, TimerFired(max_id), now, cmds)
    cmds.append(StartTimer(max_id, remaining))
    return rt.goto(state, node.next, now, cmds)


def _on_max_time(state: IvrState, event: TimerFired, now: datetime, cmds: Cmds) -> IvrState:
    state = rt.cancel_timer(rt.stop_playing(state, cmds), cmds)
    if state.phase is Phase.RECORDING and state.pending is not None:
        cmds.append(StopRecording(state.pending))
    state = replace(state, pending=None, max_timer=None)
    target = state.flow.settings.on_max_time
    if target is None or state.overtime:
        return rt.finish(state, "max_time", cmds, Hangup("max_time"))
    state, max_id = rt.new_id(replace(state, overtime=True), "max")
    cmds.append(StartTimer(max_id, rt.OVERTIME_GRACE_S))
    return rt.goto(replace(state, max_timer=max_id), target, now, cmds)


def _on_call_hung_up(state: IvrState, event: CallHungUp, now: datetime, cmds: Cmds) -> IvrState:
    # The channel is gone: nothing to stop on it, only our timers to cancel.
    return rt.finish(replace(state, playing=()), "caller_hangup", cmds)


Handler = Callable[[IvrState, Any, datetime, list[Command]], IvrState]

TRANSITIONS: dict[tuple[Phase, type], Handler] = {
    (Phase.NEW, CallEntered): _on_call_entered,
    (Phase.PROMPT, PlaybackFinished): _on_playback_finished,
    (Phase.PROMPT, DtmfReceived): _on_prompt_dtmf,
    (Phase.PROMPT, TimerFired): _on_prompt_guard,
    (Phase.INPUT, DtmfReceived): _on_input_dtmf,
    (Phase.INPUT, TimerFired): _on_input_timeout,
    (Phase.HTTP, HttpResult): _on_http_result,
    (Phase.HTTP, TimerFired): _on_http_timeout,
    (Phase.RECORDING, RecordingFinished): _on_recording_finished,
    (Phase.RECORDING, TimerFired): _on_recording_timeout,
    (Phase.SUBFLOW, SubflowReturned): _on_subflow_returned,
}


def _is_current(state: IvrState, event: Event) -> bool:
    """False for late echoes of cancelled playbacks, timers, requests and recordings."""
    match event:
        case PlaybackFinished(playback_id):
            return playback_id in state.playing
        case TimerFired(timer_id):
            return timer_id == state.timer
        case HttpResult(request_id):
            return request_id == state.pending
        case RecordingFinished(name):
            return name == state.pending
    return True


def step(state: IvrState, event: Event, now: datetime) -> tuple[IvrState, tuple[Command, ...]]:
    """Advance the call by one event at time ``now`` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if state.phase in (Phase.NEW, Phase.DONE) and not isinstance(event, CallEntered):
        return state, ()
    cmds: list[Command] = []
    if isinstance(event, CallHungUp):
        return _on_call_hung_up(state, event, now, cmds), tuple(cmds)
    if isinstance(event, TimerFired) and event.timer_id == state.max_timer:
        return _on_max_time(state, event, now, cmds), tuple(cmds)
    handler = TRANSITIONS.get((state.phase, type(event)))
    if handler is None or not _is_current(state, event):
        return state, ()
    return handler(state, event, now, cmds), tuple(cmds)
