"""Agent commands from the panel, carried out by the daemon's ACD, with a reply.

Theory of operation: the panel appends one ``acd.agent`` entry to the command stream
(:func:`controlplane.bus.send_agent_command`; the names and the entry's fields are in
:mod:`controlplane.bus`)::

    {"cmd": "acd.agent", "tenant_id": 1, "actor_id": 7, "user_id": 7, "command": "break",
     "reason": "2", "by": null, "reply": "centrala:reply:<uuid4>", "deadline": 1.8e9}

and waits on the reply key with ``BLPOP``. The daemon's command reader calls
:func:`handle`, which runs ``QueueService.agent_command`` and ``LPUSH``-es the
JSON result to the reply key (kept 30 s, so an unread reply does not stay).
``deadline`` (epoch seconds, the panel's give-up time) stops a command that
reaches a slow or restarting daemon after the panel already told the user
"control plane not answering" from being carried out anyway.

``actor_id`` is the panel user acting: the daemon carries a command out only if that user
may (:mod:`controlplane.security.command_rules`), and writes the agent log's ``by`` from
that user, not from the entry.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Protocol

import redis.asyncio as aioredis

from controlplane.bus import AGENT_ACTIONS, REPLY_PREFIX, REPLY_TTL_S, BadCommand

log = logging.getLogger(__name__)


class _Acd(Protocol):
    async def agent_command(
        self,
        tenant_id: int,
        user_id: int,
        command: str,
        reason: str | None = None,
        *,
        by: str | None = None,
        workstation: str | None = None,
    ) -> Any: ...


def _field(command: dict[str, Any], name: str, kind: type) -> Any:
    value = command.get(name)
    if kind is int and isinstance(value, bool):  # bool is an int to Python, not to us
        value = None
    if not isinstance(value, kind):
        raise BadCommand(f"field {name!r}: expected {kind.__name__}, got {value!r}")
    return value


def _optional_str(command: dict[str, Any], name: str) -> str | None:
    value = command.get(name)
    if value is not None and not isinstance(value, str):
        raise BadCommand(f"field {name!r}: expected a string or null, got {value!r}")
    return value


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "status": None, "reason": None, "code": code, "message": message}


async def _run(command: dict[str, Any], acd: _Acd) -> dict[str, Any]:
    deadline = command.get("deadline")
    if isinstance(deadline, int | float) and time.time() > deadline:
        return _failure("expired", "the command arrived after the panel stopped waiting")
    tenant_id = _field(command, "tenant_id", int)
    user_id = _field(command, "user_id", int)
    name = _field(command, "command", str)
    if name not in AGENT_ACTIONS:
        raise BadCommand(f"field 'command': unknown agent command {name!r}")
    result = await acd.agent_command(
        tenant_id,
        user_id,
        name,
        _optional_str(command, "reason"),
        by=_optional_str(command, "by"),
    )
    return {
        "ok": bool(result.ok),
        "status": result.status,
        "reason": result.reason,
        "code": result.code,
        "message": result.message,
    }


async def handle(command: dict[str, Any], acd: _Acd, redis: aioredis.Redis) -> dict[str, Any]:
    """Run one ``acd.agent`` command on the live ACD and push its result to the reply key.

    Never raises for a bad or failing command: the failure is the reply
    (``code`` ``bad_command`` | ``expired`` | ``error``), so the panel shows it
    instead of waiting for its timeout. A reply key outside ``centrala:reply:``
    is ignored (the stream must not be a way to write arbitrary keys).
    """
    try:
        body = await _run(command, acd)
    except BadCommand as err:
        body = _failure("bad_command", str(err))
    except Exception as err:  # noqa: BLE001 - the panel gets the error instead of a timeout
        log.exception("agent command %s failed", command)
        body = _failure("error", f"{type(err).__name__}: {err}")
    await push_reply(redis, command, body)
    return body


async def push_reply(redis: aioredis.Redis, command: dict[str, Any], body: dict[str, Any]) -> None:
    """Push ``body`` to the command's reply key (kept ``REPLY_TTL_S``); a key outside
    ``centrala:reply:`` is ignored, so the stream is no way to write arbitrary keys."""
    reply = command.get("reply")
    if isinstance(reply, str) and reply.startswith(REPLY_PREFIX):
        pipe = redis.pipeline(transaction=True)
        pipe.lpush(reply, json.dumps(body))
        pipe.expire(reply, REPLY_TTL_S)
        await pipe.execute()
    else:
        log.warning("command %s without a valid reply key: %r", command.get("cmd"), reply)
