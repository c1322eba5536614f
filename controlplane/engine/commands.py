"""Typed commands that pure machines emit and only the engine's executor turns into ARI requests.

Every Asterisk action of the control plane is one of these frozen dataclasses;
:class:`controlplane.engine.executor.Executor` is the one place that knows the ARI
resource each one becomes. Ids are chosen by the caller (derived from the call id), so
a restarted daemon finds every object again with reads alone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    pass


@dataclass(frozen=True)
class Answer(Command):
    channel_id: str


@dataclass(frozen=True)
class Play(Command):
    channel_id: str
    media: str
    playback_id: str


@dataclass(frozen=True)
class StartRinging(Command):
    channel_id: str


@dataclass(frozen=True)
class StopRinging(Command):
    channel_id: str


@dataclass(frozen=True)
class CreateBridge(Command):
    bridge_id: str
    type: str = "mixing"  # e.g. "mixing,dtmf_events" so keys pressed in a call still arrive
    name: str | None = None  # None: the bridge id


@dataclass(frozen=True)
class AddToBridge(Command):
    bridge_id: str
    channel_ids: tuple[str, ...]


@dataclass(frozen=True)
class RecordBridge(Command):
    bridge_id: str
    name: str


@dataclass(frozen=True)
class StopPlayback(Command):
    playback_id: str


@dataclass(frozen=True)
class RecordChannel(Command):
    """Record what a channel hears from its party (an IVR's voice message)."""

    channel_id: str
    name: str
    max_duration_s: int = 0
    beep: bool = False
    terminate_on: str = "none"


@dataclass(frozen=True)
class StopLiveRecording(Command):
    name: str


@dataclass(frozen=True)
class SetChannelVar(Command):
    channel_id: str
    variable: str
    value: str


@dataclass(frozen=True)
class Snoop(Command):
    """A new channel ``snoop_id`` in ``app`` that hears ``channel_id`` (``spy``: in/out/both)."""

    channel_id: str
    snoop_id: str
    app: str
    spy: str = "in"
    whisper: str | None = None  # none/in/out/both: the snoop's own audio into the channel


@dataclass(frozen=True)
class ExternalMedia(Command):
    """A media channel (chan_websocket, server mode) in ``app``; the executor returns the
    channel's JSON, whose ``channelvars`` hold the websocket's connection id."""

    channel_id: str
    app: str
    format: str = "slin16"
    transport: str = "websocket"
    encapsulation: str = "none"
    connection_type: str = "server"
    direction: str = "both"


@dataclass(frozen=True)
class ContinueInDialplan(Command):
    channel_id: str
    context: str
    extension: str
    priority: int = 1


@dataclass(frozen=True)
class Originate(Command):
    """The one originate: calls' agent legs, campaign customers, preview agents, AMD probes.

    The channel enters Stasis app ``app`` (None: the control plane's own app) with
    ``app_args``; ``headers`` become PJSIP headers on the INVITE, ``variables`` channel
    variables."""

    channel_id: str
    endpoint: str
    app_args: str
    caller_id: str | None
    timeout_s: int
    headers: tuple[tuple[str, str], ...] = ()
    app: str | None = None
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Hangup(Command):
    channel_id: str
    reason: str = "normal"


@dataclass(frozen=True)
class DestroyBridge(Command):
    bridge_id: str


@dataclass(frozen=True)
class StartMoh(Command):
    channel_id: str


@dataclass(frozen=True)
class StopMoh(Command):
    channel_id: str


@dataclass(frozen=True)
class RemoveFromBridge(Command):
    bridge_id: str
    channel_id: str


@dataclass(frozen=True)
class Mute(Command):
    """Mute ``channel_id`` on the server (``direction`` in: what its party says is dropped)."""

    channel_id: str
    direction: str = "in"


@dataclass(frozen=True)
class Unmute(Command):
    channel_id: str
    direction: str = "in"
