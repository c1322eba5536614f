"""Events the IVR interpreter consumes (built by the ARI adapter / call service).

All are frozen dataclasses; ids in them echo the ids the interpreter put in its
commands, so a late event for something already cancelled is recognised and
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallEntered:
    """The call reached the flow (StasisStart, answered). ``variables`` override defaults."""

    call_id: str
    caller_id: str
    did: str
    variables: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class PlaybackFinished:
    """ARI ``PlaybackFinished`` (also sent for a playback that failed or was stopped)."""

    playback_id: str


@dataclass(frozen=True)
class DtmfReceived:
    """ARI ``ChannelDtmfReceived``; ``digit`` is one of 0-9, *, #, A-D."""

    digit: str


@dataclass(frozen=True)
class TimerFired:
    """A timer started with :class:`~ivr_flows.commands.StartTimer` ran out."""

    timer_id: str


@dataclass(frozen=True)
class HttpResult:
    """Outcome of an :class:`~ivr_flows.commands.HttpRequest`.

    ``status`` None with ``error`` set means no response (DNS, connect, timeout).
    ``json`` is the decoded body, or None when it was not JSON.
    """

    request_id: str
    status: int | None
    json: Any = None
    error: str | None = None


@dataclass(frozen=True)
class RecordingFinished:
    """ARI ``RecordingFinished`` or ``RecordingFailed`` (then ``error`` is set)."""

    name: str
    duration_s: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class SubflowReturned:
    """The sub-flow started by :class:`~ivr_flows.commands.StartSubflow` finished.

    ``outcome`` is the child's :class:`~ivr_flows.commands.FlowFinished` outcome
    ("returned" when it reached a return node; anything else means the child
    already ended the call) and ``variables`` its final variables.
    """

    outcome: str
    variables: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class CallHungUp:
    """The caller hung up (ARI ``ChannelHangupRequest`` / ``StasisEnd``)."""

    cause: str = "normal"


Event = (
    CallEntered
    | PlaybackFinished
    | DtmfReceived
    | TimerFired
    | HttpResult
    | RecordingFinished
    | SubflowReturned
    | CallHungUp
)
