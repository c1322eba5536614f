"""One small router for ARI events: each domain registers the events it owns.

Who owns what is declared, not branched on:

* a **StasisStart kind** (the first app argument: ``inbound``, ``agent``, ``campaign``…)
  belongs to the domain that originates or routes such channels;
* an **object id** of a playback or recording belongs to the domain that named it, either
  by a **suffix** (``<call>-prompt``, ``<call>-announce``) or by a **separator** that scopes
  the domain's own ids inside a call (the IVR's ``<call>~<id>``; an id holding a registered
  separator is that domain's whatever its end);
* any other **event type** (hang-ups, DTMF) has one handler, the call service.

A new domain adds a ``stasis.py`` that registers here; no other module changes.

Per-call ordering is the handlers' (each takes the call's lock); the router awaits nothing
but ``gate``: while it is clear (a reconnect's reconcile is loading the stored calls),
events wait, so a hang-up that arrives meanwhile finds its call (see
:mod:`controlplane.calls.reconcile`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from controlplane.engine import events as ev

log = logging.getLogger(__name__)

StartHandler = Callable[[ev.StasisStart], Awaitable[None]]
# (the id without its suffix, or the part before the separator; the event)
ObjectHandler = Callable[[str, ev.Event], Awaitable[None]]
EventHandler = Callable[[ev.Event], Awaitable[None]]
K = TypeVar("K")
H = TypeVar("H")
OBJECT_EVENTS = (ev.PlaybackFinished, ev.RecordingFinished, ev.RecordingFailed)


def object_id(event: ev.Event) -> str | None:
    """The playback or recording an event is about."""
    if isinstance(event, ev.PlaybackFinished):
        return event.playback_id
    if isinstance(event, ev.RecordingFinished | ev.RecordingFailed):
        return event.name
    return None


class StasisRouter:
    def __init__(self, unknown_start: StartHandler) -> None:
        self._kinds: dict[str, StartHandler] = {}
        self._suffixes: dict[str, ObjectHandler] = {}
        self._separators: dict[str, ObjectHandler] = {}
        self._types: dict[type[ev.Event], EventHandler] = {}
        self._unknown_start = unknown_start
        # ARI event types someone handles, kept as owners register: the events reader drops
        # the rest unparsed (``AriClient.run_events(wants=router.wanted)``).
        self.wanted: set[str] = set()
        self.gate = asyncio.Event()  # cleared while stored calls are adopted
        self.gate.set()

    # ---- registration (each owner once, at composition) ----
    def start_kind(self, kind: str, handler: StartHandler) -> None:
        self._claim(self._kinds, kind, handler)
        self.wanted.add(ev.StasisStart.__name__)

    def object_suffix(self, suffix: str, handler: ObjectHandler) -> None:
        self._claim(self._suffixes, suffix, handler)
        self.wanted.update(k.__name__ for k in OBJECT_EVENTS)

    def object_separator(self, separator: str, handler: ObjectHandler) -> None:
        self._claim(self._separators, separator, handler)
        self.wanted.update(k.__name__ for k in OBJECT_EVENTS)

    def event_type(self, kind: type[ev.Event], handler: EventHandler) -> None:
        self._claim(self._types, kind, handler)
        self.wanted.add(kind.__name__)

    @staticmethod
    def _claim(table: dict[K, H], key: K, handler: H) -> None:
        if key in table:
            raise ValueError(f"{key!r} is already owned")
        table[key] = handler

    # ---- dispatch ----
    async def dispatch(self, event: ev.Event) -> None:
        if not self.gate.is_set():
            await self.gate.wait()
        if isinstance(event, ev.StasisStart):
            kind = event.args[0] if event.args else ""
            await self._kinds.get(kind, self._unknown_start)(event)
        elif isinstance(event, OBJECT_EVENTS):
            oid = object_id(event) or ""
            found = self._owner_of(oid)
            if found is not None:
                await found[0](found[1], event)
        elif (handler := self._types.get(type(event))) is not None:
            await handler(event)

    def _owner_of(self, oid: str) -> tuple[ObjectHandler, str] | None:
        for sep, handler in self._separators.items():
            if sep in oid:
                return handler, oid.partition(sep)[0]
        for suffix, handler in self._suffixes.items():
            if oid.endswith(suffix):
                return handler, oid.removesuffix(suffix)
        return None
