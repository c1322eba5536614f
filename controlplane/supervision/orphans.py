"""Supervision objects a dead daemon left in Asterisk: no snoop may keep tapping a customer.

Sessions live in the daemon's memory (:class:`~.service.SupervisionService`). A daemon killed
mid-session leaves its objects (``sv<id>-sv-phone`` / ``-snoop<n>`` / ``-bridge``, see
:mod:`.plan`) in Asterisk: a snoop still hears the call, the supervisor's phone still rings
or listens. Every time the supervision app (re)connects, :func:`sweep` hangs up / destroys
every such object whose session is not live in this process (after a restart: all of them)
and closes their rows (``end_reason`` restart), as ``calls/amd_orphans.py`` does for AMD's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.supervision import store
from controlplane.supervision.plan import owner_of

if TYPE_CHECKING:
    from controlplane.supervision.service import SupervisionService

log = logging.getLogger(__name__)


def orphans(channel_ids: Iterable[str], bridge_ids: Iterable[str],
            live: set[str]) -> tuple[list[str], list[str]]:
    """(channels to hang up, bridges to destroy): supervision objects of no ``live`` session
    (``live``: session keys, ``sv<id>``)."""
    def pick(ids: Iterable[str]) -> list[str]:
        return sorted(i for i in ids if (o := owner_of(i)) is not None and o not in live)

    return pick(channel_ids), pick(bridge_ids)


async def sweep(service: SupervisionService) -> None:
    """Remove the orphans (channels first) and close the rows of sessions not live here."""
    try:
        channels = [ch["id"] for ch in await service.engine.channels()]
        bridges = [b["id"] for b in await service.engine.bridges()]
    except AriError as err:  # the next reconnect sweeps again
        log.warning("supervision leftovers not looked for: %s", err)
        return
    lost_channels, lost_bridges = orphans(channels, bridges, service.live_keys())
    for ch in lost_channels:
        log.warning("orphan supervision channel %s: hanging up", ch)
        await service.quietly(c.Hangup(ch))
    for b in lost_bridges:
        log.warning("orphan supervision bridge %s: destroying", b)
        await service.quietly(c.DestroyBridge(b))
    try:
        closed = await asyncio.to_thread(store.end_stale, service.db, set(service.sessions))
    except Exception as err:  # noqa: BLE001 - the database may be busy; the next sweep retries
        log.warning("supervision rows not closed: %s", err)
        return
    if closed:
        log.info("supervision sessions closed after a restart: %s", closed)
