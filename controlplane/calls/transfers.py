"""Blind transfers of a talking call, asked from the panel: to a queue, to an agent (through
the call's queue, offered to that agent first) or to a number over the tenant's trunk.

Only a call whose caller is the customer can be transferred (inbound or campaign): on a
phone's own call out the "other leg" is the customer, and letting the agent go would hang
up on them. A number is routed like a phone's call out (the tenant's outbound routes) and
passes the toll-fraud guard first: a refusal is the agent's answer, the call goes on. The
machine's side is :mod:`controlplane.calls.machines.call_transfers`.

Every answer is a dict for the panel: ``{"ok": True, ...}`` or ``{"ok": False, "code",
"message"}`` with ``code`` one of not_found, not_talking, not_transferable, not_queued,
no_route, refused.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from controlplane.calls import routing, toll_guard
from controlplane.calls.machine import CallState, Phase, TransferToNumber, TransferToQueue

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
TRANSFERABLE = ("inbound", "campaign")


@dataclass(frozen=True)
class Target:
    """Where to: ``kind`` queue (``value`` its id), agent (a user id) or number (digits)."""

    kind: str
    value: str


def _no(code: str, message: str) -> dict[str, object]:
    return {"ok": False, "code": code, "message": message}


class Transfers:
    """A collaborator of :class:`CallService` (``calls.transfers``)."""

    def __init__(self, calls: CallService) -> None:
        self.svc = calls

    def _refusal(self, state: CallState | None, tenant_id: int) -> dict[str, object] | None:
        if state is None or state.tenant_id != tenant_id:
            return _no("not_found", "no such call")
        if state.phase != Phase.TALKING:
            return _no("not_talking", "only a call in progress with an agent can be transferred")
        if state.direction not in TRANSFERABLE:
            return _no("not_transferable", "only a customer's call (inbound or campaign) can "
                       "be transferred")
        return None

    async def transfer(self, call_id: str, tenant_id: int, target: Target,
                       by: str) -> dict[str, object]:
        if target.kind == "queue":
            return await self._to_queue(call_id, tenant_id, int(target.value), by)
        if target.kind == "agent":
            return await self._to_agent(call_id, tenant_id, target.value, by)
        return await self._to_number(call_id, tenant_id, target.value, by)

    async def _to_queue(self, call_id: str, tenant_id: int, queue_id: int,
                        by: str) -> dict[str, object]:
        svc = self.svc
        name = await asyncio.to_thread(routing.queue_name, svc.db, tenant_id, queue_id)
        if name is None:
            return _no("not_found", f"no queue {queue_id}")
        async with svc.lock(call_id):
            state = svc.calls.get(call_id)
            if (no := self._refusal(state, tenant_id)) is not None:
                return no
            await svc.feed(call_id, TransferToQueue(name, by))
        log.info("call %s transferred to queue %s by %s", call_id, name, by)
        return {"ok": True, "call_id": call_id, "queue": name}

    async def _to_agent(self, call_id: str, tenant_id: int, user_id: str,
                        by: str) -> dict[str, object]:
        """Through the call's queue: that agent is rung first; if they cannot take it now or
        let it ring out, the queue's agents are."""
        svc = self.svc
        async with svc.lock(call_id):
            state = svc.calls.get(call_id)
            if (no := self._refusal(state, tenant_id)) is not None:
                return no
            assert state is not None
            if state.queue is None:
                return _no("not_queued", "a call that came through no queue can be "
                           "transferred to a queue or a number, not to an agent")
            queue = state.queue
            await svc.feed(call_id, TransferToQueue(queue, by, agent=user_id))
        log.info("call %s transferred to agent %s (queue %s) by %s", call_id, user_id, queue, by)
        return {"ok": True, "call_id": call_id, "queue": queue, "agent": user_id}

    async def _to_number(self, call_id: str, tenant_id: int, number: str,
                         by: str) -> dict[str, object]:
        svc = self.svc
        dial, _ = await asyncio.to_thread(routing.transfer_target, svc.db, tenant_id,
                                          "number", number)
        trunk = toll_guard.trunk_of(dial)
        if dial is None or trunk is None:
            return _no("no_route", f"no outbound route takes {number}")
        async with svc.lock(call_id):
            if (no := self._refusal(svc.calls.get(call_id), tenant_id)) is not None:
                return no
            verdict = await svc.guard.check(call_id=call_id, tenant_id=tenant_id, trunk=trunk,
                                            number=number.lstrip("+"), via="transfer", actor=by)
            if not verdict.allowed:
                return _no("refused", verdict.reason)
            # no await between the guard's count and the state naming the new leg
            await svc.feed(call_id, TransferToNumber(dial, number, by))
        log.info("call %s transferred to %s over %s by %s", call_id, number, trunk, by)
        return {"ok": True, "call_id": call_id, "number": number}
