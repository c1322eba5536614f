"""The daemon's side of the job outbox: the loop that queues what Redis missed.

:mod:`controlplane.jobs.outbox` holds the outbox itself (synchronous: SQL and RQ), which the
panel imports too; this loop is asyncio, so it lives apart and only the daemon imports it
(the ``web-not-daemon`` import contract forbids it to the panel).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from rq import Queue
from sqlalchemy.orm import Session, sessionmaker

from controlplane.jobs.outbox import drain
from controlplane.live import raise_if_cancelled

log = logging.getLogger(__name__)

DRAIN_EVERY_S = 3.0


async def run_drain(factory: sessionmaker[Session], queues: Callable[[str], Queue],
                    every_s: float = DRAIN_EVERY_S) -> None:
    """The control plane's drain loop: ends only when cancelled."""
    while True:
        try:
            await asyncio.to_thread(drain, factory, queues)
        except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
            raise_if_cancelled()
            log.exception("outbox drain failed")
        await asyncio.sleep(every_s)
