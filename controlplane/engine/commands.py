"""Typed commands that pure machines emit and only the ARI adapter executes."""

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


@dataclass(frozen=True)
class AddToBridge(Command):
    bridge_id: str
    channel_ids: tuple[str, ...]


@dataclass(frozen=True)
class RecordBridge(Command):
    bridge_id: str
    name: str


@dataclass(frozen=True)
class Originate(Command):
    channel_id: str
    endpoint: str
    app_args: str
    caller_id: str
    timeout_s: int
    headers: tuple[tuple[str, str], ...] = ()


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
