"""A running IVR call as plain JSON data, and how to take it up again after a restart.

The interpreter is pure, so a call's place in its flow is entirely its :class:`IvrState`
(and, inside a sub-flow, the states of the flows that called it). :func:`dump` turns a
call's stack of states into JSON-safe data; :func:`load` builds the states again from that
data and the parsed flows (looked up by the flow *version id* each frame started on, so a
redeploy meanwhile changes nothing for the call); :func:`resume` gives the commands that take
the call up at the node where it was.

What resuming means, node by node (the old process's timers, playbacks and requests are
gone with it):

    phase      on resume
    ---------  ------------------------------------------------------------
    PROMPT     stop what still plays, enter the node again (its prompt again)
    INPUT      enter the node again: a menu or collect prompt is replayed and
               its keys counted afresh (barge-in lets the caller answer at once)
    HTTP       enter the node again: the request is sent again
    RECORDING  stop the recording in progress, enter the node again
    NEW, DONE,
    SUBFLOW    not resumable (nothing started yet, already over, or a child
               that was never stored): the caller is routed as for no flow

The call's max-time timer starts again with the time that was left (``deadline`` is
absolute), so a restart never lengthens a call's stay in the IVR.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from . import runtime as rt
from .commands import Command, StartTimer, StopPlayback, StopRecording
from .model import Flow
from .runtime import IvrState, Phase

FORMAT = 1
RESUMABLE = frozenset({Phase.PROMPT, Phase.INPUT, Phase.HTTP, Phase.RECORDING})

# IvrState fields stored as they are (JSON scalars); flow and calendars are not stored.
_PLAIN = ("scope", "depth", "language", "voice", "call_id", "caller_id", "node_id", "seq",
          "timer", "max_timer", "pending", "digits", "retries", "overtime", "outcome")


class SnapshotError(ValueError):
    """Stored data that cannot be taken up (unknown format, a flow version gone, bad data)."""


def dump_state(state: IvrState) -> dict[str, Any]:
    """One frame: everything of ``state`` but the parsed flow (its version id stands for it)
    and the tenant's calendars (read again on resume)."""
    data: dict[str, Any] = {name: getattr(state, name) for name in _PLAIN}
    data.update(
        version_id=state.version_id,
        phase=state.phase.value,
        deadline=state.deadline.isoformat() if state.deadline is not None else None,
        playing=list(state.playing),
        variables=dict(state.variables),
    )
    return data


def load_state(data: Mapping[str, Any], flow: Flow,
               calendars: Mapping[str, frozenset[date]]) -> IvrState:
    """The frame ``data`` (from :func:`dump_state`) over ``flow`` again."""
    try:
        deadline = data["deadline"]
        state = IvrState(
            flow=flow,
            version_id=str(data["version_id"]),
            calendars=dict(calendars),
            phase=Phase(data["phase"]),
            deadline=datetime.fromisoformat(deadline) if deadline is not None else None,
            playing=tuple(str(p) for p in data["playing"]),
            variables=dict(data["variables"]),
            **{name: data[name] for name in _PLAIN},
        )
    except (KeyError, TypeError, ValueError) as err:
        raise SnapshotError(f"unreadable IVR frame: {err}") from err
    if state.node_id is not None and state.node_id not in flow.nodes:
        raise SnapshotError(f"node {state.node_id!r} is not in flow version {state.version_id}")
    return state


def dump(parents: list[IvrState] | tuple[IvrState, ...], state: IvrState,
         caller: str, did: str) -> dict[str, Any]:
    """The whole call: the calling flows (outermost first), the running one, caller and DID."""
    return {"format": FORMAT, "caller": caller, "did": did,
            "frames": [dump_state(s) for s in (*parents, state)]}


def version_ids(data: Mapping[str, Any]) -> list[str]:
    """The flow versions a stored call needs, outermost first."""
    try:
        return [str(frame["version_id"]) for frame in data["frames"]]
    except (KeyError, TypeError) as err:
        raise SnapshotError(f"unreadable IVR snapshot: {err}") from err


def load(data: Mapping[str, Any], flow_of: Callable[[str], Flow | None],
         calendars: Mapping[str, frozenset[date]]) -> tuple[list[IvrState], IvrState]:
    """(parents, running state) of a stored call; ``flow_of`` parses a flow version by id."""
    if data.get("format") != FORMAT:
        raise SnapshotError(f"unknown IVR snapshot format {data.get('format')!r}")
    states = []
    for frame, version_id in zip(data["frames"], version_ids(data), strict=True):
        flow = flow_of(version_id)
        if flow is None:
            raise SnapshotError(f"flow version {version_id} is gone")
        states.append(load_state(frame, flow, calendars))
    if not states:
        raise SnapshotError("IVR snapshot without frames")
    return states[:-1], states[-1]


def resumable(state: IvrState) -> bool:
    return state.phase in RESUMABLE and state.node_id is not None and state.deadline is not None


def resume(state: IvrState, now: datetime) -> tuple[IvrState, tuple[Command, ...]]:
    """Take the call up again at its node (see the table above). ``state`` must be
    :func:`resumable`; ``now`` is timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not resumable(state):
        raise SnapshotError(f"an IVR call in phase {state.phase.value} cannot be resumed")
    cmds: list[Command] = [StopPlayback(p) for p in state.playing]
    if state.phase is Phase.RECORDING and state.pending is not None:
        cmds.append(StopRecording(state.pending))
    state = replace(state, playing=(), timer=None, pending=None, digits="", max_timer=None)
    deadline, node_id = state.deadline, state.node_id
    assert deadline is not None and node_id is not None  # resumable()
    # Fresh ids (seq goes on): late events of the old playbacks and timers are then echoes
    # the machine ignores.
    state, max_id = rt.new_id(state, "max")
    cmds.append(StartTimer(max_id, max(0.0, (deadline - now).total_seconds())))
    state = rt.goto(replace(state, max_timer=max_id), node_id, now, cmds)
    return state, tuple(cmds)
