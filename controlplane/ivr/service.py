"""The IVR domain's service: start a flow on a call, feed it its events, act on its end.

:class:`IvrCalls` is a collaborator of the call service (``calls.ivr``): it owns the
calls' IVR sessions (:mod:`controlplane.ivr.session`) and the flow each new call is to
run; :mod:`controlplane.ivr.stasis` routes the flows' ARI events to it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from controlplane import audio_store
from controlplane.calls import machine, routing, toll_guard
from controlplane.calls.common import now
from controlplane.calls.ivr_resume import IvrPositions
from controlplane.db import transaction
from controlplane.ivr import calendar_store, stasis
from controlplane.ivr import store as flow_store
from controlplane.ivr.session import IvrSession, Terminal
from controlplane.models import CallbackRequest
from controlplane.tts import TtsMeter
from ivr_flows import commands as ic
from ivr_flows.model import Flow

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)


class IvrCalls:
    """A collaborator of :class:`CallService` (``calls.ivr``); its methods run with the
    call's lock held unless they say otherwise."""

    def __init__(self, calls: CallService) -> None:
        self.svc = calls
        self.sessions: dict[str, IvrSession] = {}
        self._plans: dict[str, tuple[str, Flow, machine.Binding]] = {}  # call → flow to run
        stasis.register(calls.router, self)

    def plan(self, call_id: str, version_id: str, flow: Flow, binding: machine.Binding) -> None:
        """The new call ``call_id`` runs ``flow``; ``binding`` is its DID's fallback."""
        self._plans[call_id] = (version_id, flow, binding)

    def running(self, call_id: str) -> bool:
        return call_id in self.sessions

    def forget(self, call_id: str) -> None:
        """The call ended."""
        self._plans.pop(call_id, None)

    async def start(self, call_id: str,
                    resume: tuple[dict[str, Any], dict[str, Flow]] | None = None) -> None:
        """Run the DID's flow (lock held). No flow or no TTS engine: ring the DID's phone.
        ``resume``: a stored position and its flows, to take the call up where it was."""
        svc = self.svc
        plan = self._plans.get(call_id)
        state = svc.calls[call_id]
        if plan is None or svc.tts is None or svc.http is None:
            await svc.feed(call_id, machine.IvrFinished("no-flow", *self.fallback(call_id)))
            return
        version_id, flow, _ = plan

        async def run_locked(fn: Callable[[], Awaitable[None]]) -> None:
            async with svc.lock(call_id):
                if call_id in self.sessions:
                    await fn()

        async def on_finish(cmd: Terminal, variables: dict[str, Any]) -> None:
            await self._finished(call_id, cmd)

        tenant_id = state.tenant_id

        async def bill_tts(chars: int) -> None:
            """Dynamic TTS prompts bill their variable characters per call (FEATURES §3)."""
            if tenant_id is None:
                return

            def add() -> None:
                with transaction(svc.db) as s:
                    TtsMeter().add(s, tenant_id, chars, now())

            try:
                await asyncio.to_thread(add)
            except Exception as err:  # noqa: BLE001 - billing must never drop a call
                log.warning("TTS usage of tenant %s not recorded: %s", tenant_id, err)

        def subflows(name: str) -> tuple[str, Flow] | None:
            if tenant_id is None:
                return None
            with svc.db() as s:
                found = flow_store.published_flow(s, tenant_id, name)
            return None if found is None else (str(found[0].id), found[1])

        def tenant_calendars() -> dict[str, frozenset[date]]:
            if tenant_id is None:
                return {}
            with svc.db() as s:
                return calendar_store.calendars(s, tenant_id)

        # The route look-up of this very call read them (or saw them unchanged): no hop.
        kept = svc.routes.calendars(tenant_id) if svc.routes and tenant_id is not None else None

        def audio(name: str) -> str | None:
            if tenant_id is None:
                return None
            with svc.db() as s:
                return audio_store.media_for(s, tenant_id, name)

        def store_callback(cmd: ic.RequestCallback) -> None:
            if tenant_id is None:
                return
            with transaction(svc.db) as s:
                s.add(CallbackRequest(tenant_id=tenant_id, call_id=call_id, number=cmd.number,
                                      queue=cmd.queue, note=cmd.note[:500]))

        calendars = dict(kept) if kept is not None else await asyncio.to_thread(tenant_calendars)
        session = IvrSession(call_id, flow, version_id, svc.engine, svc.http, svc.tts,
                             run_locked, on_finish, bill_tts, subflows, calendars, audio,
                             store_callback, positions=IvrPositions(svc.redis))
        self.sessions[call_id] = session
        if resume is not None:
            await session.resume(*resume)
        else:
            await session.start(state.caller, state.did or "")

    def fallback(self, call_id: str) -> tuple[str | None, str | None, str | None]:
        """Where the call goes without its flow: the DID's phone (dial, agent, no target)."""
        plan = self._plans.get(call_id)
        state = self.svc.calls.get(call_id)
        binding = plan[2] if plan else None
        if binding is None and state is not None:
            return state.dial, state.agent_endpoint, None
        return (binding.dial, binding.agent_endpoint, None) if binding else (None, None, None)

    async def _finished(self, call_id: str, cmd: Terminal) -> None:
        """The flow ended (lock held): connect the caller where it said, or hang up."""
        svc = self.svc
        self.sessions.pop(call_id, None)
        state = svc.calls.get(call_id)
        if state is None:
            return
        match cmd:
            case ic.EnqueueCall(queue=queue, priority=priority, skills=skills):
                if svc.acd is not None:
                    event = machine.IvrFinished(f"queued:{queue}", queue=queue,
                                                priority=priority, skills=tuple(skills))
                else:  # no queue service in this process: ring the DID's phone
                    dial, agent, _ = self.fallback(call_id)
                    event = machine.IvrFinished(f"queued:{queue}", dial, agent)
            case ic.Transfer(to=to, target=target):
                dial, agent = await asyncio.to_thread(routing.transfer_target, svc.db,
                                                      state.tenant_id, to, target)
                if dial is None:
                    log.warning("IVR %s: transfer to %s %s not possible", call_id, to, target)
                event = machine.IvrFinished(f"transfer:{to}", dial, agent, target)
                trunk = toll_guard.trunk_of(dial)
                if trunk is not None and state.tenant_id is not None:
                    # no await between an allowed decision and feed below taking the line
                    verdict = await svc.guard.check(
                        call_id=call_id, tenant_id=state.tenant_id, trunk=trunk,
                        number=target.lstrip("+"),  # as dialled (routing.transfer_target)
                        via="ivr", actor=state.did or "")
                    if not verdict.allowed:
                        event = replace(event, dial=None, refused=verdict.reason[:200],
                                        refusal_media=await svc.guard.media(verdict))
            case _:
                event = machine.IvrFinished(getattr(cmd, "outcome", "hangup"))
        await svc.feed(call_id, event)

    async def to_flow(self, call_id: str, event: object) -> None:
        """Feed an IVR event to the call's flow (takes the call's lock)."""
        async with self.svc.lock(call_id):
            session = self.sessions.get(call_id)
            if session is not None:
                await session.feed(event)

    def stop(self, call_id: str) -> None:
        """The caller hung up: stop the flow's timers and requests."""
        session = self.sessions.pop(call_id, None)
        if session is not None:
            session.close()
