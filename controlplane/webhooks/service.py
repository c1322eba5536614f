"""The daemon's webhook dispatcher loop: :func:`dispatch.tick` every second, in a thread.

Only the daemon runs it (one dispatcher per platform: the fan-out is not meant to run
twice at once); the panel imports nothing from here (``web-not-daemon`` contract).
"""

from __future__ import annotations

import asyncio
import logging

from rq import Queue
from sqlalchemy.orm import Session, sessionmaker

from controlplane.live import raise_if_cancelled
from controlplane.models.base import utcnow
from controlplane.webhooks.dispatch import PRUNE_EVERY, tick

log = logging.getLogger(__name__)

TICK_EVERY_S = 1.0


class WebhookDispatcher:
    """Runs the sweep until cancelled; a failing tick is logged and the loop goes on."""

    def __init__(self, factory: sessionmaker[Session], queue: Queue,
                 every_s: float = TICK_EVERY_S) -> None:
        self.factory, self.queue, self.every_s = factory, queue, every_s

    async def run(self) -> None:
        pruned_at = None
        while True:
            try:
                now = utcnow()
                prune = pruned_at is None or now - pruned_at >= PRUNE_EVERY
                await asyncio.to_thread(tick, self.factory, self.queue, now, prune=prune)
                if prune:
                    pruned_at = now
            except Exception:  # noqa: BLE001 - a database or Redis hiccup must not end it
                raise_if_cancelled()
                log.exception("webhook dispatch failed")
            await asyncio.sleep(self.every_s)
