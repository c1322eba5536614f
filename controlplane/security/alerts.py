"""Security alerts on the ``centrala:alerts`` Redis stream, for the panel and operators.

An alert is first a ``security_event`` row (severity ``alert``, logged at WARNING by
:func:`controlplane.security.audit.record`); this publishes the same facts so a live
view can show it without polling the table. Publishing is best effort: the row is the
record, a Redis outage only costs the live notice. Entries are JSON under ``data``
(like ``centrala:commands``); the stream is capped at about :data:`MAXLEN` entries.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from controlplane.bus import ALERTS_STREAM

log = logging.getLogger("centrala.security")
MAXLEN = 10_000


def payload(kind: str, severity: str, source: str, detail: Mapping[str, object],
            at: datetime | None = None, tenant_id: int | None = None) -> dict[str, str]:
    """The stream entry: ``{"data": json}`` with kind, severity, tenant (None: platform-wide),
    source, detail and time. Every security alert (SIP bans, toll-fraud caps) uses it."""
    body: dict[str, Any] = {"kind": kind, "severity": severity, "tenant_id": tenant_id,
                            "source": source, "detail": dict(detail),
                            "at": (at or datetime.now(UTC)).isoformat()}
    return {"data": json.dumps(body, default=str)}


async def publish(client: aioredis.Redis, entry: dict[str, str]) -> bool:
    """XADD ``entry`` (from :func:`payload`); False (logged) when Redis is unreachable."""
    try:
        await client.xadd(ALERTS_STREAM, entry, maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]
        return True
    except (aioredis.RedisError, OSError) as err:
        log.warning("alert not published on %s: %s", ALERTS_STREAM, err)
        return False

