"""Monthly API request counters, per user, against the tenant's limit (Redis).

Theory of operation: every request made with an API token adds one to the user's counter
for the current calendar month (UTC), ``centrala:web:api-requests:<tenant>:<user>:<YYYYMM>``
(:data:`controlplane.bus.API_REQUESTS_KEY`), with one ``INCR``; the key expires a week
after the month ends. When the count passes the tenant's ``api_monthly_limit`` the request
is refused (429 ``rate_limited``). Every answer to a token request says where the user
stands: ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (epoch
seconds when the month ends).

Requests of the panel's own pages (session cookie) are not counted: the packages sell
API calls to integrators, and the agent page's own polling must not use them up.

Why not flask-limiter: its windows are fixed lengths or moving, not calendar months, and
the limit here is per tenant, read with the token. A Redis ``INCR`` is the whole need.
When Redis is down the request goes through uncounted (logged): the panel already
depends on Redis for live state; refusing the API would turn a counter outage into an
API outage.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from controlplane import bus

log = logging.getLogger(__name__)

KEEP_AFTER_MONTH = timedelta(days=7)


@dataclass(frozen=True)
class Usage:
    limit: int
    used: int
    reset: int  # epoch seconds: the start of next month, UTC

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


def month_bounds(now: datetime) -> tuple[str, datetime]:
    """``YYYYMM`` of ``now`` (UTC) and the start of the next month."""
    now = now.astimezone(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return f"{now.year:04d}{now.month:02d}", nxt


def key(tenant_id: int, user_id: int, month: str) -> str:
    return bus.API_REQUESTS_KEY.format(tenant=tenant_id, user=user_id, month=month)


def count(client: Any, tenant_id: int, user_id: int, limit: int, now: datetime) -> Usage | None:
    """Count one request; the user's usage this month (None when Redis cannot count)."""
    month, reset = month_bounds(now)
    name = key(tenant_id, user_id, month)
    try:
        pipe = client.pipeline(transaction=False)
        pipe.incr(name)
        pipe.expireat(name, reset + KEEP_AFTER_MONTH)
        used = int(pipe.execute()[0])
    except Exception as err:  # redis.RedisError and connection errors: count later, not fail
        log.warning("API request not counted (Redis: %s)", type(err).__name__)
        return None
    return Usage(limit=limit, used=used, reset=int(reset.timestamp()))


def peek(client: Any, tenant_id: int, user_id: int, limit: int, now: datetime) -> Usage | None:
    """The user's usage this month without counting (for the tokens page)."""
    month, reset = month_bounds(now)
    try:
        raw = client.get(key(tenant_id, user_id, month))
    except Exception as err:
        log.warning("API usage unknown (Redis: %s)", type(err).__name__)
        return None
    return Usage(limit=limit, used=int(raw or 0), reset=int(reset.timestamp()))
