"""The call service's campaign part: place a dialer attempt, run AMD, report what happened.

The dialer's seam ("place this call, tell me what happened"): :meth:`CampaignCalls.place`
takes a :class:`~controlplane.dialer.live.PlaceCall`; when the call is over one
:class:`~controlplane.dialer.live.AttemptResult` is published as ``dialer.attempt`` on
``centrala:events`` and handed to ``on_result`` (set by the composition root).

Flow (pure parts: :mod:`controlplane.calls.campaign_machine`, then the QUEUED/ABANDONING
phases of :mod:`controlplane.calls.machine`):

* the customer's leg is originated over the tenant's trunk as channel
  ``campaign-<attempt id>`` into the Stasis app with ``campaign,<attempt id>``; a leg
  destroyed before answer ends the call with its cause (busy, no answer, unallocated…);
* on answer, the live AMD room (:class:`controlplane.amd_live.service.LiveAmd`) decides on the
  leg (in a task, never under the call's lock) with Asterisk's ``AMD()`` alongside on a
  second snoop; MACHINE → hang up, no
  agent leg is ever created; anything else (NOTSURE included) is a person → the ACD queue,
  with a connect deadline of the greeting end + 2 s minus a withdraw margin: no agent by
  then → the abandon message, then hang-up.

AMD's snoop and media channels live in a Stasis app of their own (``<app>-amd``, whose events
websocket :meth:`CampaignCalls.run` holds through :meth:`LiveAmd.run`), so the call service
never sees them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from controlplane.amd_live.service import LiveAmd
from controlplane.bus import DIALER_PROGRESS_KEY
from controlplane.calls import campaign_machine as cm
from controlplane.calls import campaign_store, machine
from controlplane.calls.campaign_progress import _Progress, _result, dump_progress, load_progress
from controlplane.calls.common import now
from controlplane.dialer.live import (
    AttemptResult,
    InvalidPlaceCall,
    PlaceCall,
    call_id_for,
)
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, event_fields
from controlplane.tts import media_uri

if TYPE_CHECKING:
    from amd.detector import DetectorConfig
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
# call id → the attempt's progress as JSON (:func:`dump_progress`), so a restarted daemon can
# carry the attempt on (:meth:`CampaignCalls.adopt`); removed when the attempt is reported.
PROGRESS_KEY = DIALER_PROGRESS_KEY
ResultHook = Callable[[AttemptResult], "Awaitable[None] | None"]
MACHINE_GRACE_S = 3.0  # a machine stays on the line this long for AMD()'s comparison verdict


class AttemptRefused(Exception):
    """The attempt cannot be placed (placed before, unknown trunk, no TTS for the message)."""


class OutboundRefused(AttemptRefused):
    """The toll-fraud guard refused the attempt (nothing was dialled; the call record and
    the audit say why). ``final``: the number itself may not be called, so the record is
    closed; otherwise a cap was reached and the record may be dialled later."""

    def __init__(self, message: str, reason: str, final: bool) -> None:
        super().__init__(message)
        self.reason, self.final = reason, final


class CampaignCalls:
    """Owned by :class:`CallService` (``calls.campaigns``); see the module docstring."""

    def __init__(self, calls: CallService, *, on_result: ResultHook | None = None,
                 amd_config: DetectorConfig | None = None, amd_timeout_s: float = 6.0,
                 app_amd: bool = True) -> None:
        self.calls = calls
        self.on_result = on_result
        self.amd = LiveAmd(calls.settings, config=amd_config, timeout_s=amd_timeout_s,
                           app_amd=app_amd)
        self.amd_timeout_s = amd_timeout_s
        self._progress: dict[str, _Progress] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._amd_tasks: dict[str, list[asyncio.Task[None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writes: dict[str, asyncio.Task[None]] = {}  # the last progress write per call
        calls.router.start_kind("campaign", self.answered)  # StasisStart campaign,<attempt>

    # ---- the composition root's side ----
    async def run(self) -> None:
        """Hold the AMD app's events websocket (AMD channels need a registered app)."""
        await self.amd.run()

    def submit(self, data: dict[str, Any]) -> None:
        """A ``{"cmd": "dialer.place", ...}`` command: placed in a task of its own; a refusal
        is published as ``dialer.refused`` (attempt id and reason)."""
        self._spawn(self._submit(data))

    async def _submit(self, data: dict[str, Any]) -> None:
        try:
            await self.place(PlaceCall.from_command(data))
        except (InvalidPlaceCall, AttemptRefused) as err:
            log.warning("dialer.place refused: %s", err)
            await self._publish("dialer.refused", attempt_id=data.get("attempt_id"),
                                reason=str(err))

    async def place(self, place: PlaceCall) -> str:
        """Dial ``place`` now; returns the call id. Raises :class:`AttemptRefused`."""
        svc, call_id = self.calls, place.call_id
        if call_id in svc.calls or call_id in self._progress:
            raise AttemptRefused(f"attempt {place.attempt_id!r} is in progress")
        refused = await asyncio.to_thread(campaign_store.refusal, self.calls.db, place)
        if refused is not None:
            raise AttemptRefused(refused)
        plan = cm.CampaignPlan(place.attempt_id, place.dial, place.ring_timeout_s, place.queue,
                               await self._abandon_media(place), place.amd, place.priority,
                               place.skills)
        binding = machine.Binding(place.tenant_id, "campaign", place.number, None, place.trunk,
                                  None, None, None)
        async with svc.lock(call_id):
            if call_id in svc.calls or call_id in self._progress:
                raise AttemptRefused(f"attempt {place.attempt_id!r} is in progress")
            # what the carrier receives is judged: the number without its '+' (PlaceCall.dial)
            verdict = await svc.guard.check(call_id=call_id, tenant_id=place.tenant_id,
                                            trunk=place.trunk, number=place.number.lstrip("+"),
                                            via="campaign", actor=f"attempt {place.attempt_id}")
            if not verdict.allowed:
                await svc.guard.refuse_attempt(call_id, place.tenant_id, place.number,
                                               place.caller_id, place.trunk, verdict)
                raise OutboundRefused(f"attempt {place.attempt_id!r} refused: {verdict.reason}",
                                      verdict.reason, verdict.final)
            # allowed: no await until the call is in svc.calls (the guard counted it free)
            self._progress[call_id] = _Progress(place, plan)
            self._persist(call_id)
            state, cmds = cm.start(cm.CampaignEntered(call_id, place.caller_id, binding, plan),
                                   now())
            svc.calls[call_id] = state
            await svc.run(call_id, cmds)
        return call_id

    async def _abandon_media(self, place: PlaceCall) -> str:
        """``sound:…`` as given; text synthesised now, so nothing waits for it at the deadline."""
        prompt = place.abandon_prompt.strip()
        if prompt.startswith("sound:"):
            return prompt
        tts = self.calls.tts
        if tts is None:
            raise AttemptRefused(f"attempt {place.attempt_id!r}: abandon_prompt is text but "
                                 "this control plane has no TTS engine")
        try:
            path = await asyncio.to_thread(tts.synthesize, prompt, place.voice)
        except Exception as err:
            raise AttemptRefused(f"attempt {place.attempt_id!r}: abandon_prompt could not be "
                                 f"synthesised: {err}") from err
        return media_uri(path)

    # ---- hooks called by the call service ----
    async def answered(self, event: ev.StasisStart) -> None:
        """StasisStart ``campaign,<attempt>``: the customer answered."""
        call_id = event.channel.id
        if len(event.args) < 2 or call_id != call_id_for(event.args[1]) or call_id not in self._progress:
            # Not placed by this process (it restarted meanwhile): the plan is lost.
            log.warning("campaign leg %s is not known here; hanging up", call_id)
            await self.calls.hangup_quietly(call_id)
            return
        self._update(call_id, answer_at=event.at)
        await self._step(call_id, cm.CustomerAnswered(), event.at)

    async def execute(self, call_id: str, cmd: cm.CampaignOut) -> None:
        """Run a campaign command (the call's lock is held)."""
        svc = self.calls
        match cmd:
            case cm.DialCustomer():
                self._update(call_id, dial_at=now())
                try:
                    await svc.engine.run(c.Originate(cmd.channel_id, cmd.endpoint, cmd.app_args,
                                                     cmd.caller_id or None, cmd.timeout_s))
                except AriError as err:
                    log.warning("campaign %s: originate refused: %s", call_id, err)
                    await svc.feed(call_id, machine.LegGone(
                        "caller", 0, f"Originate refused (ARI {err.status})"))
            case cm.RunAmd():
                task = self._spawn(self._detect(call_id))
                self._amd_tasks.setdefault(call_id, []).append(task)
            case cm.ArmDeadline(at=at):
                delay = max(0.0, (at - now()).total_seconds())
                self._timers[call_id] = asyncio.get_running_loop().call_later(
                    delay, svc.post, call_id, machine.ConnectDeadline())
            case machine.PlayAbandon(channel_id=ch, media=media, playback_id=pb):
                self._update(call_id, abandoned=True)
                try:
                    await svc.engine.run(c.Play(ch, media, pb))
                    self._update(call_id, message_start_at=now())
                except AriError as err:
                    if err.status == 404:
                        return  # the customer is gone; their hang-up event follows
                    log.warning("campaign %s: abandon message failed: %s", call_id, err)
                    await svc.feed(call_id, machine.PromptDone(pb))  # release them anyway

    def ended(self, state: machine.CallState) -> None:
        """The call reached ENDED (lock held): report it once its AMD tasks are done."""
        self._spawn(self._report(state))

    # ---- AMD (the live AMD room decides; this reports to the call) ----
    async def _detect(self, call_id: str) -> None:
        prog = self._progress.get(call_id)
        if prog is None:
            return
        if self.amd.app_amd:
            ref = self._spawn(self._asterisk_amd(call_id, prog.answer_at or now()))
            self._amd_tasks.setdefault(call_id, []).append(ref)
        decision = await self.amd.decide(call_id, prog.answer_at)
        decided = now()
        self._update(call_id, amd_verdict=decision.label, amd_cause=decision.cause,
                     amd_source=decision.source, amd_decision_at=decided,
                     amd_decision_ms=decision.decision_ms,
                     greeting_end_at=decided if decision.human else None)
        if not decision.human:  # no hurry: let AMD() answer for the comparison before hanging up
            refs = [t for t in self._amd_tasks.get(call_id, ()) if t is not asyncio.current_task()]
            if refs:
                await asyncio.wait(refs, timeout=MACHINE_GRACE_S)
        await self._step(call_id, cm.AmdDecided(decision.human, decided, decision.cause), now())

    async def _asterisk_amd(self, call_id: str, answered_at: datetime) -> None:
        """Asterisk's ``AMD()`` verdict, for comparison only, kept with the attempt."""
        got = await self.amd.compare(call_id, answered_at)
        if got is not None:
            self._update(call_id, app_amd=got)

    # ---- report ----
    async def _report(self, state: machine.CallState) -> None:
        call_id = state.call_id
        timer = self._timers.pop(call_id, None)
        if timer is not None:
            timer.cancel()
        tasks = self._amd_tasks.pop(call_id, [])
        if tasks:
            await asyncio.wait(tasks, timeout=self.amd_timeout_s + 8)
        prog = self._progress.pop(call_id, None)
        # Cleared before the result is out: whoever sees the result sees no progress left.
        await self._queue_write(call_id, None)
        result = _result(state, prog)
        try:
            if prog is not None and prog.amd_verdict is not None:
                await asyncio.to_thread(campaign_store.save_amd, self.calls.db, call_id, prog)
        except Exception as err:  # noqa: BLE001 - the result must still be reported
            log.warning("campaign %s: AMD verdicts not stored: %s", call_id, err)
        await self._publish("dialer.attempt", **result.to_event())
        if self.on_result is not None:
            try:
                done = self.on_result(result)
                if inspect.isawaitable(done):
                    await done
            except Exception:  # noqa: BLE001 - a failing consumer must not lose later results
                log.exception("on_result failed for %s", call_id)

    async def _publish(self, kind: str, **payload: Any) -> None:
        fields: dict[Any, Any] = event_fields(kind, **payload)
        try:
            await self.calls.redis.xadd(EVENTS_STREAM, fields, maxlen=EVENTS_MAXLEN,
                                        approximate=True)
        except aioredis.RedisError as err:
            log.warning("%s not published: %s", kind, err)

    # ---- small things ----
    async def _step(self, call_id: str, event: cm.CampaignEvent, at: datetime) -> None:
        svc = self.calls
        if call_id not in svc.calls:
            return
        async with svc.lock(call_id):
            state, prog = svc.calls.get(call_id), self._progress.get(call_id)
            if state is None or prog is None:
                return
            state, cmds = cm.step(state, prog.plan, event, at)
            svc.calls[call_id] = state
            await svc.run(call_id, cmds)

    def _update(self, call_id: str, **changes: Any) -> None:
        prog = self._progress.get(call_id)
        if prog is not None:
            self._progress[call_id] = replace(prog, **changes)
            self._persist(call_id)

    def _persist(self, call_id: str) -> None:
        prog = self._progress.get(call_id)
        if prog is not None:
            self._queue_write(call_id, dump_progress(prog))

    def _queue_write(self, call_id: str, data: str | None) -> asyncio.Task[None]:
        """Write (or with ``None`` delete) the call's progress after its earlier writes:
        each write is a task of its own on a pooled connection, and an ``HSET`` that
        overtook the final ``HDEL`` would leave a finished attempt's progress behind."""
        task = self._spawn(self._write(call_id, data, self._writes.get(call_id)))
        self._writes[call_id] = task
        task.add_done_callback(
            lambda t: self._writes.pop(call_id) if self._writes.get(call_id) is t else None)
        return task

    async def _write(self, call_id: str, data: str | None,
                     after: asyncio.Task[None] | None) -> None:
        if after is not None:
            await asyncio.wait([after])
        try:
            if data is None:
                await self.calls.redis.hdel(PROGRESS_KEY, call_id)
            else:
                await self.calls.redis.hset(PROGRESS_KEY, call_id, data)
        except aioredis.RedisError as err:  # the attempt goes on; only a restart would miss it
            log.warning("campaign %s: progress not kept in Redis: %s", call_id, err)

    # ---- after a restart ----
    async def restore(self, call_id: str) -> bool:
        """Take back a campaign call's progress from Redis after a restart (the call's lock
        is held). Reconcile does this before it feeds the call the hang-ups that happened
        while no control plane ran (a ring timeout, the customer hanging up), so the
        attempt's result is reported from its own progress (``no_answer``, ...), not as
        "the control plane restarted". False when there is none to take back."""
        if call_id in self._progress:
            return True
        try:
            raw = await self.calls.redis.hget(PROGRESS_KEY, call_id)
        except aioredis.RedisError as err:
            log.warning("campaign %s: progress not read after the restart: %s", call_id, err)
            return False
        if raw is None:
            return False
        self._progress[call_id] = load_progress(raw)
        return True

    async def adopt(self, call_id: str) -> None:
        """A campaign call found alive after a restart (the call's lock is held): take back
        its progress from Redis, then carry it on by phase. Ringing: nothing (the answer is
        handled as usual). In AMD or waiting for an agent: the detection and the 2 s window
        were lost with the old process, so the person hears the abandon message now (the
        call counts as abandoned). Hearing the message: released. Talking: nothing."""
        svc = self.calls
        state = svc.calls.get(call_id)
        if state is None or not await self.restore(call_id):
            return
        prog = self._progress[call_id]
        t = now()
        log.info("campaign %s adopted after a restart in phase %s", call_id, state.phase)
        if state.phase in (machine.Phase.AMD, machine.Phase.QUEUED):
            if state.phase == machine.Phase.AMD:
                self._update(call_id, amd_verdict="NOTSURE", amd_source="error",
                             greeting_end_at=t, amd_decision_at=t)
            svc.calls[call_id] = replace(state, phase=machine.Phase.QUEUED, connect_by=t,
                                         abandon_media=prog.plan.abandon_media)
            await svc.feed(call_id, machine.ConnectDeadline())
        elif state.phase == machine.Phase.ABANDONING:
            self._update(call_id, abandoned=True)
            await svc.feed(call_id, machine.PromptDone(state.prompt_playback))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
