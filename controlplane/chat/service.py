"""The daemon's chat service: the ACD's chat connector, and the handlers of ``chat.*``.

Theory of operation
-------------------
Chats are routed by the live ACD (:class:`~controlplane.acd.service.QueueService`), like
calls, in the same queues; this one class is the chat side of that seam, in both
directions (the contract is ``controlplane/models/chat.py`` and :mod:`controlplane.bus`):

* commands in: ``chat.enqueue`` (the web side committed a waiting chat), ``chat.leave``
  (its visitor closed it), and the agent's ``chat.accept`` / ``decline`` / ``end`` /
  ``transfer`` (answered on the command's reply key with ``{"ok", "code", "message"}``)
  become ACD operations (``enqueue_chat``, ``chat_left``, ``chat_accepted`` …). The
  guard (:mod:`controlplane.security.command_rules`) has checked the actor and the chat's
  state in the database; the ACD checks the live offer again (the database may lag it).
* orders out: the ACD's chat orders (:data:`controlplane.acd.outputs.ChatOrder`) become a
  write of the chat row (:mod:`controlplane.chat.router_store`) and, after it, one event
  on ``centrala:events`` (``chat.offered``, ``chat.offer_withdrawn``, ``chat.assigned``,
  ``chat.requeued``, ``chat.ended``; each with ``tenant_id`` and ``chat_id``). The row is
  written first, so a console that reacts to ``chat.offered`` finds the chat offered.
* restart: :meth:`start` hands the chats the database says are open back to the ACD
  (waiting and offered ones wait again, active ones count in their agent's load).

The chat text never passes here: the web side writes messages and publishes them on the
chat's own stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane import bus
from controlplane.acd import outputs as out
from controlplane.acd.commands import push_reply
from controlplane.acd.exceptions import UnknownQueue
from controlplane.acd.live_chats import ChatResult
from controlplane.acd.service import QueueService
from controlplane.chat import router_store as store

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class ChatService:
    """The chat connector of the ACD and the daemon's ``chat.*`` handlers (module doc)."""

    def __init__(self, db: sessionmaker[Session], redis: aioredis.Redis,
                 acd: QueueService | None = None, clock: Callable[[], datetime] = _now) -> None:
        self.db, self.redis, self.acd, self.clock = db, redis, acd, clock

    # ---- the ACD's connector ----

    async def send_chat(self, order: out.ChatOrder) -> None:
        """Write the order to the chat row, then publish its event (nothing if it no longer
        fits). A database error propagates: the ACD feeds a failed offer back."""
        event = await asyncio.to_thread(store.apply, self.db, order, self.clock())
        if event is None:
            return
        fields = bus.event_fields(event.kind, tenant_id=order.tenant_id, chat_id=order.chat_id,
                                  at=self.clock().isoformat(), **event.payload)
        try:
            await self.redis.xadd(bus.EVENTS_STREAM, fields,  # type: ignore[arg-type]
                                  maxlen=bus.EVENTS_MAXLEN, approximate=True)
        except aioredis.RedisError as err:
            log.warning("chat event %s not published: %s", event.kind, err)

    # ---- restart ----

    async def start(self) -> None:
        """Give the ACD back every chat the database says is open."""
        if self.acd is None:
            return
        chats = await asyncio.to_thread(store.open_chats, self.db)
        for tenant_id, open_chats in chats.items():
            try:
                await self.acd.restore_chats(tenant_id, open_chats)
            except Exception:  # noqa: BLE001 - one tenant's chats must not stop the others
                log.exception("chats of tenant %s not restored", tenant_id)
        if chats:
            log.info("chats restored: %d", sum(len(c) for c in chats.values()))

    # ---- commands ----

    async def handle(self, got: bus.Received) -> None:
        """Carry out one ``chat.*`` command the guard let through."""
        c = got.command
        tenant_id, chat_id = int(c["tenant_id"]), int(c["chat_id"])
        acd = self.acd
        if acd is None:
            log.warning("command %s: no ACD in this process", got.name)
            return
        if got.name == "chat.enqueue":
            await self._enqueue(acd, tenant_id, chat_id)
            return
        if got.name == "chat.leave":
            await acd.chat_left(tenant_id, chat_id)
            return
        actor = c.get("actor_id")
        result = await self._agent(acd, got.name, tenant_id, chat_id, actor, c.get("target"))
        await push_reply(self.redis, c, _reply(result))

    async def _agent(self, acd: QueueService, name: str, tenant_id: int, chat_id: int,
                     actor: Any, target: Any) -> ChatResult:
        if name == "chat.transfer":
            return await acd.chat_transferred(tenant_id, chat_id, str(target or ""))
        if name == "chat.end":
            return await acd.chat_ended(tenant_id, chat_id, "agent")
        if not isinstance(actor, int):  # the admin stream may leave it out
            return ChatResult(False, "bad_command", "actor_id: the agent is needed")
        if name == "chat.accept":
            return await acd.chat_accepted(tenant_id, chat_id, actor)
        return await acd.chat_declined(tenant_id, chat_id, actor)

    async def _enqueue(self, acd: QueueService, tenant_id: int, chat_id: int) -> None:
        facts = await asyncio.to_thread(store.enqueue_facts, self.db, tenant_id, chat_id)
        if facts is None or facts.status != "waiting":
            return
        if facts.queue_id is not None:
            try:
                await acd.enqueue_chat(chat_id, tenant_id, facts.queue_id,
                                       customer=facts.customer)
                return
            except UnknownQueue:
                pass
        log.warning("chat %s of tenant %s has no queue: missed", chat_id, tenant_id)
        await self.send_chat(out.EndChat(tenant_id, chat_id, "missed", "system", "no_queue"))


def _reply(r: ChatResult) -> dict[str, Any]:
    return {"ok": r.ok, "code": r.code, "message": r.message}
