"""Leftovers of a live AMD detection that its process did not live to tear down.

A detection (``controlplane.amd_live``) creates, on a campaign call ``<id>``, snoop channels
``<id>-amd-snoop`` / ``<id>-amd-ref``, an external-media channel ``<id>-amd-media`` and a
mixing bridge ``<id>-amd-bridge``, and removes them before it returns. A control plane
killed mid-detection leaves them in Asterisk: a snoop still taps the customer, the
external-media channel waits for a websocket nobody will open, the bridge lives forever.

At every (re)connect, after the calls were reconciled, :func:`sweep` removes every such
object whose call is not detecting in this process now: a call still in phase AMD here has
its detection running (a reconnect without a restart, or a call answered since); any other
owner (ended, adopted out of AMD, unknown) left orphans. The campaign call itself is
handled by its own adoption (``campaign_glue.CampaignCalls.adopt``: its verdict was lost, so
the person hears the abandon message).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from controlplane.calls.machine import Phase
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
# the suffixes of amd_live.object_ids
AMD_OBJECT = re.compile(r"^(?P<owner>.+)-amd-(?P<kind>snoop|ref|media|bridge)$")


def owner_of(object_id: str) -> str | None:
    """``<call>-amd-snoop`` (or -ref, -media, -bridge) → ``<call>``; anything else → None."""
    found = AMD_OBJECT.match(object_id)
    return found["owner"] if found else None


def orphans(channel_ids: Iterable[str], bridge_ids: Iterable[str],
            detecting: Callable[[str], bool]) -> tuple[list[str], list[str]]:
    """(channels to hang up, bridges to destroy): AMD objects whose call is not ``detecting``."""
    def pick(ids: Iterable[str]) -> list[str]:
        return sorted(i for i in ids if (o := owner_of(i)) is not None and not detecting(o))

    return pick(channel_ids), pick(bridge_ids)


async def sweep(service: CallService, channels: dict[str, Any]) -> None:
    """Hang up / destroy the orphan AMD objects in Asterisk (channels first, so no bridge is
    destroyed with a channel still in it). ``channels`` is reconcile's ``GET /channels``."""
    try:
        bridges = [b["id"] for b in await service.engine.bridges()]
    except AriError as err:  # the next reconnect sweeps again
        log.warning("AMD leftovers not looked for: %s", err)
        return

    def detecting(owner: str) -> bool:
        state = service.calls.get(owner)
        return state is not None and state.phase == Phase.AMD

    lost_channels, lost_bridges = orphans(channels, bridges, detecting)
    for ch in lost_channels:
        log.warning("orphan AMD channel %s: hanging up", ch)
        await service.execute(c.Hangup(ch))  # 404: it went meanwhile, which is as good
    for b in lost_bridges:
        log.warning("orphan AMD bridge %s: destroying", b)
        await service.execute(c.DestroyBridge(b))
