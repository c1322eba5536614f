"""The call service's queue part: enqueue, report outcomes, announcements, feature codes."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from controlplane.acd.service import UnknownQueue, UnknownTenant
from controlplane.calls import machine, records
from controlplane.calls.common import now
from controlplane.calls.machine import CallEvent, CallState, Enqueue, Phase, QueueNotify, StartMoh
from controlplane.db import transaction
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.models import CallbackRequest
from ivr_flows import events as ie

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
RECORD_KEY = "*"  # an agent's key for "record this call" (queues recording on demand)
ANNOUNCE_SUFFIX = "-announce"
FEATURE_SUFFIX = "-featurecode"


class QueueGlue:
    """Mixed into :class:`CallService`: the call side of the ACD."""

    def post(self: CallService, call_id: str, event: CallEvent) -> None:
        """Feed ``event`` to a call from outside its lock (the queue service's decisions)."""
        task = asyncio.ensure_future(self._with_call(call_id, event, now()))
        self._posted.add(task)
        task.add_done_callback(self._posted.discard)

    async def _to_queue(self: CallService, cmd: Enqueue | QueueNotify) -> None:
        """Tell the queue service (call lock held; it answers through ``post``)."""
        acd = self.acd
        state = self.calls.get(cmd.call_id)
        if acd is None or state is None:
            return
        try:
            if isinstance(cmd, Enqueue):
                await acd.enqueue(cmd.call_id, state.tenant_id or 0, cmd.queue, cmd.priority,
                                  cmd.skills, state.caller, resume=cmd.resume)
            elif cmd.what == "answered":
                await acd.offer_answered(cmd.call_id, cmd.agent_endpoint or "")
            elif cmd.what == "failed":
                await acd.offer_failed(cmd.call_id, cmd.agent_endpoint or "", str(cmd.cause))
            elif cmd.what == "caller_left":
                await acd.caller_left(cmd.call_id)
            elif cmd.what == "ended":
                await acd.call_ended(cmd.call_id)
        except (UnknownQueue, UnknownTenant) as err:
            log.warning("call %s: %s", cmd.call_id, err)
            await self._feed(cmd.call_id, machine.LeaveQueue("unknown_queue"))

    async def _dtmf(self: CallService, channel_id: str, digit: str) -> None:
        """A key from a caller: to the IVR when one runs, else to the queue (callback key).
        From an agent's phone, ``*`` starts the recording of a call recorded on demand."""
        if channel_id in self._ivr:
            await self._to_ivr(channel_id, ie.DtmfReceived(digit))
            return
        owner = machine.call_of_agent_channel(channel_id)
        if owner is not None:
            if digit == RECORD_KEY:
                state = self.calls.get(owner)
                agent = state.agent_endpoint if state is not None else None
                await self.record_on_demand(owner, f"agent:{agent}")
            return
        state = self.calls.get(channel_id)
        queued = self.acd is not None and state is not None and state.phase == Phase.QUEUED
        if queued and self.acd is not None and await self.acd.dtmf(channel_id, digit):
            log.info("call %s: callback requested from the queue", channel_id)

    async def record_on_demand(self: CallService, call_id: str, started_by: str) -> bool:
        """Start recording a queued call now, if its queue records on demand (the agent's
        ``*`` or the panel). True when the recording was started (or already runs)."""
        state = self.calls.get(call_id)
        if self.acd is None or state is None or state.phase != Phase.TALKING:
            return False
        if state.recording:
            return True
        if not await self.acd.record_on_demand(call_id):
            return False
        await asyncio.to_thread(records.start_on_demand, self.db, state,
                                self.settings.recordings_dir, started_by, now())
        await self._with_call(call_id, machine.Connected(record=True), now())
        log.info("call %s: recording started on demand by %s", call_id, started_by)
        return True

    async def _phone_use(self: CallService, state: CallState) -> None:
        """Tell the ACD how many calls it did not route hold each phone (see
        ``QueueService.phone_in_use``): a phone ringing or talking on a direct, own or
        preview call is not offered a queue call on top."""
        if self.acd is None:
            return
        phone = (state.agent_endpoint if state.queue is None and state.phase != Phase.ENDED
                 else None)
        before = self._phone_of.get(state.call_id)
        if phone == before:
            return
        changed = []
        if before is not None:
            self._phone_calls[before].discard(state.call_id)
            changed.append(before)
            del self._phone_of[state.call_id]
        if phone is not None:
            self._phone_calls[phone].add(state.call_id)
            self._phone_of[state.call_id] = phone
            changed.append(phone)
        for endpoint in changed:
            await self.acd.phone_in_use(endpoint, len(self._phone_calls[endpoint]))

    async def store_queue_callback(self: CallService, call_id: str, queue: str) -> None:
        """Write the callback request of a caller who pressed the queue's callback key."""
        state = self.calls.get(call_id)
        if state is None or state.tenant_id is None:
            return
        tenant_id, number = state.tenant_id, state.caller

        def store() -> None:
            with transaction(self.db) as s:
                s.add(CallbackRequest(tenant_id=tenant_id, call_id=call_id, number=number,
                                      queue=queue, note="pressed the callback key in the queue"))

        await asyncio.to_thread(store)

    def announce(self: CallService, call_id: str, position: int, ewt_s: float) -> None:
        """Tell a waiting caller their place; hold music resumes after it."""
        media = ("sound:queue-youarenext" if position <= 1 else
                 f"sound:queue-thereare,number:{position - 1},sound:queue-callswaiting")

        async def play() -> None:
            async with self._locks[call_id]:
                state = self.calls.get(call_id)
                if state is None or state.phase != Phase.QUEUED:
                    return
                if call_id in self._announcing:
                    # The last one still plays (a long prompt, a short interval): a second
                    # would queue behind it and keep hold music from coming back between.
                    return
                try:
                    await self.engine.run(c.Play(call_id, media, f"{call_id}{ANNOUNCE_SUFFIX}"))
                    self._announcing.add(call_id)
                except AriError as err:
                    log.info("announcement on %s: %s", call_id, err)

        task = asyncio.ensure_future(play())
        self._posted.add(task)
        task.add_done_callback(self._posted.discard)

    async def _after_announcement(self: CallService, call_id: str) -> None:
        async with self._locks[call_id]:
            self._announcing.discard(call_id)
            state = self.calls.get(call_id)
            if state is not None and state.phase == Phase.QUEUED:
                await self._execute(StartMoh(call_id))

    async def _feature_code(self: CallService, channel_id: str, endpoint: str, code: str) -> None:
        """A desk phone dialled ``*50``…: change the agent's state and say so (no call record)."""
        assert self.acd is not None
        sound = await self.acd.feature_code(endpoint, code)
        try:
            await self.engine.run(c.Answer(channel_id))
            await self.engine.run(c.Play(channel_id, sound, f"{channel_id}{FEATURE_SUFFIX}"))
        except AriError as err:
            log.info("feature code %s on %s: %s", code, channel_id, err)
            await self._hangup_quietly(channel_id)

