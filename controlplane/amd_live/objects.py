"""The Asterisk objects of one detection (snoops, media channel, bridge) and their teardown.

Every object is named from the target channel id (:func:`~.result.object_ids`) and created
through the engine's executor; :meth:`DetectionObjects.drop` hangs up / destroys what was
created (channels first, so nobody is left in a deleted bridge), 404 being fine. Also the
small asyncio helpers a detection waits with.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from controlplane.amd_live.result import object_ids
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import Executor

log = logging.getLogger(__name__)

# Teardowns that outlive a cancelled detection (kept referenced until done).
_BACKGROUND: set[asyncio.Task[None]] = set()


class DetectionObjects:
    """What one detection created in Asterisk, in creation order, and its teardown."""

    def __init__(self, ari: Executor, channel_id: str) -> None:
        self.ari = ari
        self.ids = object_ids(channel_id)
        self.attempted: list[str] = []  # "channel:<id>" / "bridge:<id>", in creation order
        self.confirmed: set[str] = set()
        self.done: set[str] = set()

    async def create(self, kind: str, key: str, cmd: c.Command) -> Any:
        ref = f"{kind}:{self.ids[key]}"
        self.attempted.append(ref)
        result = await self.ari.run(cmd)
        self.confirmed.add(ref)
        return result

    async def drop(self, *keys: str) -> None:
        """Hang up / destroy the named objects (all when none named); 404 is fine."""
        wanted = (
            {f"{k}:{self.ids[n]}" for n in keys for k in ("channel", "bridge")} if keys else None
        )
        refs = [r for r in self.attempted if r not in self.done and (wanted is None or r in wanted)]
        channels = [r for r in refs if r.startswith("channel:")]
        bridges = [r for r in refs if r.startswith("bridge:")]
        for group in (channels, bridges):  # channels first: nobody is left in a deleted bridge
            await asyncio.gather(*(self._drop_one(r) for r in group))

    async def _drop_one(self, ref: str) -> None:
        kind, _, oid = ref.partition(":")
        cmd = c.Hangup(oid) if kind == "channel" else c.DestroyBridge(oid)
        for attempt in range(2):
            try:
                await self.ari.run(cmd)
                log.debug("AMD teardown: %s gone", ref)
                break
            except AriError as err:
                log.debug("AMD teardown: %s -> %s", ref, err.status)
                if err.status != 404:
                    log.warning("AMD teardown of %s failed: %s", ref, err)
                    break
                # Created by a request that was cut short? It may still appear: look once more.
                if ref in self.confirmed or attempt:
                    break
                await asyncio.sleep(0.3)
        self.done.add(ref)


async def shielded(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion even if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
    await asyncio.shield(task)


async def retry(fn: Callable[[], Awaitable[Any]], *, until: float,
                statuses: tuple[int, ...]) -> Any:
    """Call ``fn()`` until it stops failing with one of ``statuses`` (channel not in Stasis yet)."""
    while True:
        try:
            return await fn()
        except AriError as err:
            if err.status not in statuses or time.monotonic() > until:
                raise
        await asyncio.sleep(0.02)


async def channel_exists(ari: Executor, channel_id: str) -> bool:
    try:
        return await ari.channel_exists(channel_id)
    except AriError:  # Asterisk busy or unreachable: not proof that the party hung up
        return True
