"""Commands the IVR interpreter emits; only the ARI adapter / call service executes them.

See the module docstring of :mod:`ivr_flows.machine` for the ARI call each maps to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Play:
    """Play one prompt item on the channel; playbacks queue up in order.

    Exactly one of ``media`` (``sound:NAME`` or ``audio:UPLOAD_ID``) and
    ``tts_text`` is set. ``billable_chars`` is what this playback costs under
    the TTS billing rule in :mod:`ivr_flows.tts` (0 for non-TTS and for static
    TTS text, which is billed once per flow version instead).
    """

    playback_id: str
    media: str | None
    tts_text: str | None
    voice: str
    language: str
    billable_chars: int = 0


@dataclass(frozen=True)
class StopPlayback:
    """Stop a playback (barge-in, time limit)."""

    playback_id: str


@dataclass(frozen=True)
class StartTimer:
    timer_id: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    timer_id: str


@dataclass(frozen=True)
class HttpRequest:
    """Call the tenant's HTTP service; answer with :class:`~ivr_flows.events.HttpResult`."""

    request_id: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: Any
    timeout_s: float


@dataclass(frozen=True)
class EnqueueCall:
    queue: str
    priority: int
    skills: tuple[str, ...]
    variables: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Transfer:
    to: str  # "number" | "agent" | "flow"
    target: str


@dataclass(frozen=True)
class RecordMessage:
    """Record the caller; the recording ``name`` is kept with the call record."""

    name: str
    max_duration_s: int
    beep: bool
    terminate_on: str  # "#", "*" or "none"


@dataclass(frozen=True)
class StopRecording:
    name: str


@dataclass(frozen=True)
class RequestCallback:
    number: str
    queue: str
    note: str


@dataclass(frozen=True)
class SetLanguage:
    language: str
    voice: str


@dataclass(frozen=True)
class StartSubflow:
    """Run flow ``flow_id`` as a child machine until it finishes (see machine docs)."""

    flow_id: str
    variables: tuple[tuple[str, Any], ...]
    deadline: datetime
    language: str
    voice: str


@dataclass(frozen=True)
class Hangup:
    cause: str


@dataclass(frozen=True)
class FlowFinished:
    """The flow is over; always the last command. ``node_id`` is where it ended."""

    outcome: str  # queued, transferred, hangup, returned, max_time, caller_hangup, error
    node_id: str | None
    variables: tuple[tuple[str, Any], ...]


Command = (
    Play
    | StopPlayback
    | StartTimer
    | CancelTimer
    | HttpRequest
    | EnqueueCall
    | Transfer
    | RecordMessage
    | StopRecording
    | RequestCallback
    | SetLanguage
    | StartSubflow
    | Hangup
    | FlowFinished
)
