"""The call service's IVR part: start a flow on a call, route its events, act on its end."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from controlplane import audio_store, ivr_store
from controlplane.calls import machine, routing, toll_guard
from controlplane.calls.common import now
from controlplane.calls.ivr_resume import IvrPositions
from controlplane.calls.ivr_session import IvrSession, Terminal
from controlplane.db import transaction
from controlplane.models import CallbackRequest
from controlplane.tts import TtsMeter
from ivr_flows import commands as ic
from ivr_flows.model import Flow

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)


class IvrGlue:
    """Mixed into :class:`CallService`; every method runs with the call's lock held."""

    async def _start_ivr(self: CallService, call_id: str,
                         resume: tuple[dict[str, Any], dict[str, Flow]] | None = None) -> None:
        """Run the DID's flow (lock held). No flow or no TTS engine: ring the DID's phone.
        ``resume``: a stored position and its flows, to take the call up where it was."""
        plan = self._ivr_plan.get(call_id)
        state = self.calls[call_id]
        if plan is None or self.tts is None or self.http is None:
            await self._feed(call_id, machine.IvrFinished("no-flow", *self._fallback(call_id)))
            return
        version_id, flow, _ = plan

        async def run_locked(fn: Callable[[], Awaitable[None]]) -> None:
            async with self._locks[call_id]:
                if call_id in self._ivr:
                    await fn()

        async def on_finish(cmd: Terminal, variables: dict[str, Any]) -> None:
            await self._ivr_finished(call_id, cmd)

        tenant_id = state.tenant_id

        async def bill_tts(chars: int) -> None:
            """Dynamic TTS prompts bill their variable characters per call (FEATURES §3)."""
            if tenant_id is None:
                return

            def add() -> None:
                with transaction(self.db) as s:
                    TtsMeter().add(s, tenant_id, chars, now())

            try:
                await asyncio.to_thread(add)
            except Exception as err:  # noqa: BLE001 - billing must never drop a call
                log.warning("TTS usage of tenant %s not recorded: %s", tenant_id, err)

        def subflows(name: str) -> tuple[str, Flow] | None:
            if tenant_id is None:
                return None
            with self.db() as s:
                found = ivr_store.published_flow(s, tenant_id, name)
            return None if found is None else (str(found[0].id), found[1])

        def tenant_calendars() -> dict[str, frozenset[date]]:
            if tenant_id is None:
                return {}
            with self.db() as s:
                return ivr_store.calendars(s, tenant_id)

        def audio(name: str) -> str | None:
            if tenant_id is None:
                return None
            with self.db() as s:
                return audio_store.media_for(s, tenant_id, name)

        def store_callback(cmd: ic.RequestCallback) -> None:
            if tenant_id is None:
                return
            with transaction(self.db) as s:
                s.add(CallbackRequest(tenant_id=tenant_id, call_id=call_id, number=cmd.number,
                                      queue=cmd.queue, note=cmd.note[:500]))

        calendars = await asyncio.to_thread(tenant_calendars)
        session = IvrSession(call_id, flow, version_id, self.ari, self.http, self.tts,
                             run_locked, on_finish, bill_tts, subflows, calendars, audio,
                             store_callback, positions=IvrPositions(self.redis))
        self._ivr[call_id] = session
        if resume is not None:
            await session.resume(*resume)
        else:
            await session.start(state.caller, state.did or "")

    def _fallback(self: CallService, call_id: str) -> tuple[str | None, str | None, str | None]:
        plan = self._ivr_plan.get(call_id)
        state = self.calls.get(call_id)
        binding = plan[2] if plan else None
        if binding is None and state is not None:
            return state.dial, state.agent_endpoint, None
        return (binding.dial, binding.agent_endpoint, None) if binding else (None, None, None)

    async def _ivr_finished(self: CallService, call_id: str, cmd: Terminal) -> None:
        """The flow ended (lock held): connect the caller where it said, or hang up."""
        self._ivr.pop(call_id, None)
        state = self.calls.get(call_id)
        if state is None:
            return
        match cmd:
            case ic.EnqueueCall(queue=queue, priority=priority, skills=skills):
                if self.acd is not None:
                    event = machine.IvrFinished(f"queued:{queue}", queue=queue,
                                                priority=priority, skills=tuple(skills))
                else:  # no queue service in this process: ring the DID's phone
                    dial, agent, _ = self._fallback(call_id)
                    event = machine.IvrFinished(f"queued:{queue}", dial, agent)
            case ic.Transfer(to=to, target=target):
                dial, agent = await asyncio.to_thread(routing.transfer_target, self.db,
                                                      state.tenant_id, to, target)
                if dial is None:
                    log.warning("IVR %s: transfer to %s %s not possible", call_id, to, target)
                event = machine.IvrFinished(f"transfer:{to}", dial, agent, target)
                trunk = toll_guard.trunk_of(dial)
                if trunk is not None and state.tenant_id is not None:
                    # no await between an allowed decision and _feed below taking the line
                    verdict = await self.guard.check(
                        call_id=call_id, tenant_id=state.tenant_id, trunk=trunk,
                        number=target.lstrip("+"),  # as dialled (routing.transfer_target)
                        via="ivr", actor=state.did or "")
                    if not verdict.allowed:
                        event = replace(event, dial=None, refused=verdict.reason[:200],
                                        refusal_media=await self.guard.media(verdict))
            case _:
                event = machine.IvrFinished(getattr(cmd, "outcome", "hangup"))
        await self._feed(call_id, event)

    async def _to_ivr(self: CallService, call_id: str, event: object) -> None:
        async with self._locks[call_id]:
            session = self._ivr.get(call_id)
            if session is not None:
                await session.feed(event)

    async def _stop_ivr(self: CallService, call_id: str) -> None:
        session = self._ivr.pop(call_id, None)
        if session is not None:
            session.close()

