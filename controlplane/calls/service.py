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
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from rq import Queue
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.service import QueueService, UnknownQueue, UnknownTenant
from controlplane.calls import machine, records, routing
from controlplane.calls.hangup_log import read_hangups
from controlplane.calls.ivr_session import IvrSession, Terminal, split_id
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
from controlplane.config import Settings
from controlplane.db import transaction
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriClient, AriError
from controlplane.jobs.recordings import verify_recording
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, LIVE_CALLS_KEY, LiveCall, event_fields
from controlplane.tts import TtsMeter
from dialplan.render import cel_log_path
from ivr_flows import commands as ic
from ivr_flows import events as ie
from ivr_flows.model import Flow
from ivr_flows.tts import TtsEngine

log = logging.getLogger(__name__)
# DID → (flow version id, parsed flow) for a new call; None when the DID has no flow.
FlowLookup = Callable[[str], "tuple[str, Flow] | None"]
PROMPT_SUFFIX = "-prompt"
ANNOUNCE_SUFFIX = "-announce"
FEATURE_SUFFIX = "-featurecode"
# Q.850 causes seen on a contact center's calls (ARI sends only the number with StasisEnd).
CAUSES = {1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
          18: "No user responding", 19: "User alerting, no answer", 21: "Call Rejected",
          20: "Subscriber absent", 27: "Destination out of order", 32: "Normal circuit congestion",
          34: "Circuit/channel congestion", 38: "Network out of order", 127: "Interworking, unspecified"}


def now() -> datetime:
    return datetime.now(UTC)


class CallService:
    def __init__(self, settings: Settings, ari: AriClient, db: sessionmaker[Session],
                 redis: aioredis.Redis, jobs: Queue | None = None,
                 flows: FlowLookup | None = None, tts: TtsEngine | None = None,
                 http: aiohttp.ClientSession | None = None) -> None:
        self.settings = settings
        self.ari = ari
        self.db = db
        self.redis = redis
        self.jobs = jobs
        self.calls: dict[str, CallState] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._causes: dict[str, int] = {}  # hang-up cause announced before StasisEnd
        self.flows = flows
        self.tts = tts
        self.http = http
        self._ivr: dict[str, IvrSession] = {}
        self._ivr_plan: dict[str, tuple[str, Flow, Binding]] = {}  # call id → flow to run
        self.acd: QueueService | None = None  # set by the composition root (needs us first)
        self._posted: set[asyncio.Task[None]] = set()

    # ---- ARI events in ----
    async def on_event(self, event: ev.Event) -> None:
        log.debug("event %s", event)
        if isinstance(event, ev.StasisStart):
            kind = event.args[0] if event.args else ""
            if kind == "agent" and len(event.args) > 1:
                await self._with_call(event.args[1], machine.AgentAnswered(event.channel.id),
                                      event.at)
            elif kind in ("inbound", "outbound"):
                await self._enter(event, kind)
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
            await self._to_ivr(event.channel.id, ie.DtmfReceived(event.digit))
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
        if kind == "inbound":
            binding = await asyncio.to_thread(routing.inbound_binding, self.db, target)
        else:
            binding = await asyncio.to_thread(routing.outbound_binding, self.db,
                                              event.channel.endpoint, target)
        caller = event.channel.caller_number or "anonymous"
        if kind == "inbound" and self.flows is not None and binding.tenant_id is not None:
            found = await asyncio.to_thread(self.flows, target)
            if found is not None:
                self._ivr_plan[call_id] = (found[0], found[1], binding)
                # Who answers is decided by the flow; the DID's phone is only the fallback.
                binding = replace(binding, ivr=True, dial=None, agent_endpoint=None)
        async with self._locks[call_id]:
            if call_id in self.calls:
                return
            state, cmds = machine.start(machine.Entered(call_id, caller, binding), event.at)
            self.calls[call_id] = state
            await self._run(call_id, cmds)

    async def _with_call(self, call_id: str, event: CallEvent, at: datetime) -> None:
        async with self._locks[call_id]:
            await self._feed(call_id, event, at)

    async def _feed(self, call_id: str, event: CallEvent, at: datetime | None = None) -> None:
        """Step the machine (lock held) at ``at`` (Asterisk's event time) and run its commands."""
        state = self.calls.get(call_id)
        if state is None:
            return
        if isinstance(event, machine.LegGone) and event.leg == "caller":
            await self._stop_ivr(call_id)
        state, cmds = machine.step(state, event, at or now())
        self.calls[call_id] = state
        await self._run(call_id, cmds)
        if state.phase == Phase.ENDED:
            self.calls.pop(call_id, None)
            self._locks.pop(call_id, None)
            self._ivr_plan.pop(call_id, None)

    # ---- commands out ----
    async def _run(self, call_id: str, cmds: list[machine.Out]) -> None:
        for cmd in cmds:
            if isinstance(cmd, StartIvr):
                await self._start_ivr(call_id)
                continue
            if isinstance(cmd, Enqueue | QueueNotify):
                await self._to_queue(cmd)
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
                case c.Answer(channel_id=ch):
                    await self.ari.post(f"/channels/{ch}/answer")
                case c.Play(channel_id=ch, media=media, playback_id=pb):
                    await self.ari.post(f"/channels/{ch}/play/{pb}", media=media)
                case StartMoh(channel_id=ch):
                    await self.ari.post(f"/channels/{ch}/moh")
                case StopMoh(channel_id=ch):
                    await self.ari.delete(f"/channels/{ch}/moh")
                case c.StartRinging(channel_id=ch):
                    await self.ari.post(f"/channels/{ch}/ring")
                case c.StopRinging(channel_id=ch):
                    await self.ari.delete(f"/channels/{ch}/ring")
                case c.CreateBridge(bridge_id=b):
                    await self.ari.post(f"/bridges/{b}", type="mixing", name=b)
                case c.AddToBridge(bridge_id=b, channel_ids=chs):
                    await self.ari.post(f"/bridges/{b}/addChannel", channel=",".join(chs))
                case c.RecordBridge(bridge_id=b, name=name):
                    await self.ari.post(f"/bridges/{b}/record", name=name, format="wav",
                                        ifExists="overwrite", beep=False)
                case c.Originate():
                    return await self._originate(cmd)
                case c.Hangup(channel_id=ch, reason=reason):
                    await self.ari.delete(f"/channels/{ch}", reason=reason)
                case c.DestroyBridge(bridge_id=b):
                    await self.ari.delete(f"/bridges/{b}")
                case _:
                    raise TypeError(f"unknown command {cmd!r}")
        except AriError as err:
            if err.status == 404 and isinstance(cmd, c.Hangup):
                agent = machine.call_of_agent_channel(cmd.channel_id) is not None
                return machine.LegGone("agent" if agent else "caller", 16, "Normal Clearing",
                                       estimated=True, channel=cmd.channel_id if agent else None)
            if err.status in (404, 409) and isinstance(cmd, (c.DestroyBridge, c.StopRinging, c.Play,
                                                              c.Answer, c.StartRinging, StartMoh,
                                                              StopMoh)):
                return None  # the channel or bridge is already gone; its own event follows
            log.warning("command %s failed: %s", type(cmd).__name__, err)
        return None

    async def _originate(self, cmd: c.Originate) -> machine.LegGone | None:
        variables: dict[str, Any] = {f"PJSIP_HEADER(add,{k})": v for k, v in cmd.headers}
        try:
            await self.ari.post(
                "/channels", {"variables": variables}, endpoint=cmd.endpoint, app=self.ari.app,
                appArgs=cmd.app_args, callerId=cmd.caller_id, timeout=cmd.timeout_s,
                channelId=cmd.channel_id,
            )
        except AriError as err:
            log.info("originate %s refused: %s", cmd.endpoint, err)
            return machine.LegGone("agent", 20, "Subscriber absent", channel=cmd.channel_id)
        return None

    async def _save(self, state: CallState) -> None:
        await asyncio.to_thread(records.save, self.db, state, self.settings.recordings_dir)
        if state.phase == Phase.ENDED and state.recording and self.jobs is not None:
            job_id = "verify-rec-" + state.call_id.replace(".", "-")
            try:
                await asyncio.to_thread(self.jobs.enqueue, verify_recording, state.call_id,
                                        self.settings.database_url, job_id=job_id)
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

    # ---- IVR ----
    async def _start_ivr(self, call_id: str) -> None:
        """Run the DID's flow (lock held). No flow or no TTS engine: ring the DID's phone."""
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

        session = IvrSession(call_id, flow, version_id, self.ari, self.http, self.tts,
                             run_locked, on_finish, bill_tts)
        self._ivr[call_id] = session
        await session.start(state.caller, state.did or "")

    def _fallback(self, call_id: str) -> tuple[str | None, str | None, str | None]:
        plan = self._ivr_plan.get(call_id)
        state = self.calls.get(call_id)
        binding = plan[2] if plan else None
        if binding is None and state is not None:
            return state.dial, state.agent_endpoint, None
        return (binding.dial, binding.agent_endpoint, None) if binding else (None, None, None)

    async def _ivr_finished(self, call_id: str, cmd: Terminal) -> None:
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
            case _:
                event = machine.IvrFinished(getattr(cmd, "outcome", "hangup"))
        await self._feed(call_id, event)

    async def _to_ivr(self, call_id: str, event: object) -> None:
        async with self._locks[call_id]:
            session = self._ivr.get(call_id)
            if session is not None:
                await session.feed(event)

    async def _stop_ivr(self, call_id: str) -> None:
        session = self._ivr.pop(call_id, None)
        if session is not None:
            session.close()

    # ---- queues (ACD) ----
    def post(self, call_id: str, event: CallEvent) -> None:
        """Feed ``event`` to a call from outside its lock (the queue service's decisions)."""
        task = asyncio.ensure_future(self._with_call(call_id, event, now()))
        self._posted.add(task)
        task.add_done_callback(self._posted.discard)

    async def _to_queue(self, cmd: Enqueue | QueueNotify) -> None:
        """Tell the queue service (call lock held; it answers through ``post``)."""
        acd = self.acd
        state = self.calls.get(cmd.call_id)
        if acd is None or state is None:
            return
        try:
            if isinstance(cmd, Enqueue):
                await acd.enqueue(cmd.call_id, state.tenant_id or 0, cmd.queue, cmd.priority,
                                  cmd.skills, state.caller)
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

    def announce(self, call_id: str, position: int, ewt_s: float) -> None:
        """Tell a waiting caller their place; hold music resumes after it."""
        media = ("sound:queue-youarenext" if position <= 1 else
                 f"sound:queue-thereare,number:{position - 1},sound:queue-callswaiting")

        async def play() -> None:
            async with self._locks[call_id]:
                state = self.calls.get(call_id)
                if state is None or state.phase != Phase.QUEUED:
                    return
                try:
                    await self.ari.post(f"/channels/{call_id}/play/{call_id}{ANNOUNCE_SUFFIX}",
                                        media=media)
                except AriError as err:
                    log.info("announcement on %s: %s", call_id, err)

        task = asyncio.ensure_future(play())
        self._posted.add(task)
        task.add_done_callback(self._posted.discard)

    async def _after_announcement(self, call_id: str) -> None:
        async with self._locks[call_id]:
            state = self.calls.get(call_id)
            if state is not None and state.phase == Phase.QUEUED:
                await self._execute(StartMoh(call_id))

    async def _feature_code(self, channel_id: str, endpoint: str, code: str) -> None:
        """A desk phone dialled ``*50``…: change the agent's state and say so (no call record)."""
        assert self.acd is not None
        sound = await self.acd.feature_code(endpoint, code)
        try:
            await self.ari.post(f"/channels/{channel_id}/answer")
            await self.ari.post(f"/channels/{channel_id}/play/{channel_id}{FEATURE_SUFFIX}",
                                media=sound)
        except AriError as err:
            log.info("feature code %s on %s: %s", code, channel_id, err)
            await self._hangup_quietly(channel_id)

    async def _selftest(self, channel_id: str) -> None:
        """A probe call (monitoring, ``bench/ari_throughput.py``): answer, count, hang up.

        Not a customer call, so no call record; the count is ``centrala:selftest:answered``.
        """
        try:
            await self.ari.post(f"/channels/{channel_id}/answer")
            await self.redis.incr("centrala:selftest:answered")
        except (AriError, aioredis.RedisError) as err:
            log.warning("selftest %s: %s", channel_id, err)
        await self._hangup_quietly(channel_id)

    async def _hangup_quietly(self, channel_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.ari.delete(f"/channels/{channel_id}")

    # ---- after a (re)connect: make our state agree with Asterisk ----
    async def reconcile(self) -> None:
        """Adopt calls from the database, finish those whose legs vanished, hang up orphans."""
        channels = {ch["id"]: ch for ch in await self.ari.get("/channels")}
        stored = await asyncio.to_thread(records.active, self.db)
        for row in stored:
            if row.call_id not in self.calls:
                self.calls[row.call_id] = records.state_from_record(row)
        await self.redis.delete(LIVE_CALLS_KEY)
        for call_id in list(self.calls):
            async with self._locks[call_id]:
                await self._reconcile_call(call_id, channels)
        known = set(self.calls)
        for ch_id in channels:
            owner = machine.call_of_agent_channel(ch_id)
            if owner is not None and owner not in known:
                log.warning("orphan agent leg %s: hanging up", ch_id)
                await self._hangup_quietly(ch_id)
        log.info("reconciled: %d calls live, %d channels in Asterisk", len(self.calls), len(channels))

    async def _reconcile_call(self, call_id: str, channels: dict[str, Any]) -> None:
        state = self.calls.get(call_id)
        if state is None:
            return
        gone = {call_id} if state.caller_alive and call_id not in channels else set()
        if (state.agent_alive or state.agent_dialed) and state.agent_channel not in channels:
            gone.add(state.agent_channel)
        # Asterisk logged when and why each vanished leg hung up (CEL); fall back to "now".
        logged = await asyncio.to_thread(read_hangups, cel_log_path(self.settings), gone)
        for channel_id in sorted(gone, key=lambda ch: logged[ch].at if ch in logged else now()):
            agent = channel_id != call_id
            leg, channel = ("agent", channel_id) if agent else ("caller", None)
            if channel_id in logged:
                h = logged[channel_id]
                await self._feed(call_id, machine.LegGone(leg, h.cause, CAUSES.get(h.cause, str(h.cause)),
                                                          channel=channel), h.at)
            else:
                await self._feed(call_id, machine.LegGone(leg, 16, "Normal Clearing", True, channel))
        state = self.calls.get(call_id)
        if state is None:
            return
        if state.phase == Phase.IVR and call_id not in self._ivr:
            # The flow's place was lost with the old process: ring the DID's phone rather
            # than leave the caller in silence.
            binding = await asyncio.to_thread(routing.inbound_binding, self.db, state.did or "")
            await self._feed(call_id, machine.IvrFinished("restart", binding.dial,
                                                          binding.agent_endpoint))
        elif state.phase == Phase.QUEUED:
            # Waiting calls are not restored by the queue service: withdraw a ring in flight
            # and queue the caller again, with hold music.
            await self._feed(call_id, machine.CancelOffer("restart"))
            await self._execute(StartMoh(call_id))
            if state.queue is not None:
                await self._to_queue(Enqueue(call_id, state.queue, 0, ()))
        elif state.phase == Phase.PROMPT:
            try:
                await self.ari.get(f"/playbacks/{state.prompt_playback}")
            except AriError:  # the prompt ended while we were away
                await self._feed(call_id, machine.PromptDone(state.prompt_playback))
        elif state.phase == Phase.DIALING and channels.get(state.agent_channel, {}).get("state") == "Up":
            await self._feed(call_id, machine.AgentAnswered())
        if call_id in self.calls:
            await self._save(self.calls[call_id])
