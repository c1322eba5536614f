"""An agent's panel session ends while they hold chats (the panel's side).

Logging out of the panel, or an administrator ending the agent's sessions, leaves nobody
at the console: the chats they hold (or that are offered to them) must not wait for an
agent who cannot answer. So the panel asks the daemon to log the agent out of the ACD,
which hands every such chat back to its queue in front (``acd/live_chats.py``,
``ChatSteps.released``), tells the visitor, and logs the agent out at once. An agent
without chats keeps their ACD state (a desk-phone agent may work without the panel).
The daemon not answering is logged, not an error of the logout: the chats are then
handed back when the agent next logs out of the queues.

Whatever the chats, the user's open consoles are told at once: an entry on the user's own
stream (:data:`~controlplane.bus.USER_SESSIONS_KEY`), which the console reads beside the
events, makes it re-check its login now instead of at its next periodic check.
"""

from __future__ import annotations

import logging

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import USER_SESSIONS_KEY, ControlPlaneNotAnswering, send_agent_command
from controlplane.models.chat import Chat

log = logging.getLogger(__name__)

WAIT_S = 2.0  # the logout's answer waits at most this for the daemon


def sessions_key(user_id: int) -> str:
    return USER_SESSIONS_KEY.format(user_id=user_id)


def poke(client: redis.Redis, user_id: int) -> None:
    """Tell the user's open consoles their sessions ended (a lost poke: the periodic check)."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.xadd(sessions_key(user_id), {"data": '{"kind": "sessions_ended"}'}, maxlen=10,
                  approximate=True)
        pipe.expire(sessions_key(user_id), 3600)
        pipe.execute()
    except redis.RedisError as err:
        log.warning("user %s: consoles not told of the session's end: %s", user_id, err)


def chats_in_hand(s: Session, tenant_id: int, user_id: int) -> int:
    """Chats agent ``user_id`` holds or has been offered (the router's columns)."""
    return int(s.scalar(select(func.count()).select_from(Chat).where(
        Chat.tenant_id == tenant_id, Chat.agent_user_id == user_id,
        Chat.status.in_(("offered", "active")))) or 0)


def session_ended(client: redis.Redis, sessions: sessionmaker[Session], tenant_id: int,
                  user_id: int, *, actor_id: int, by: str | None = None) -> bool:
    """The agent's panel session ended (see the module docstring); True when their chats
    were handed back to the daemon."""
    poke(client, user_id)
    with sessions() as s:
        if not chats_in_hand(s, tenant_id, user_id):
            return False
    try:
        got = send_agent_command(client, tenant_id, user_id, "logout", by=by, timeout_s=WAIT_S,
                                 actor_id=actor_id)
    except (ControlPlaneNotAnswering, redis.RedisError) as err:
        log.warning("user %s left with chats in hand; the ACD not told: %s", user_id, err)
        return False
    if not got.get("ok"):
        log.warning("user %s left with chats in hand; the ACD said %s", user_id, got)
    return bool(got.get("ok"))
