"""Collision detection: who else is viewing a ticket, or typing a reply to it, right now.

The ticket page's script says "I am here" (``viewing``) every few seconds, and ``typing``
while the reply box holds unsent text (``web/static/ticket_presence.js``). Each call
refreshes the user's entry for :data:`TTL_S`: a closed tab simply stops refreshing and
drops out within seconds, so nothing has to say goodbye. Two Redis keys per ticket
(:data:`controlplane.bus.DESK_PRESENCE_KEY`): a sorted set of user ids scored by when
their entry ends, and a hash of each user's name and state; both expire with the last
entry. The panel's own ``centrala:web:`` keys (its Redis user may write them).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from controlplane.bus import DESK_PRESENCE_KEY

TTL_S = 15
STATES = ("viewing", "typing")


@dataclass(frozen=True)
class Present:
    user_id: int
    name: str
    state: str

    def to_json(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "name": self.name, "state": self.state}


def _keys(tenant_id: int, ticket_id: int) -> tuple[str, str]:
    key = DESK_PRESENCE_KEY.format(tenant=tenant_id, ticket=ticket_id)
    return key, key + ":who"


def mark(r: Any, tenant_id: int, ticket_id: int, user_id: int, name: str, state: str,
         now: float | None = None) -> None:
    """``user_id`` is on the ticket (``state``: viewing or typing) for the next TTL_S."""
    assert state in STATES, state
    now = time.time() if now is None else now
    zkey, hkey = _keys(tenant_id, ticket_id)
    with r.pipeline() as pipe:
        pipe.zadd(zkey, {str(user_id): now + TTL_S})
        pipe.zremrangebyscore(zkey, "-inf", now)
        pipe.hset(hkey, str(user_id), json.dumps({"name": name, "state": state}))
        pipe.expire(zkey, TTL_S + 1)
        pipe.expire(hkey, TTL_S + 1)
        pipe.execute()


def others(r: Any, tenant_id: int, ticket_id: int, user_id: int | None,
           now: float | None = None) -> list[Present]:
    """Who else is on the ticket now (not ``user_id``), typing ones first."""
    now = time.time() if now is None else now
    zkey, hkey = _keys(tenant_id, ticket_id)
    ids = [i for i in r.zrangebyscore(zkey, now, "+inf") if i != str(user_id)]
    if not ids:
        return []
    out = []
    for uid, raw in zip(ids, r.hmget(hkey, ids), strict=True):
        if raw is None:
            continue
        doc = json.loads(raw)
        out.append(Present(int(uid), str(doc.get("name", "")), str(doc.get("state", ""))))
    return sorted(out, key=lambda p: (p.state != "typing", p.name))
