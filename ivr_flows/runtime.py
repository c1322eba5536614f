"""Node execution for the IVR interpreter (the transition table is in :mod:`ivr_flows.machine`).

Every function here is pure: it takes the state, appends commands to the
``cmds`` list local to one :func:`ivr_flows.machine.step` call and returns the
new state. Ids of playbacks, timers, HTTP requests and recordings are
``{call_id}-{scope}-{kind}{seq}``, unique within a call and its sub-flows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .commands import (
    CancelTimer,
    Command,
    EnqueueCall,
    FlowFinished,
    Hangup,
    HttpRequest,
    Play,
    RecordMessage,
    RequestCallback,
    SetLanguage,
    StartSubflow,
    StartTimer,
    StopPlayback,
    Transfer,
)
from .conditions import EvalContext, evaluate
from .model import (
    CallbackNode,
    CollectNode,
    ConditionNode,
    Flow,
    HangupNode,
    HttpNode,
    LanguageNode,
    MenuNode,
    PlayNode,
    Prompt,
    QueueNode,
    RecordNode,
    ReturnNode,
    SetNode,
    SubflowNode,
    TransferNode,
)
from .templates import parse, render_json

MAX_HOPS = 64  # non-waiting nodes in a row before the call is ended as a loop
OVERTIME_GRACE_S = 60.0  # time left for the on_max_time branch before a hard hangup
RECORDING_GRACE_S = 5.0  # beyond max_duration_s before the recording is stopped by us


class Phase(Enum):
    NEW = "new"
    PROMPT = "prompt"
    INPUT = "input"
    HTTP = "http"
    RECORDING = "recording"
    SUBFLOW = "subflow"
    DONE = "done"


@dataclass(frozen=True)
class IvrState:
    """One call in one flow. ``version_id`` is the flow version the call started on."""

    flow: Flow
    version_id: str
    calendars: Mapping[str, frozenset[date]]
    scope: str = "main"
    depth: int = 0
    deadline: datetime | None = None
    language: str = "pl-PL"
    voice: str = "pl"
    phase: Phase = Phase.NEW
    call_id: str = ""
    caller_id: str = ""
    node_id: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0
    playing: tuple[str, ...] = ()
    timer: str | None = None  # the current node's timer
    max_timer: str | None = None
    pending: str | None = None  # HTTP request id or recording name
    digits: str = ""
    retries: int = 0
    overtime: bool = False
    outcome: str | None = None


Cmds = list[Command]


# --- helpers -----------------------------------------------------------------


def new_id(state: IvrState, kind: str) -> tuple[IvrState, str]:
    seq = state.seq + 1
    return replace(state, seq=seq), f"{state.call_id}-{state.scope}-{kind}{seq}"


def local_time(state: IvrState, now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(state.flow.settings.timezone))


def variables_at(state: IvrState, now: datetime) -> dict[str, Any]:
    return {**state.variables, "now": local_time(state, now).strftime("%Y-%m-%d %H:%M")}


def render(text: str, state: IvrState, now: datetime) -> str:
    return parse(text).render(variables_at(state, now))[0]


def start_timer(state: IvrState, kind: str, seconds: float, cmds: Cmds) -> IvrState:
    state, timer_id = new_id(state, kind)
    cmds.append(StartTimer(timer_id, seconds))
    return replace(state, timer=timer_id)


def cancel_timer(state: IvrState, cmds: Cmds) -> IvrState:
    if state.timer is not None:
        cmds.append(CancelTimer(state.timer))
    return replace(state, timer=None)


def stop_playing(state: IvrState, cmds: Cmds) -> IvrState:
    cmds.extend(StopPlayback(p) for p in state.playing)
    return replace(state, playing=())


def current_node(state: IvrState) -> Any:
    return state.flow.nodes[state.node_id] if state.node_id is not None else None


def play(state: IvrState, prompt: Prompt, now: datetime, cmds: Cmds) -> IvrState:
    """Queue the prompt's playbacks and guard them with one timer; PROMPT phase."""
    if not prompt:
        return prompt_done(replace(state, phase=Phase.PROMPT), now, cmds)
    ids = []
    for item in prompt:
        state, playback_id = new_id(state, "play")
        ids.append(playback_id)
        voice = item.voice or state.voice
        if item.kind == "tts":
            text, dynamic = parse(item.value).render(variables_at(state, now))
            cmds.append(Play(playback_id, None, text, voice, state.language, dynamic))
        else:
            media = f"sound:{item.value}" if item.kind == "sound" else f"audio:{item.value}"
            cmds.append(Play(playback_id, media, None, voice, state.language, 0))
    guard = state.flow.settings.prompt_timeout_s * len(prompt)
    state = start_timer(
        replace(state, playing=tuple(ids), phase=Phase.PROMPT), "guard", guard, cmds
    )
    return state


def finish(state: IvrState, outcome: str, cmds: Cmds, final: Command | None = None) -> IvrState:
    state = cancel_timer(stop_playing(state, cmds), cmds)
    if state.max_timer is not None:
        cmds.append(CancelTimer(state.max_timer))
    if final is not None:
        cmds.append(final)
    cmds.append(FlowFinished(outcome, state.node_id, tuple(sorted(state.variables.items()))))
    return replace(state, phase=Phase.DONE, outcome=outcome, max_timer=None, pending=None)


# --- entering nodes ----------------------------------------------------------


def goto(state: IvrState, target: str | None, now: datetime, cmds: Cmds) -> IvrState:
    """Enter ``target`` and run non-waiting nodes until one waits or ends the call."""
    for _ in range(MAX_HOPS):
        if target is None or target not in state.flow.nodes:
            return finish(state, "error", cmds, Hangup("ivr_error"))
        node = state.flow.nodes[target]
        state = replace(state, node_id=target, retries=0, digits="", phase=Phase.PROMPT)
        match node:
            case SetNode(assignments=assignments, next=nxt):
                values = dict(state.variables)
                for name, value in assignments:
                    scratch = replace(state, variables=values)
                    values[name] = render(value, scratch, now) if isinstance(value, str) else value
                state, target = replace(state, variables=values), nxt
            case ConditionNode(branches=branches, otherwise=otherwise):
                ctx = EvalContext(
                    now=local_time(state, now),
                    holiday_country=state.flow.settings.holiday_country,
                    calendars=state.calendars,
                    caller_id=state.caller_id,
                    variables=variables_at(state, now),
                )
                target = next((b.next for b in branches if evaluate(b.when, ctx)), otherwise)
            case LanguageNode(language=language, voice=voice, next=nxt):
                voice = voice or language.split("-")[0].lower()
                cmds.append(SetLanguage(language, voice))
                variables = {**state.variables, "language": language}
                state = replace(state, language=language, voice=voice, variables=variables)
                target = nxt
            case CallbackNode(queue=queue, number=number, note=note, next=nxt):
                cmds.append(
                    RequestCallback(render(number, state, now), queue, render(note, state, now))
                )
                target = nxt
            case PlayNode(prompt=prompt) | MenuNode(prompt=prompt) | CollectNode(prompt=prompt):
                return play(state, prompt, now, cmds)
            case RecordNode(prompt=prompt):
                return play(state, prompt, now, cmds)
            case HttpNode():
                return start_http(state, node, now, cmds)
            case SubflowNode():
                return start_subflow(state, node, now, cmds)
            case QueueNode():
                return finish(state, "queued", cmds, enqueue(state, node, now))
            case TransferNode(to=to, target=dest):
                return finish(state, "transferred", cmds, Transfer(to, render(dest, state, now)))
            case HangupNode(cause=cause):
                return finish(state, "hangup", cmds, Hangup(cause))
            case ReturnNode():
                return finish(
                    state, "returned", cmds, Hangup("normal") if state.depth == 0 else None
                )
    return finish(state, "error", cmds, Hangup("ivr_loop"))


def enqueue(state: IvrState, node: QueueNode, now: datetime) -> EnqueueCall:
    priority = node.priority
    if isinstance(priority, str):
        try:
            priority = int(float(render(priority, state, now)))
        except ValueError:
            priority = 0
    skills = tuple(s for s in (render(skill, state, now).strip() for skill in node.skills) if s)
    variables = tuple(sorted(state.variables.items()))
    return EnqueueCall(node.queue, max(0, min(100, priority)), skills, variables)


def start_http(state: IvrState, node: HttpNode, now: datetime, cmds: Cmds) -> IvrState:
    variables = variables_at(state, now)
    url = parse(node.url).render(variables, quote=lambda v: quote(v, safe=""))[0]
    headers = tuple((k, parse(v).render(variables)[0]) for k, v in node.headers)
    body = render_json(node.body, variables)
    state, request_id = new_id(state, "http")
    cmds.append(HttpRequest(request_id, node.method, url, headers, body, node.timeout_s))
    state = start_timer(state, "http", node.timeout_s, cmds)
    return replace(state, phase=Phase.HTTP, pending=request_id)


def start_recording(state: IvrState, node: RecordNode, cmds: Cmds) -> IvrState:
    state, name = new_id(state, "rec")
    cmds.append(RecordMessage(name, node.max_duration_s, node.beep, node.terminator or "none"))
    state = start_timer(state, "record", node.max_duration_s + RECORDING_GRACE_S, cmds)
    return replace(state, phase=Phase.RECORDING, pending=name)


def start_subflow(state: IvrState, node: SubflowNode, now: datetime, cmds: Cmds) -> IvrState:
    # The child owns the clock until it returns: hand it the deadline, drop ours.
    if state.max_timer is not None:
        cmds.append(CancelTimer(state.max_timer))
    inputs = tuple((name, state.variables.get(name)) for name in node.inputs)
    assert state.deadline is not None
    cmds.append(StartSubflow(node.flow, inputs, state.deadline, state.language, state.voice))
    return replace(state, phase=Phase.SUBFLOW, max_timer=None)


def prompt_done(state: IvrState, now: datetime, cmds: Cmds) -> IvrState:
    state = cancel_timer(replace(state, playing=()), cmds)
    node = current_node(state)
    match node:
        case PlayNode(next=nxt):
            return goto(state, nxt, now, cmds)
        case MenuNode(timeout_s=timeout) | CollectNode(timeout_s=timeout):
            return start_timer(replace(state, phase=Phase.INPUT), "input", timeout, cmds)
        case RecordNode():
            return start_recording(state, node, cmds)
    return state


def retry(state: IvrState, reason: str, now: datetime, cmds: Cmds) -> IvrState:
    node = current_node(state)
    retries = state.retries + 1
    if retries > node.max_retries:
        return goto(state, node.fallback, now, cmds)
    extra = node.invalid_prompt if reason == "invalid" else node.no_input_prompt
    state = replace(state, retries=retries, digits="")
    return play(state, extra + node.prompt, now, cmds)


def menu_key(state: IvrState, digit: str, now: datetime, cmds: Cmds) -> IvrState:
    state = cancel_timer(state, cmds)
    for key, target in current_node(state).options:
        if key == digit:
            return goto(state, target, now, cmds)
    return retry(state, "invalid", now, cmds)


def collect_key(state: IvrState, digit: str, now: datetime, cmds: Cmds) -> IvrState:
    node: CollectNode = current_node(state)
    state = cancel_timer(state, cmds)
    if node.terminator and digit == node.terminator:
        return collect_done(state, now, cmds)
    state = replace(state, digits=state.digits + digit, phase=Phase.INPUT)
    if len(state.digits) >= node.max_digits:
        return collect_done(state, now, cmds)
    return start_timer(state, "input", node.inter_digit_timeout_s, cmds)


def collect_done(state: IvrState, now: datetime, cmds: Cmds) -> IvrState:
    node: CollectNode = current_node(state)
    digits = state.digits
    ok = node.min_digits <= len(digits) <= node.max_digits
    if ok and node.pattern is not None:
        ok = re.fullmatch(node.pattern, digits) is not None
    if not ok:
        return retry(state, "invalid", now, cmds)
    state = replace(state, variables={**state.variables, node.variable: digits})
    return goto(state, node.next, now, cmds)


def json_pointer(doc: Any, ptr: str) -> tuple[bool, Any]:
    if ptr == "":
        return True, doc
    for raw in ptr.split("/")[1:]:
        key = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, dict) and key in doc:
            doc = doc[key]
        elif isinstance(doc, list) and key.isdigit() and int(key) < len(doc):
            doc = doc[int(key)]
        else:
            return False, None
    return True, doc
