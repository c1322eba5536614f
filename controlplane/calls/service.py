"""Orchestration of calls: ARI events in, machine steps, commands out, records saved.

Events of one call are handled in arrival order under that call's lock; events
of different calls run concurrently. ARI events reach the service through one
:class:`~controlplane.calls.stasis.StasisRouter`, where each part registers what it owns.
Commands go out through the engine's executor (:mod:`controlplane.engine.executor`);
an ARI failure that means "that leg is already gone" (:mod:`controlplane.calls.failures`)
is fed back to the machine as :class:`LegGone`, so a call always reaches ENDED.

The service is one class composed of collaborators, each with its own state:
:class:`~controlplane.ivr.service.IvrCalls` (flows on calls, the IVR domain),
:class:`~controlplane.calls.queue_glue.QueueCalls` (the call side of the ACD),
:class:`~controlplane.calls.reconcile.Reconciler` (agreeing with Asterisk after a
reconnect), :class:`~controlplane.calls.toll_guard.TollGuard` and, set by the composition
root, :class:`~controlplane.calls.campaign_glue.CampaignCalls`. They use the public
methods below (``lock``, ``feed``, ``with_call``, ``run``, ``execute``…), never each
other's state.
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
from controlplane.bus import SELFTEST_ANSWERED_KEY
from controlplane.calls import campaign_machine, failures, machine, recording_tail, routing
from controlplane.calls.campaign_glue import CampaignCalls
from controlplane.calls.common import CAUSES, now
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
from controlplane.calls.queue_glue import QueueCalls
from controlplane.calls.reconcile import Reconciler
from controlplane.calls.record_writer import RecordWriter
from controlplane.calls.routing_cache import RouteCache
from controlplane.calls.stasis import StasisRouter
from controlplane.calls.toll_guard import TollGuard
from controlplane.calls.transfers import Target, Transfers
from controlplane.config import Settings
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import AriRest, Executor, executor_of
from controlplane.ivr.service import IvrCalls
from controlplane.jobs import outbox
from controlplane.jobs.recordings import verify_recording
from controlplane.security import trunk_calls
from controlplane.security.trunk_calls import TrunkOrigin
from ivr_flows.model import Flow
from ivr_flows.tts import TtsEngine

log = logging.getLogger(__name__)
# DID → (flow version id, parsed flow) for a new call; None when the DID has no flow.
FlowLookup = Callable[[str], "tuple[str, Flow] | None"]
PROMPT_SUFFIX = "-prompt"  # the call's own prompt (machine.CallState.prompt_playback)
ECHO_TEST_CODE = "*43"  # a phone's echo test: the dialplan's centrala-echo plays it back
ECHO_CONTEXT = "centrala-echo"
LIVE_AUDIT_EVERY_S = 10.0  # how long a stale live-calls entry can last (audit_live_view)
EndHook = Callable[[str, "CallState | None", int], None]  # see CallService.end_hooks


class CallService:
    def __init__(self, settings: Settings, ari: AriRest | Executor, db: sessionmaker[Session],
                 redis: aioredis.Redis, jobs: Queue | None = None,
                 flows: FlowLookup | None = None, tts: TtsEngine | None = None,
                 http: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.engine = executor_of(ari)  # every ARI request of the calls goes through it
        self.db = db
        self.redis = redis
        self.jobs = jobs
        # Call records and their live mirror, written behind the calls in batches.
        self.records = RecordWriter(db, settings.recordings_dir, redis)
        self.calls: dict[str, CallState] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._causes: dict[str, int] = {}  # hang-up cause announced before StasisEnd
        self.flows = flows
        self.routes: RouteCache | None = None  # set by the daemon; None: look-ups each call
        self.tts = tts
        self.http = http
        self.acd: QueueService | None = None  # set by the composition root (needs us first)
        self.campaigns: CampaignCalls | None = None  # dialer attempts; set by the root too
        self.guard = TollGuard(self)  # every call out over a trunk passes it (toll fraud)
        # (call-id prefix, hook): told when such a call reaches ENDED (its final state), or
        # when a channel with that id is gone before it ever became a call (None, the cause).
        self.end_hooks: list[tuple[str, EndHook]] = []
        self._posted: set[asyncio.Task[None]] = set()
        self.router = StasisRouter(unknown_start=self._unknown_start)
        self.ivr = IvrCalls(self)
        self.queue = QueueCalls(self)
        self.transfers = Transfers(self)
        self.reconciler = Reconciler(self)
        for kind in ("inbound", "outbound"):
            self.router.start_kind(kind, self._enter)
        self.router.start_kind("agent", self._agent_answered)
        self.router.start_kind("selftest", self._selftest)
        self.router.object_suffix(PROMPT_SUFFIX, self._prompt_done)
        self.router.event_type(ev.ChannelHangupRequest, self._hangup_requested)
        self.router.event_type(ev.StasisEnd, self._stasis_end)
        self.router.event_type(ev.ChannelDestroyed, self._destroyed)
        self.router.event_type(ev.ChannelDtmfReceived, self.queue.dtmf)

    # ---- what other parts use ----
    async def on_event(self, event: ev.Event) -> None:
        """An ARI event of the app (the events websocket's handler)."""
        await self.router.dispatch(event)

    async def reconcile(self) -> None:
        """After a (re)connect (the events websocket's ``on_connect``)."""
        await self.reconciler.reconcile()

    async def audit_live_view(self, every_s: float = LIVE_AUDIT_EVERY_S) -> None:
        """Forever: the panel's live calls are checked against the calls in progress, so a
        lost update (Redis restarted, a write failed as a call ended) lasts ``every_s``."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.records.audit_live(self.calls)
            except Exception:  # noqa: BLE001 - the audit must outlive one bad round
                log.exception("live view audit failed")

    def lock(self, call_id: str) -> asyncio.Lock:
        """The call's lock: whoever steps the call holds it."""
        return self._locks[call_id]

    def post(self, call_id: str, event: CallEvent) -> None:
        """Feed ``event`` to a call from outside its lock (the queue service's decisions)."""
        task = asyncio.ensure_future(self.with_call(call_id, event, now()))
        self._posted.add(task)
        task.add_done_callback(self._posted.discard)

    def announce(self, call_id: str, position: int, ewt_s: float) -> None:
        """Tell a waiting caller their place (the queue service)."""
        self.queue.announce(call_id, position, ewt_s)

    async def store_queue_callback(self, call_id: str, queue: str) -> None:
        await self.queue.store_callback(call_id, queue)

    async def record_on_demand(self, call_id: str, started_by: str) -> bool:
        return await self.queue.record_on_demand(call_id, started_by)

    async def transfer(self, call_id: str, tenant_id: int, target: Target,
                       by: str) -> dict[str, object]:
        """A blind transfer to a queue, an agent or a number (:class:`Transfers`)."""
        return await self.transfers.transfer(call_id, tenant_id, target, by)

    # ---- ARI events in ----
    async def _unknown_start(self, event: ev.StasisStart) -> None:
        log.warning("StasisStart with unknown args %s; hanging up", event.args)
        await self.hangup_quietly(event.channel.id)

    async def _agent_answered(self, event: ev.StasisStart) -> None:
        if len(event.args) < 2:
            await self._unknown_start(event)
            return
        await self.with_call(event.args[1], machine.AgentAnswered(event.channel.id), event.at)

    async def _prompt_done(self, call_id: str, event: ev.Event) -> None:
        if isinstance(event, ev.PlaybackFinished):
            await self.with_call(call_id, machine.PromptDone(event.playback_id), event.at)

    async def _hangup_requested(self, event: ev.Event) -> None:
        assert isinstance(event, ev.ChannelHangupRequest)
        self._causes[event.channel.id] = event.cause

    async def _stasis_end(self, event: ev.Event) -> None:
        # A channel that entered Stasis from the dialplan gets no ChannelDestroyed after
        # StasisEnd (the app is unsubscribed first): StasisEnd is its hang-up.
        assert isinstance(event, ev.StasisEnd)
        cause = self._causes.pop(event.channel.id, 0) or 16  # 0: not given; a plain BYE
        await self._leg_gone(event.channel.id, cause, CAUSES.get(cause, str(cause)), event.at)

    async def _destroyed(self, event: ev.Event) -> None:
        assert isinstance(event, ev.ChannelDestroyed)
        self._causes.pop(event.channel.id, None)
        await self._leg_gone(event.channel.id, event.cause, event.cause_txt, event.at)

    async def _leg_gone(self, channel_id: str, cause: int, cause_txt: str, at: datetime) -> None:
        if (call_id := machine.call_of_agent_channel(channel_id)) is not None:
            await self.with_call(call_id, machine.LegGone("agent", cause, cause_txt,
                                                           channel=channel_id), at)
        else:
            await self.with_call(channel_id, machine.LegGone("caller", cause, cause_txt), at)

    async def _enter(self, event: ev.StasisStart) -> None:
        call_id, kind = event.channel.id, event.args[0]
        target = event.args[1] if len(event.args) > 1 else event.channel.exten
        if kind == "outbound" and target == ECHO_TEST_CODE:  # the dialplan echoes it back
            try:
                await self.engine.run(c.ContinueInDialplan(call_id, ECHO_CONTEXT, "s"))
            except AriError as err:
                log.info("echo test on %s: %s", call_id, err)
            return
        if kind == "outbound" and target.startswith("*") and self.acd is not None:
            await self.queue.feature_code(call_id, event.channel.endpoint, target)
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
            await self.run(call_id, cmds)

    async def _binding(self, call_id: str, kind: str, target: str, endpoint: str,
                       tenant_id: int | None) -> Binding:
        if kind != "inbound":
            binding = await asyncio.to_thread(routing.outbound_binding, self.db, endpoint, target)
            # no await between the guard's decision and the call entering self.calls
            return await self.guard.guard_binding(call_id, binding)
        found: tuple[str, Flow] | None = None
        if self.routes is not None:  # one query, flows and calendars kept (routing_cache)
            route = await asyncio.to_thread(self.routes.route, target, tenant_id)
            binding, found = route.binding, route.flow
        else:
            binding = await asyncio.to_thread(routing.inbound_binding, self.db, target, tenant_id)
            if self.flows is not None and binding.tenant_id is not None:
                found = await asyncio.to_thread(self.flows, target)
        if found is not None:
            self.ivr.plan(call_id, found[0], found[1], binding)
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

    async def with_call(self, call_id: str, event: CallEvent, at: datetime) -> None:
        """:meth:`feed` under the call's lock (from outside it)."""
        async with self._locks[call_id]:
            await self.feed(call_id, event, at)

    async def feed(self, call_id: str, event: CallEvent, at: datetime | None = None) -> None:
        """Step the machine (lock held) at ``at`` (Asterisk's event time) and run its commands."""
        state = self.calls.get(call_id)
        if state is None:
            if isinstance(event, machine.LegGone) and event.leg == "caller":
                self._call_ended(call_id, None, event.cause)
                self._locks.pop(call_id, None)  # never a call (refused, probe): keep no lock
            return
        if isinstance(event, machine.LegGone) and event.leg == "caller":
            self.ivr.stop(call_id)
        state, cmds = machine.step(state, event, at or now())
        self.calls[call_id] = state
        await self.run(call_id, cmds)
        if state.phase == Phase.ENDED:
            if state.direction == "campaign" and self.campaigns is not None:
                self.campaigns.ended(state)
            self._call_ended(call_id, state, state.hangup_cause or 0)
            self.calls.pop(call_id, None)
            self.queue.forget(call_id)
            self._locks.pop(call_id, None)
            self.ivr.forget(call_id)

    def _call_ended(self, call_id: str, state: CallState | None, cause: int) -> None:
        for prefix, hook in self.end_hooks:
            if call_id.startswith(prefix):
                hook(call_id, state, cause)

    # ---- commands out ----
    async def run(self, call_id: str, cmds: Sequence[campaign_machine.Out]) -> None:
        """Carry out a machine's commands for ``call_id`` (lock held), each by its owner."""
        for cmd in cmds:
            if isinstance(cmd, StartIvr):
                await self.ivr.start(call_id)
                continue
            if isinstance(cmd, Enqueue | QueueNotify):
                await self.queue.tell(cmd)
                continue
            if isinstance(cmd, campaign_machine.COMMANDS):
                if self.campaigns is not None:
                    await self.campaigns.execute(call_id, cmd)
                continue
            gone = await self.execute(cmd)
            if gone is not None:
                await self.feed(call_id, gone)

    async def execute(self, cmd: machine.Out) -> machine.LegGone | None:
        """Run one command; return a LegGone when ARI says the leg no longer exists."""
        try:
            match cmd:
                case SaveCall(state=state):
                    await self.save(state)
                case c.CreateBridge(bridge_id=b):
                    # Never a bridge Asterisk may make native_rtp: a supervisor's snoop would
                    # switch it and the far end may hear silence (QueueCalls.bridge_type says
                    # why). A queued call's type also depends on its queue's recording.
                    owner = self.calls.get(b.removesuffix("-bridge"))
                    kind = (self.queue.bridge_type(owner.call_id)
                            if owner is not None and owner.queue else "mixing,proxy_media")
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

    async def save(self, state: CallState) -> None:
        """The call's record and live view, written behind the call (``self.records``)."""
        follow_up = bool(state.phase == Phase.ENDED and state.recording and self.jobs is not None)
        if follow_up:  # the job reads the ENDED record: it must be committed first
            await self.records.durable(state)
        else:
            self.records.submit(state)
        await self.queue.phone_use(state)
        if follow_up and self.jobs is not None:
            job_id = "verify-rec-" + state.call_id.replace(".", "-")
            try:  # Redis down: kept in the outbox, queued when it is back (never lost)
                # No database URL in the arguments: they are stored and logged, and a
                # PostgreSQL URL holds a password; the worker has the same settings.
                await asyncio.to_thread(outbox.enqueue, self.jobs, self.db, verify_recording,
                                        state.call_id, job_id=job_id)
            except Exception as err:  # noqa: BLE001 - the record is saved; the check can wait
                log.warning("could not queue %s: %s", job_id, err)

    async def _selftest(self, event: ev.StasisStart) -> None:
        """A probe call (monitoring, ``bench/ari_throughput.py``): answer, count, hang up.

        Not a customer call, so no call record; the count is ``centrala:selftest:answered``.
        """
        channel_id = event.channel.id
        try:
            await self.engine.run(c.Answer(channel_id))
            await self.redis.incr(SELFTEST_ANSWERED_KEY)
        except (AriError, aioredis.RedisError) as err:
            log.warning("selftest %s: %s", channel_id, err)
        await self.hangup_quietly(channel_id)

    async def hangup_quietly(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.engine.run(c.Hangup(channel_id))

