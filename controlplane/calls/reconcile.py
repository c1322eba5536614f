"""After a (re)connect of the events websocket: make the call service agree with Asterisk."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from controlplane.calls import amd_orphans, ivr_resume, machine, records, routing
from controlplane.calls.common import CAUSES, now
from controlplane.calls.hangup_log import read_hangups
from controlplane.calls.machine import Enqueue, Phase, StartMoh
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.engine.commands import AddToBridge, StopMoh
from controlplane.live import LIVE_CALLS_KEY
from dialplan.render import cel_log_path

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)


class Reconciler:
    """A collaborator of :class:`CallService` (``calls.reconciler``)."""

    def __init__(self, calls: CallService) -> None:
        self.svc = calls

    async def reconcile(self) -> None:
        """Adopt calls from the database, finish those whose legs vanished, hang up orphans.

        Events wait while the stored calls are loaded (the router's ``gate``): a hang-up that arrives
        just after the app is registered again must end its call, not be dropped as one of an
        unknown call while the call is adopted from a snapshot that still shows it alive."""
        svc = self.svc
        gate = svc.router.gate
        gate.clear()
        try:
            channels = {ch["id"]: ch for ch in await svc.engine.channels()}
            await svc.records.flush()  # a call ended just now must not be read back as active
            stored = await asyncio.to_thread(records.active, svc.db)
            # In arrival order: waiting calls are queued again one by one below, and an agent
            # freed meanwhile must get the longest-waiting of them (PostgreSQL returns rows
            # in no particular order once they were updated).
            stored.sort(key=lambda row: (row.started_at, row.id))
            for row in stored:
                if row.call_id not in svc.calls:
                    svc.calls[row.call_id] = records.state_from_record(row)
            # Taken now, before reconciling ends calls: a caller channel is "unheard" only if
            # no call of ours knows it (checked against the database again below).
            strangers = [ch_id for ch_id in channels if ch_id not in svc.calls]
        finally:
            gate.set()
        await svc.redis.delete(LIVE_CALLS_KEY)
        for call_id in list(svc.calls):
            async with svc.lock(call_id):
                await self._reconcile_call(call_id, channels)
        known = set(svc.calls)
        for ch_id in channels:
            owner = machine.call_of_agent_channel(ch_id)
            if owner is not None and owner not in known:
                log.warning("orphan agent leg %s: hanging up", ch_id)
                await svc.hangup_quietly(ch_id)
        await amd_orphans.sweep(svc, channels)  # after the calls: their phases say who detects
        await self._route_unheard({ch_id: channels[ch_id] for ch_id in strangers})
        log.info("reconciled: %d calls live, %d channels in Asterisk", len(svc.calls), len(channels))

    async def _reconcile_call(self, call_id: str, channels: dict[str, Any]) -> None:
        svc = self.svc
        state = svc.calls.get(call_id)
        if state is None:
            return
        if state.direction == "campaign" and svc.campaigns is not None:
            # before any hang-up below ends it: its result needs its progress
            await svc.campaigns.restore(call_id)
        gone = {call_id} if state.caller_alive and call_id not in channels else set()
        if (state.agent_alive or state.agent_dialed) and state.agent_channel not in channels:
            gone.add(state.agent_channel)
        gone |= {leg.channel for leg in state.ringing if leg.channel not in channels}  # ring-all
        # Asterisk logged when and why each vanished leg hung up (CEL); fall back to "now".
        logged = await asyncio.to_thread(read_hangups, cel_log_path(svc.settings), gone)
        for channel_id in sorted(gone, key=lambda ch: logged[ch].at if ch in logged else now()):
            agent = channel_id != call_id
            leg, channel = ("agent", channel_id) if agent else ("caller", None)
            if channel_id in logged:
                h = logged[channel_id]
                await svc.feed(call_id, machine.LegGone(leg, h.cause, CAUSES.get(h.cause, str(h.cause)),
                                                        channel=channel), h.at)
            else:
                await svc.feed(call_id, machine.LegGone(leg, 16, "Normal Clearing", True, channel))
        state = svc.calls.get(call_id)
        if state is None:
            return
        if state.direction == "campaign" and svc.campaigns is not None:
            await svc.campaigns.adopt(call_id)  # its own restart story (campaign_glue)
        elif (state.phase == Phase.IVR and not svc.ivr.running(call_id)
              and not await ivr_resume.resume_call(svc, call_id, state)):
            # No usable stored position (ivr_resume takes the flow up where it was when it
            # can): ring the DID's phone rather than leave the caller in silence.
            binding = await asyncio.to_thread(routing.inbound_binding, svc.db, state.did or "",
                                              state.tenant_id)
            await svc.feed(call_id, machine.IvrFinished("restart", binding.dial,
                                                          binding.agent_endpoint))
        elif state.phase == Phase.QUEUED:
            # Waiting calls are not restored by the queue service: withdraw a ring in flight
            # and queue the caller again, with hold music, at the place they had (the queue
            # service rebuilds arrival, priority and skills from its queue log).
            await svc.feed(call_id, machine.CancelOffer("restart"))
            await self._hang_up_stray_legs(call_id, channels)
            await svc.execute(StartMoh(call_id))
            if state.queue is not None:
                await svc.queue.tell(Enqueue(call_id, state.queue, 0, (), resume=True))
        elif state.phase == Phase.PROMPT:
            try:
                playing = await svc.engine.playback_exists(state.prompt_playback)
            except AriError:
                playing = False
            if not playing:  # the prompt ended while we were away
                await svc.feed(call_id, machine.PromptDone(state.prompt_playback))
        elif state.phase == Phase.DIALING and channels.get(state.agent_channel, {}).get("state") == "Up":
            await svc.feed(call_id, machine.AgentAnswered())
        elif state.phase == Phase.TALKING and state.caller_alive and state.agent_alive:
            await self._end_cut_consultation(call_id)
        if call_id in svc.calls:
            if state.phase != Phase.QUEUED:  # a queued call's were hung up before Enqueue
                await self._hang_up_stray_legs(call_id, channels)
            await svc.save(svc.calls[call_id])

    async def _end_cut_consultation(self, call_id: str) -> None:
        """A consultation (attended transfer) that a restart cut: the caller waits on hold
        out of the call's bridge, and the restarted daemon no longer knows the consultation
        (it is not stored). Cancel it, as the agent's Cancel would: the consult leg is a
        stray leg (hung up by the caller below), the caller goes back to the agent. One
        ``GET /bridges/<id>`` per talking call."""
        svc = self.svc
        state = svc.calls[call_id]
        try:
            bridge = await svc.engine.bridge(state.bridge_id)
        except AriError as err:
            log.warning("call %s: its bridge not read after the restart: %s", call_id, err)
            return
        members = set(bridge.get("channels") or ()) if bridge is not None else set()
        if bridge is None or call_id in members or state.agent_channel not in members:
            return
        log.warning("call %s: a consultation was cut by the restart: the caller goes back to "
                    "the agent", call_id)
        await svc.execute(StopMoh(call_id))
        await svc.execute(AddToBridge(state.bridge_id, (call_id,)))

    async def _route_unheard(self, channels: dict[str, Any]) -> None:
        """Callers who entered the app while nobody listened (the StasisStart went down with
        the old process, before their record was written) are routed now, as if they had just
        arrived, instead of waiting in silence until they give up. ``_enter`` skips a call it
        already has, so the live StasisStart of a caller who entered during this reconcile is
        not routed twice.

        ``channels`` are the ones no call knew when the stored calls were loaded: a call that
        reconcile has just ended keeps its caller channel a moment and must not come back
        as a new call, nor may a call whose record says it ended before the crash."""
        svc = self.svc
        starts = {ch_id: start for ch_id, raw in channels.items()
                  if (start := ev.unheard_start(raw, svc.settings.ari_app, now())) is not None}
        recorded = await asyncio.to_thread(records.recorded, svc.db, list(starts))
        for ch_id, start in starts.items():
            if ch_id not in svc.calls and ch_id not in recorded:
                log.warning("caller %s entered while nobody listened (%s): routing it now",
                            ch_id, ",".join(start.args[:2]))
                await svc.router.dispatch(start)

    async def _hang_up_stray_legs(self, call_id: str, channels: dict[str, Any]) -> None:
        """Hang up agent legs of a live call that it no longer holds: after a restart the
        several legs of a ring-all offer (a queued call rings them no more), or the others
        of one that was answered just before the crash."""
        state = self.svc.calls.get(call_id)
        if state is None:
            return
        held = {leg.channel for leg in state.ringing}
        if state.agent_alive or state.agent_dialed:
            held.add(state.agent_channel)
        for ch_id in channels:
            if ch_id not in held and machine.call_of_agent_channel(ch_id) == call_id:
                log.warning("call %s: stray agent leg %s: hanging up", call_id, ch_id)
                await self.svc.hangup_quietly(ch_id)

