"""Orchestration of calls: ARI events in, machine steps, commands out, records saved.

Events of one call are handled in arrival order under that call's lock; events
of different calls run concurrently. Commands are executed by :meth:`_execute`,
the only place that turns machine commands into ARI requests. An ARI failure
that means "that leg is already gone" (404 on hang-up, a refused originate) is
fed back to the machine as :class:`LegGone`, so a call always reaches ENDED.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

import aiohttp
import redis.asyncio as aioredis
from rq import Queue
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.service import QueueService
from controlplane.calls import campaign_machine, failures, machine, recording_tail, records, routing
from controlplane.calls.campaign_glue import CampaignCalls
from controlplane.calls.common import CAUSES, now
from controlplane.calls.ivr_glue import IvrGlue
from controlplane.calls.ivr_session import IvrSession, split_id
from controlplane.calls.machine import (
    Binding,
    CallEvent,
    CallState,
    Enqueue,
    Phase,
    QueueNotify,
    SaveCall,
    StartIvr,
    StartMoh,
    StopMoh,
)
from controlplane.calls.queue_glue import ANNOUNCE_SUFFIX, FEATURE_SUFFIX, QueueGlue
from controlplane.calls.reconcile import Reconciler
from controlplane.calls.toll_guard import TollGuard
from controlplane.config import Settings
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import AriRest, Executor, executor_of
from controlplane.jobs import outbox
from controlplane.jobs.recordings import verify_recording
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, event_fields
from controlplane.security import trunk_calls
from controlplane.security.trunk_calls import TrunkOrigin
from ivr_flows import events as ie
from ivr_flows.model import Flow
from ivr_flows.tts import TtsEngine

log = logging.getLogger(__name__)
# DID → (flow version id, parsed flow) for a new call; None when the DID has no flow.
FlowLookup = Callable[[str], "tuple[str, Flow] | None"]
PROMPT_SUFFIX = "-prompt"
EndHook = Callable[[str, "CallState | None", int], None]  # see CallService.end_hooks


class CallService(IvrGlue, QueueGlue, Reconciler):
    def __init__(self, settings: Settings, ari: AriRest | Executor, db: sessionmaker[Session],
                 redis: aioredis.Redis, jobs: Queue | None = None,
                 flows: FlowLookup | None = None, tts: TtsEngine | None = None,
                 http: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.engine = executor_of(ari)  # every ARI request of the calls goes through it
        self.db = db
        self.redis = redis
        self.jobs = jobs
        self.calls: dict[str, CallState] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._causes: dict[str, int] = {}  # hang-up cause announced before StasisEnd
        self._announcing: set[str] = set()  # queued calls hearing their position now
        self._phone_of: dict[str, str] = {}  # call → phone it holds outside the ACD
        self._phone_calls: defaultdict[str, set[str]] = defaultdict(set)
        self.flows = flows
        self.tts = tts
        self.http = http
        self._ivr: dict[str, IvrSession] = {}
        self._ivr_plan: dict[str, tuple[str, Flow, Binding]] = {}  # call id → flow to run
        self.acd: QueueService | None = None  # set by the composition root (needs us first)
        self.campaigns: CampaignCalls | None = None  # dialer attempts; set by the root too
        self.guard = TollGuard(self)  # every call out over a trunk passes it (toll fraud)
        # (call-id prefix, hook): told when such a call reaches ENDED (its final state), or
        # when a channel with that id is gone before it ever became a call (None, the cause).
        self.end_hooks: list[tuple[str, EndHook]] = []
        self._posted: set[asyncio.Task[None]] = set()
        # Cleared while a (re)connect's reconcile loads the calls stored in the database:
        # an event for one of them (its hang-up, say) must find its state, not be dropped as
        # unknown. Reconcile's task is spawned before any event's, so it clears this first.
        self._adopted = asyncio.Event()
        self._adopted.set()

    # ---- ARI events in ----
    async def on_event(self, event: ev.Event) -> None:
        log.debug("event %s", event)
        if not self._adopted.is_set():
            await self._adopted.wait()
        if isinstance(event, ev.StasisStart):
            kind = event.args[0] if event.args else ""
            if kind == "agent" and len(event.args) > 1:
                await self._with_call(event.args[1], machine.AgentAnswered(event.channel.id),
                                      event.at)
            elif kind in ("inbound", "outbound"):
                await self._enter(event, kind)
            elif kind == "campaign" and len(event.args) > 1 and self.campaigns is not None:
                await self.campaigns.answered(event)
            elif kind == "selftest":
                await self._selftest(event.channel.id)
            else:
                log.warning("StasisStart with unknown args %s; hanging up", event.args)
                await self._hangup_quietly(event.channel.id)
        elif isinstance(event, ev.ChannelHangupRequest):
            self._causes[event.channel.id] = event.cause
        elif isinstance(event, ev.StasisEnd):
            # A channel that entered Stasis from the dialplan gets no ChannelDestroyed after
            # StasisEnd (the app is unsubscribed first): StasisEnd is its hang-up.
            cause = self._causes.pop(event.channel.id, 0) or 16  # 0: not given; a plain BYE
            await self._leg_gone(event.channel.id, cause, CAUSES.get(cause, str(cause)), event.at)
        elif isinstance(event, ev.ChannelDestroyed):
            self._causes.pop(event.channel.id, None)
            await self._leg_gone(event.channel.id, event.cause, event.cause_txt, event.at)
        elif isinstance(event, ev.ChannelDtmfReceived):
            await self._dtmf(event.channel.id, event.digit)
        elif isinstance(event, ev.PlaybackFinished) and (ids := split_id(event.playback_id)):
            await self._to_ivr(ids[0], ie.PlaybackFinished(ids[1]))
        elif isinstance(event, ev.RecordingFinished) and (ids := split_id(event.name)):
            await self._to_ivr(ids[0], ie.RecordingFinished(ids[1], event.duration_s))
        elif isinstance(event, ev.RecordingFailed) and (ids := split_id(event.name)):
            await self._to_ivr(ids[0], ie.RecordingFinished(ids[1], None, event.cause))
        elif isinstance(event, ev.PlaybackFinished) and event.playback_id.endswith(ANNOUNCE_SUFFIX):
            await self._after_announcement(event.playback_id.removesuffix(ANNOUNCE_SUFFIX))
        elif isinstance(event, ev.PlaybackFinished) and event.playback_id.endswith(FEATURE_SUFFIX):
            await self._hangup_quietly(event.playback_id.removesuffix(FEATURE_SUFFIX))
        elif isinstance(event, ev.PlaybackFinished) and event.playback_id.endswith(PROMPT_SUFFIX):
            await self._with_call(event.playback_id.removesuffix(PROMPT_SUFFIX),
                                  machine.PromptDone(event.playback_id), event.at)

    async def _leg_gone(self, channel_id: str, cause: int, cause_txt: str, at: datetime) -> None:
        if (call_id := machine.call_of_agent_channel(channel_id)) is not None:
            await self._with_call(call_id, machine.LegGone("agent", cause, cause_txt,
                                                           channel=channel_id), at)
        else:
            await self._with_call(channel_id, machine.LegGone("caller", cause, cause_txt), at)

    async def _enter(self, event: ev.StasisStart, kind: str) -> None:
        call_id = event.channel.id
        target = event.args[1] if len(event.args) > 1 else event.channel.exten
        if kind == "outbound" and target.startswith("*") and self.acd is not None:
            await self._feature_code(call_id, event.channel.endpoint, target)
            return
        # The lock is taken before the look-ups: a caller who hangs up meanwhile has their
        # StasisEnd wait for it, and so finds the call instead of being dropped.
        async with self._locks[call_id]:
            if call_id in self.calls:
                return
            origin = TrunkOrigin.from_args(event.args) if kind == "inbound" else None
            binding = await self._binding(call_id, kind, target, event.channel.endpoint,
                                          origin.tenant_id if origin is not None else None)
            caller = event.channel.caller_number or "anonymous"
            if origin is not None and binding.tenant_id is None:
                await self._refuse_unknown_number(call_id, target, caller, origin)
                return
            state, cmds = machine.start(machine.Entered(call_id, caller, binding), event.at)
            self.calls[call_id] = state
            await self._run(call_id, cmds)

    async def _binding(self, call_id: str, kind: str, target: str, endpoint: str,
                       tenant_id: int | None) -> Binding:
        if kind != "inbound":
            binding = await asyncio.to_thread(routing.outbound_binding, self.db, endpoint, target)
            # no await between the guard's decision and the call entering self.calls
            return await self.guard.guard_binding(call_id, binding)
        binding = await asyncio.to_thread(routing.inbound_binding, self.db, target, tenant_id)
        if self.flows is not None and binding.tenant_id is not None:
            found = await asyncio.to_thread(self.flows, target)
            if found is not None:
                self._ivr_plan[call_id] = (found[0], found[1], binding)
                # Who answers is decided by the flow; the DID's phone is only the fallback.
                binding = replace(binding, ivr=True, dial=None, agent_endpoint=None)
        return binding

    async def _refuse_unknown_number(self, call_id: str, number: str, caller: str,
                                     origin: TrunkOrigin) -> None:
        """A trunk call to a number that is not one of its tenant's DIDs: refused unanswered
        (no prompt to a stranger, no call record) and written to the security audit."""
        with contextlib.suppress(AriError):  # already gone: nothing left to refuse
            await self.engine.run(c.Hangup(call_id, trunk_calls.REFUSE_REASON))
        try:
            await asyncio.to_thread(trunk_calls.record_unknown_number, self.db, origin, number,
                                    caller, call_id)
        except SQLAlchemyError as err:  # the call is refused either way
            log.warning("could not audit refused call %s: %s", call_id, err)

    async def _with_call(self, call_id: str, event: CallEvent, at: datetime) -> None:
        async with self._locks[call_id]:
            await self._feed(call_id, event, at)

    async def _feed(self, call_id: str, event: CallEvent, at: datetime | None = None) -> None:
        """Step the machine (lock held) at ``at`` (Asterisk's event time) and run its commands."""
        state = self.calls.get(call_id)
        if state is None:
            if isinstance(event, machine.LegGone) and event.leg == "caller":
                self._call_ended(call_id, None, event.cause)
                self._locks.pop(call_id, None)  # never a call (refused, probe): keep no lock
            return
        if isinstance(event, machine.LegGone) and event.leg == "caller":
            await self._stop_ivr(call_id)
        state, cmds = machine.step(state, event, at or now())
        self.calls[call_id] = state
        await self._run(call_id, cmds)
        if state.phase == Phase.ENDED:
            if state.direction == "campaign" and self.campaigns is not None:
                self.campaigns.ended(state)
            self._call_ended(call_id, state, state.hangup_cause or 0)
            self.calls.pop(call_id, None)
            self._announcing.discard(call_id)
            self._locks.pop(call_id, None)
            self._ivr_plan.pop(call_id, None)

    def _call_ended(self, call_id: str, state: CallState | None, cause: int) -> None:
        for prefix, hook in self.end_hooks:
            if call_id.startswith(prefix):
                hook(call_id, state, cause)

    # ---- commands out ----
    async def _run(self, call_id: str, cmds: Sequence[campaign_machine.Out]) -> None:
        for cmd in cmds:
            if isinstance(cmd, StartIvr):
                await self._start_ivr(call_id)
                continue
            if isinstance(cmd, Enqueue | QueueNotify):
                await self._to_queue(cmd)
                continue
            if isinstance(cmd, campaign_machine.COMMANDS):
                if self.campaigns is not None:
                    await self.campaigns.execute(call_id, cmd)
                continue
            gone = await self._execute(cmd)
            if gone is not None:
                await self._feed(call_id, gone)

    async def _execute(self, cmd: machine.Out) -> machine.LegGone | None:
        """Run one command; return a LegGone when ARI says the leg no longer exists."""
        try:
            match cmd:
                case SaveCall(state=state):
                    await self._save(state)
                case c.CreateBridge(bridge_id=b):
                    # A queued call's bridge has dtmf_events: keys pressed in the conversation
                    # still reach us as ChannelDtmfReceived (an agent's "record this call");
                    # a plain mixing bridge swallows them. Other calls need no keys.
                    owner = self.calls.get(b.removesuffix("-bridge"))
                    kind = "mixing,dtmf_events" if owner is not None and owner.queue else "mixing"
                    await self.engine.run(replace(cmd, type=kind))
                case c.DestroyBridge(bridge_id=b):
                    await self.engine.run(cmd)
                    await self._end_recording_at_call_end(b.removesuffix("-bridge"))
                case c.Command():
                    await self.engine.run(cmd)
                case StartMoh(channel_id=ch):  # until machine.py takes these from the engine
                    await self.engine.run(c.StartMoh(ch))
                case StopMoh(channel_id=ch):
                    await self.engine.run(c.StopMoh(ch))
                case _:
                    raise TypeError(f"unknown command {cmd!r}")
        except AriError as err:
            return failures.leg_gone(cmd, err)
        return None

    async def _end_recording_at_call_end(self, call_id: str) -> None:
        """A bridge destroyed long after its call ended (the end was read from Asterisk's
        hang-up log after a restart) recorded a tail that is not the conversation: cut it."""
        state = self.calls.get(call_id)
        if state is None or not state.recording:
            return
        late = recording_tail.overrun(state.ended_at, now())
        if late:
            await recording_tail.cut_tail(self.engine, state.recording,
                                          self.settings.recordings_dir / f"{state.recording}.wav",
                                          late)

    async def _save(self, state: CallState) -> None:
        await asyncio.to_thread(records.save, self.db, state, self.settings.recordings_dir)
        await self._phone_use(state)
        if state.phase == Phase.ENDED and state.recording and self.jobs is not None:
            job_id = "verify-rec-" + state.call_id.replace(".", "-")
            try:  # Redis down: kept in the outbox, queued when it is back (never lost)
                # No database URL in the arguments: they are stored and logged, and a
                # PostgreSQL URL holds a password; the worker has the same settings.
                await asyncio.to_thread(outbox.enqueue, self.jobs, self.db, verify_recording,
                                        state.call_id, job_id=job_id)
            except Exception as err:  # noqa: BLE001 - the record is saved; the check can wait
                log.warning("could not queue %s: %s", job_id, err)
        pipe = self.redis.pipeline()
        if state.phase == Phase.ENDED:
            pipe.hdel(LIVE_CALLS_KEY, state.call_id)
        else:
            live = LiveCall(state.call_id, state.tenant_id, state.direction, state.phase.value,
                            state.caller, state.callee, state.did, state.agent_endpoint,
                            state.started_at.isoformat(),
                            state.answered_at.isoformat() if state.answered_at else None)
            pipe.hset(LIVE_CALLS_KEY, state.call_id, live.to_json())
        pipe.xadd(EVENTS_STREAM, event_fields(f"call.{state.phase.value}", call_id=state.call_id,
                                              tenant_id=state.tenant_id, at=now().isoformat()),
                  maxlen=EVENTS_MAXLEN, approximate=True)
        try:
            await pipe.execute()
        except aioredis.RedisError as err:  # live view only; the database holds the record
            log.warning("redis update failed: %s", err)

    async def _selftest(self, channel_id: str) -> None:
        """A probe call (monitoring, ``bench/ari_throughput.py``): answer, count, hang up.

        Not a customer call, so no call record; the count is ``centrala:selftest:answered``.
        """
        try:
            await self.engine.run(c.Answer(channel_id))
            await self.redis.incr("centrala:selftest:answered")
        except (AriError, aioredis.RedisError) as err:
            log.warning("selftest %s: %s", channel_id, err)
        await self._hangup_quietly(channel_id)

    async def _hangup_quietly(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.engine.run(c.Hangup(channel_id))

