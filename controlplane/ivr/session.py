"""Runs one call's IVR flow over ARI: the adapter around the pure ``ivr_flows.machine``.

The session owns the call's IVR timers and HTTP requests. Every event it feeds
to the machine (DTMF, playback end, timer, HTTP result, recording end) goes
through ``run_locked``, the call service's per-call lock, so IVR and call events
of one call never interleave. Asterisk object ids are made unique per call by
prefixing the machine's own ids: ``<call_id>~<id>``.

The flow ends with one of EnqueueCall, Transfer, Hangup or FlowFinished; the
session then calls ``on_finish(command)`` once and stops.

With ``positions`` the session stores the call's place in the flow after every step that
changes it and forgets it when it stops, so a restarted daemon can :meth:`resume` the call
where it was (``controlplane.calls.ivr_resume``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import aiohttp

from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import Executor
from controlplane.tts import media_uri
from ivr_flows import commands as ic
from ivr_flows import events as ie
from ivr_flows import snapshot
from ivr_flows.machine import new_call, step
from ivr_flows.model import Flow
from ivr_flows.runtime import IvrState
from ivr_flows.tts import TtsEngine

if TYPE_CHECKING:
    from controlplane.calls.ivr_resume import IvrPositions

log = logging.getLogger(__name__)
SEP = "~"
Terminal = ic.EnqueueCall | ic.Transfer | ic.Hangup | ic.FlowFinished


def ari_id(call_id: str, local: str) -> str:
    return f"{call_id}{SEP}{local}"


def split_id(ari: str) -> tuple[str, str] | None:
    call_id, sep, local = ari.partition(SEP)
    return (call_id, local) if sep else None


class IvrSession:
    def __init__(self, call_id: str, flow: Flow, version_id: str, engine: Executor,
                 http: aiohttp.ClientSession, tts: TtsEngine,
                 run_locked: Callable[[Callable[[], Awaitable[None]]], Awaitable[None]],
                 on_finish: Callable[[Terminal, dict[str, Any]], Awaitable[None]],
                 on_tts_chars: Callable[[int], Awaitable[None]] | None = None,
                 subflows: Callable[[str], tuple[str, Flow] | None] | None = None,
                 calendars: dict[str, frozenset[date]] | None = None,
                 audio: Callable[[str], str | None] | None = None,
                 callbacks: Callable[[ic.RequestCallback], None] | None = None,
                 positions: IvrPositions | None = None) -> None:
        self.call_id = call_id
        self.engine = engine
        self.http = http
        self.tts = tts
        self.run_locked = run_locked
        self.on_finish = on_finish
        self.on_tts_chars = on_tts_chars
        self.state = new_call(flow, version_id=version_id, calendars=calendars)
        self.parents: list[IvrState] = []  # callers of the running sub-flow, innermost last
        self.subflows = subflows
        self.audio = audio  # upload name → ARI media URI (blocking look-up)
        self.callbacks = callbacks  # stores a callback request (blocking)
        self.caller = ""
        self.did = ""
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.finished = False
        self.positions = positions
        self._stored: tuple[IvrState, int] | None = None  # the position last stored

    # ---- events in (called with the call lock held) ----
    async def start(self, caller: str, did: str) -> None:
        self.caller, self.did = caller, did
        await self.feed(ie.CallEntered(self.call_id, caller, did))

    async def feed(self, event: Any) -> None:
        if self.finished:
            return
        self.state, cmds = step(self.state, event, datetime.now(UTC))
        await self._run(cmds)

    async def resume(self, data: dict[str, Any], flows: dict[str, Flow]) -> None:
        """Take the call up where a previous process left it: ``data`` is its stored position
        (:func:`ivr_flows.snapshot.dump`), ``flows`` the parsed flow of each version in it."""
        self.caller, self.did = str(data.get("caller", "")), str(data.get("did", ""))
        self.parents, self.state = snapshot.load(data, flows.get, self.state.calendars)
        self.state, cmds = snapshot.resume(self.state, datetime.now(UTC))
        await self._run(cmds)

    async def _run(self, cmds: tuple[Any, ...]) -> None:
        for cmd in cmds:
            if self.finished:
                break
            await self._execute(cmd)
        await self._store_position()

    async def _store_position(self) -> None:
        """Store the call's place if this step moved it (one Redis write, under the lock)."""
        if self.positions is None or self.finished:
            return
        # identity, not equality: a step that changes nothing returns the very same state
        if self._stored is not None and self._stored[0] is self.state \
                and self._stored[1] == len(self.parents):
            return
        self._stored = (self.state, len(self.parents))
        await self.positions.save(self.call_id, self.parents, self.state, self.caller, self.did)

    def close(self) -> None:
        """Stop timers and requests (the caller hung up or the flow ended)."""
        if not self.finished and self.positions is not None:
            self.positions.drop(self.call_id)
        self.finished = True
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:  # a request finishing the flow must not cancel itself
                task.cancel()

    # ---- commands out ----
    async def _execute(self, cmd: Any) -> None:
        ch = self.call_id
        try:
            match cmd:
                case ic.Play():
                    await self._play(cmd)
                case ic.StopPlayback(playback_id=pb):
                    await self.engine.run(c.StopPlayback(ari_id(ch, pb)))
                case ic.StartTimer(timer_id=tid, seconds=secs):
                    self._start_timer(tid, secs)
                case ic.CancelTimer(timer_id=tid):
                    handle = self.timers.pop(tid, None)
                    if handle is not None:
                        handle.cancel()
                case ic.HttpRequest():
                    self._spawn(self._http(cmd))
                case ic.RecordMessage(name=name, max_duration_s=mx, beep=beep, terminate_on=term):
                    await self.engine.run(c.RecordChannel(ch, ari_id(ch, name), mx, beep, term))
                case ic.StopRecording(name=name):
                    await self.engine.run(c.StopLiveRecording(ari_id(ch, name)))
                case ic.SetLanguage(language=lang):
                    await self.engine.run(c.SetChannelVar(ch, "CHANNEL(language)",
                                                       lang.split("-")[0]))
                case ic.RequestCallback():
                    if self.callbacks is None:
                        log.warning("IVR %s: callback request not stored (no store)", ch)
                    else:
                        await asyncio.to_thread(self.callbacks, cmd)
                case ic.StartSubflow():
                    await self._start_subflow(cmd)
                case ic.FlowFinished(outcome=outcome, variables=variables) if self.parents:
                    # A sub-flow ended: its caller carries on (or learns the call is over).
                    self.state = self.parents.pop()
                    await self.feed(ie.SubflowReturned(outcome, variables))
                case ic.EnqueueCall() | ic.Transfer() | ic.Hangup() | ic.FlowFinished():
                    await self._finish(cmd)
                case _:
                    log.warning("IVR command %s not handled", type(cmd).__name__)
        except AriError as err:
            if err.status == 404:  # the channel left; its StasisEnd follows
                return
            log.warning("IVR %s: %s failed: %s", ch, type(cmd).__name__, err)

    async def _start_subflow(self, cmd: ic.StartSubflow) -> None:
        """Run the tenant's published flow ``cmd.flow_id`` as a child until it returns."""
        found = None
        if self.subflows is not None:
            found = await asyncio.to_thread(self.subflows, cmd.flow_id)
        if found is None:
            log.warning("IVR %s: sub-flow %s is not published; leaving the IVR", self.call_id,
                        cmd.flow_id)
            await self._finish(ic.FlowFinished("error", self.state.node_id, ()))
            return
        version_id, flow = found
        parent = self.state
        self.parents.append(parent)
        self.state = new_call(
            flow, version_id=version_id, calendars=parent.calendars,
            scope=f"{parent.scope}.{len(self.parents)}", depth=parent.depth + 1,
            deadline=cmd.deadline, language=cmd.language, voice=cmd.voice,
        )
        await self.feed(ie.CallEntered(self.call_id, self.caller, self.did, cmd.variables))

    async def _finish(self, cmd: Terminal) -> None:
        if self.finished:
            return
        variables = dict(self.state.variables)
        self.close()
        await self.on_finish(cmd, variables)

    async def _play(self, cmd: ic.Play) -> None:
        if cmd.tts_text is not None:
            path = await asyncio.to_thread(self.tts.synthesize, cmd.tts_text, cmd.voice)
            media = media_uri(path)
            if cmd.billable_chars and self.on_tts_chars is not None:
                await self.on_tts_chars(cmd.billable_chars)
        else:
            media = cmd.media or ""
            if media.startswith("audio:"):
                name = media.removeprefix("audio:")
                found = await asyncio.to_thread(self.audio, name) if self.audio else None
                if found is None:  # deleted since the flow was published: skip, no dead air
                    log.warning("IVR %s: uploaded audio %s is missing; skipped", self.call_id, name)
                    await self.feed(ie.PlaybackFinished(cmd.playback_id))
                    return
                media = found
        await self.engine.run(c.Play(self.call_id, media, ari_id(self.call_id, cmd.playback_id)))

    def _start_timer(self, timer_id: str, seconds: float) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self.timers.pop(timer_id, None)
            self._spawn(self.run_locked(lambda: self.feed(ie.TimerFired(timer_id))))

        old = self.timers.pop(timer_id, None)
        if old is not None:
            old.cancel()
        self.timers[timer_id] = loop.call_later(max(seconds, 0), fire)

    async def _http(self, cmd: ic.HttpRequest) -> None:
        result: ie.HttpResult
        try:
            async with self.http.request(
                cmd.method, cmd.url, headers=dict(cmd.headers),
                json=cmd.body if cmd.body is not None else None,
                timeout=aiohttp.ClientTimeout(total=cmd.timeout_s),
            ) as resp:
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
                result = ie.HttpResult(cmd.request_id, resp.status, body)
        except (aiohttp.ClientError, TimeoutError) as err:
            result = ie.HttpResult(cmd.request_id, None, None, f"{type(err).__name__}: {err}")
        await self.run_locked(lambda: self.feed(result))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
