"""The call service's queue part: enqueue, report outcomes, announcements, feature codes.

Registers with the call service's router the playbacks it names: a waiting caller's
position announcement (``<call>-announce``) and a desk phone's feature-code confirmation
(``<channel>-featurecode``), and the state changes of channels (an offered agent's phone
ringing)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from controlplane.acd.queues import Recording
from controlplane.acd.service import UnknownQueue, UnknownTenant
from controlplane.calls import machine, records
from controlplane.calls.common import now
from controlplane.calls.machine import (
    CallState,
    Enqueue,
    Phase,
    QueueNotify,
    StartMoh,
)
from controlplane.db import transaction
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.models import CallbackRequest
from ivr_flows import events as ie

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
RECORD_KEY = "*"  # an agent's key for "record this call" (queues recording on demand)
ANNOUNCE_SUFFIX = "-announce"
FEATURE_SUFFIX = "-featurecode"


class QueueCalls:
    """A collaborator of :class:`CallService` (``calls.queue``): the call side of the ACD."""

    def __init__(self, calls: CallService) -> None:
        self.svc = calls
        self._announcing: set[str] = set()  # queued calls hearing their position now
        self._phone_of: dict[str, str] = {}  # call → phone it holds outside the ACD
        self._phone_calls: defaultdict[str, set[str]] = defaultdict(set)
        self._tasks: set[asyncio.Task[None]] = set()
        calls.router.object_suffix(ANNOUNCE_SUFFIX, self._announced)
        calls.router.object_suffix(FEATURE_SUFFIX, self._feature_confirmed)
        calls.router.event_type(ev.ChannelStateChange, self._agent_ringing)

    def forget(self, call_id: str) -> None:
        """The call ended."""
        self._announcing.discard(call_id)

    async def tell(self, cmd: Enqueue | QueueNotify) -> None:
        """Tell the queue service (call lock held; it answers through ``CallService.post``)."""
        svc = self.svc
        acd = svc.acd
        state = svc.calls.get(cmd.call_id)
        if acd is None or state is None:
            return
        try:
            if isinstance(cmd, Enqueue):
                await acd.enqueue(cmd.call_id, state.tenant_id or 0, cmd.queue, cmd.priority,
                                  cmd.skills, state.caller, resume=cmd.resume,
                                  direct_agent=cmd.direct_agent)
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
            await svc.feed(cmd.call_id, machine.LeaveQueue("unknown_queue"))

    async def _agent_ringing(self, event: ev.Event) -> None:
        """An offered agent's phone rings: the agent shows ``ringing`` (reserved → ringing)."""
        assert isinstance(event, ev.ChannelStateChange)
        acd = self.svc.acd
        if acd is None or event.channel.state != "Ringing":
            return
        if (call_id := machine.call_of_agent_channel(event.channel.id)) is not None:
            await acd.offer_ringing(call_id, event.channel.endpoint)

    def bridge_type(self, call_id: str) -> str:
        """The bridge type of a queued call answered by an agent: never one Asterisk may
        bridge natively, because any queued call may be supervised.

        On a ``native_rtp`` bridge Asterisk forwards each leg's RTP packets to the other
        as they came (the far end's SSRC and sequence numbers). A supervisor's snoop (an
        audiohook on the agent leg) makes it leave native_rtp for simple_bridge, and the
        platform then sends its own stream: a new SSRC whose sequence numbers are
        unrelated to the forwarded ones. Where they fall *behind* (about one leg in two)
        the far end played nothing: the agent or the caller heard silence for as long as
        the snoop stayed, and again at every switch (issue 13, item 3; evidence in the
        supervision test's docstring). ``proxy_media`` keeps the bridge off native_rtp
        from the first frame, so the stream never changes hands; ``dtmf_events`` (recorded
        on demand: the agent's ``*`` must reach us) does too. The price is the frame
        relay that native_rtp saved (CPU per answered call: see the report of issue 13)."""
        acd = self.svc.acd
        t, st = acd.registry.call(call_id) if acd is not None else (None, None)
        if t is None or st is None:
            return "mixing,dtmf_events"  # unknown to the ACD (just restarted): keep the keys
        q = t.cfg.queues.get(st.queue_id)
        return "mixing,proxy_media" if q is not None and q.recording != Recording.ON_DEMAND else (
            "mixing,dtmf_events")

    async def dtmf(self, event: ev.Event) -> None:
        """A key from a caller: to the IVR when one runs, else to the queue (callback key).
        From an agent's phone, ``*`` starts the recording of a call recorded on demand."""
        assert isinstance(event, ev.ChannelDtmfReceived)
        svc, channel_id, digit = self.svc, event.channel.id, event.digit
        if svc.ivr.running(channel_id):
            await svc.ivr.to_flow(channel_id, ie.DtmfReceived(digit))
            return
        owner = machine.call_of_agent_channel(channel_id)
        if owner is not None:
            if digit == RECORD_KEY:
                state = svc.calls.get(owner)
                agent = state.agent_endpoint if state is not None else None
                await self.record_on_demand(owner, f"agent:{agent}")
            return
        state = svc.calls.get(channel_id)
        queued = svc.acd is not None and state is not None and state.phase == Phase.QUEUED
        if queued and svc.acd is not None and await svc.acd.dtmf(channel_id, digit):
            log.info("call %s: callback requested from the queue", channel_id)

    async def record_on_demand(self, call_id: str, started_by: str) -> bool:
        """Start recording a queued call now, if its queue records on demand (the agent's
        ``*`` or the panel). True when the recording was started (or already runs)."""
        svc = self.svc
        state = svc.calls.get(call_id)
        if svc.acd is None or state is None or state.phase != Phase.TALKING:
            return False
        if state.recording:
            return True
        if not await svc.acd.record_on_demand(call_id):
            return False
        await asyncio.to_thread(records.start_on_demand, svc.db, state,
                                svc.settings.recordings_dir, started_by, now())
        await svc.with_call(call_id, machine.Connected(record=True), now())
        log.info("call %s: recording started on demand by %s", call_id, started_by)
        return True

    async def phone_use(self, state: CallState) -> None:
        """Tell the ACD how many calls it did not route hold each phone (see
        ``QueueService.phone_in_use``): a phone ringing or talking on a direct, own or
        preview call is not offered a queue call on top."""
        acd = self.svc.acd
        if acd is None:
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
            await acd.phone_in_use(endpoint, len(self._phone_calls[endpoint]))

    async def store_callback(self, call_id: str, queue: str) -> None:
        """Write the callback request of a caller who pressed the queue's callback key."""
        svc = self.svc
        state = svc.calls.get(call_id)
        if state is None or state.tenant_id is None:
            return
        tenant_id, number = state.tenant_id, state.caller

        def store() -> None:
            with transaction(svc.db) as s:
                s.add(CallbackRequest(tenant_id=tenant_id, call_id=call_id, number=number,
                                      queue=queue, note="pressed the callback key in the queue"))

        await asyncio.to_thread(store)

    def announce(self, call_id: str, position: int, ewt_s: float) -> None:
        """Tell a waiting caller their place; hold music resumes after it."""
        media = ("sound:queue-youarenext" if position <= 1 else
                 f"sound:queue-thereare,number:{position - 1},sound:queue-callswaiting")

        svc = self.svc

        async def play() -> None:
            async with svc.lock(call_id):
                state = svc.calls.get(call_id)
                if state is None or state.phase != Phase.QUEUED:
                    return
                if call_id in self._announcing:
                    # The last one still plays (a long prompt, a short interval): a second
                    # would queue behind it and keep hold music from coming back between.
                    return
                try:
                    await svc.engine.run(c.Play(call_id, media, f"{call_id}{ANNOUNCE_SUFFIX}"))
                    self._announcing.add(call_id)
                except AriError as err:
                    log.info("announcement on %s: %s", call_id, err)

        task = asyncio.ensure_future(play())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _announced(self, call_id: str, event: ev.Event) -> None:
        """The position announcement ended: hold music again (the router, ``-announce``)."""
        if not isinstance(event, ev.PlaybackFinished):
            return
        svc = self.svc
        async with svc.lock(call_id):
            self._announcing.discard(call_id)
            state = svc.calls.get(call_id)
            if state is not None and state.phase == Phase.QUEUED:
                await svc.execute(StartMoh(call_id))

    async def feature_code(self, channel_id: str, endpoint: str, code: str) -> None:
        """A desk phone dialled ``*50``…: change the agent's state and say so (no call record)."""
        svc = self.svc
        assert svc.acd is not None
        sound = await svc.acd.feature_code(endpoint, code)
        try:
            await svc.engine.run(c.Answer(channel_id))
            await svc.engine.run(c.Play(channel_id, sound, f"{channel_id}{FEATURE_SUFFIX}"))
        except AriError as err:
            log.info("feature code %s on %s: %s", code, channel_id, err)
            await svc.hangup_quietly(channel_id)

    async def _feature_confirmed(self, channel_id: str, event: ev.Event) -> None:
        """The confirmation was heard: hang up (the router, ``-featurecode``)."""
        if isinstance(event, ev.PlaybackFinished):
            await self.svc.hangup_quietly(channel_id)

