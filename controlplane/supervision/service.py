"""Supervision in the daemon: sessions in progress, their Stasis app, their teardown.

Theory of operation
-------------------
The panel sends one bus command, ``supervision`` (``action`` start | mode | stop, a
``target``: ``agent:<user id>`` or ``call:<call id>`` to start, ``session:<id>`` after), on
behalf of a supervisor the command guard has verified. :meth:`SupervisionService.handle`
answers on the reply key at once: a start is answered once the supervisor's phone is being
rung (the session id), not when it is answered.

The target is resolved here, from the call service's own calls: only a call of the
supervisor's tenant that is talking to an agent can be supervised, and the snoop is put on
that call's agent leg: the supervisor never names a channel. The session's objects live in
a Stasis app of their own (``<app>-sv``, whose events websocket the daemon holds for
:meth:`on_event` and :meth:`on_connect`), so the
call service never sees them, and their commands are :mod:`.plan`'s, run through the engine's
executor. The phone's StasisStart (it answered) connects the session; its hang-up, the
current snoop's end (its agent leg is gone) or the call's end (the call service's end hook)
ends it. Ending only removes the session's own objects, in a task of its own, so monitoring
never delays the call's hang-up or the agent's state. Every start, switch and end is a row
change and an audit line (:mod:`.store`), and a ``supervision.changed`` event on
``centrala:events`` (the agent's desktop card shows it when the tenant tells its agents).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis

from controlplane.acd.commands import push_reply
from controlplane.calls.machine import CallState, Phase
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriError
from controlplane.errors import CentralaError
from controlplane.live import EVENTS_MAXLEN, EVENTS_STREAM, event_fields
from controlplane.supervision import orphans, plan, store
from controlplane.supervision.exceptions import (
    AlreadySupervising,
    NoSupervisorPhone,
    NothingToSupervise,
    SessionNotFound,
    SupervisionError,
)

if TYPE_CHECKING:
    from controlplane.calls.service import CallService
    from controlplane.config import Settings

log = logging.getLogger(__name__)
RING_TIMEOUT_S = 30
ADD_RETRY_S = 2.0  # a new snoop may not be in Stasis yet when it is added to the bridge


class SupervisionService:
    def __init__(self, settings: Settings, calls: CallService) -> None:
        self.settings = settings
        self.calls = calls
        self.engine = calls.engine
        self.db = calls.db
        self.app = f"{settings.ari_app}-sv"
        self.sessions: dict[int, plan.Session] = {}
        self.supervisors: dict[int, int] = {}  # session id → supervisor user id
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        calls.end_hooks.append(("", self._call_ended))  # every call's end

    # ---- the app (its events websocket is held by the composition root, the daemon) ----
    async def on_connect(self) -> None:
        """Every (re)connect of the app: sweep what no live session owns."""
        await orphans.sweep(self)

    def live_keys(self) -> set[str]:
        return {s.key for s in self.sessions.values()}

    # ---- the bus command ----
    async def handle(self, command: dict[str, Any], actor: str,
                     redis: aioredis.Redis) -> None:
        """Carry out one ``supervision`` command and answer it on its reply key."""
        try:
            body = await self.carry_out(command, actor)
        except CentralaError as err:
            body = {"ok": False, "code": err.error_id, "message": err.message,
                    "status": err.status}
        except AriError as err:
            log.warning("supervision %s: %s", command.get("action"), err)
            body = {"ok": False, "code": "asterisk", "message": "Asterisk refused the request",
                    "status": 503}
        await push_reply(redis, command, body)

    async def carry_out(self, command: dict[str, Any], actor: str) -> dict[str, Any]:
        tenant_id, actor_id = int(command["tenant_id"]), int(command["actor_id"])
        action, target = str(command["action"]), str(command["target"])
        mode = command.get("mode")
        kind, _, key = target.partition(":")
        if action == "start":
            if mode not in plan.MODES:
                raise SupervisionError(f"mode must be one of {', '.join(plan.MODES)}")
            if kind not in ("agent", "call") or not key:
                raise SupervisionError("target must be agent:<id> or call:<id>")
            return await self.start(tenant_id, actor_id, actor, kind, key, str(mode))
        if kind != "session" or not key.isdigit():
            raise SupervisionError("target must be session:<id>")
        session_id = int(key)
        if action == "mode":
            if mode not in plan.MODES:
                raise SupervisionError(f"mode must be one of {', '.join(plan.MODES)}")
            return await self.switch(tenant_id, session_id, str(mode), actor)
        if action == "stop":
            return await self.stop(tenant_id, session_id, actor)
        raise SupervisionError("action must be start, mode or stop")

    # ---- start / switch / stop ----
    async def start(self, tenant_id: int, actor_id: int, actor: str, kind: str, key: str,
                    mode: str) -> dict[str, Any]:
        if actor_id in self.supervisors.values():
            raise AlreadySupervising("you are already supervising a call: stop it first")
        phone, call, agent_id = await asyncio.to_thread(self._resolve, tenant_id, actor_id,
                                                        kind, key)
        session_id = await asyncio.to_thread(
            store.open_session, self.db, tenant_id=tenant_id, supervisor_id=actor_id,
            agent_id=agent_id, call_id=call.call_id, phone=phone, mode=mode, actor=actor)
        s = plan.Session(session_id, tenant_id, call.call_id, call.agent_channel,
                         call.bridge_id, mode, self.app)
        self.sessions[session_id] = s
        self.supervisors[session_id] = actor_id
        try:
            await self.engine.run(c.Originate(
                s.phone, f"PJSIP/{phone}", "", None, RING_TIMEOUT_S, app=self.app,
                headers=(("X-Centrala-Call-Id", s.phone),)))
        except AriError:
            await self._end(session_id, "not_rung", actor)
            raise
        log.info("supervision %s: %s rings %s to %s call %s", session_id, actor, phone, mode,
                 call.call_id)
        return {"ok": True, "session_id": session_id, "mode": mode, "state": "dialing",
                "call_id": call.call_id}

    def _resolve(self, tenant_id: int, actor_id: int, kind: str,
                 key: str) -> tuple[str, CallState, int | None]:
        """(the supervisor's phone, the call, its agent's user id), from the database and
        the call service's calls; raises what the panel shows."""
        with self.db() as s:
            phone = store.phone_to_ring(s, tenant_id, actor_id)
            if phone is None:
                raise NoSupervisorPhone("you have no phone to be rung: ask an administrator "
                                        "for a desk phone or use the webphone")
            talking = [st for st in list(self.calls.calls.values())
                       if st.tenant_id == tenant_id and st.phase == Phase.TALKING
                       and st.agent_endpoint]
            if kind == "agent":
                if not key.isdigit():
                    raise SupervisionError("agent id must be a number")
                endpoints = store.agent_endpoints(s, tenant_id, int(key))
                if endpoints is None:
                    raise NothingToSupervise(f"no agent {key}")
                found = [st for st in talking if st.agent_endpoint in endpoints]
            else:
                found = [st for st in talking if st.call_id == key]
            if not found:
                raise NothingToSupervise("not on a call with an agent now")
            call = found[0]
            if call.agent_endpoint == phone:
                raise SupervisionError("you cannot supervise your own call")
            return phone, call, store.user_of_endpoint(s, tenant_id, call.agent_endpoint)

    def _session(self, tenant_id: int, session_id: int) -> plan.Session:
        s = self.sessions.get(session_id)
        if s is None or s.tenant_id != tenant_id:
            raise SessionNotFound(f"no supervision session {session_id} in progress")
        return s

    async def switch(self, tenant_id: int, session_id: int, mode: str,
                     actor: str) -> dict[str, Any]:
        async with self._locks[session_id]:
            s = self._session(tenant_id, session_id)
            if mode != s.mode:
                if s.answered:
                    s, cmds = plan.switch(s, mode)
                    self.sessions[session_id] = s
                    await self._run(session_id, cmds)
                else:  # still ringing: the mode is applied when the phone answers
                    self.sessions[session_id] = replace(s, mode=mode)
                await asyncio.to_thread(store.change_mode, self.db, session_id, mode, actor)
                await self._announce(self.sessions[session_id], "active" if s.answered
                                     else "dialing")
            return {"ok": True, "session_id": session_id, "mode": mode,
                    "state": "active" if s.answered else "dialing"}

    async def stop(self, tenant_id: int, session_id: int, actor: str) -> dict[str, Any]:
        self._session(tenant_id, session_id)
        await self._end(session_id, "stopped", actor)
        return {"ok": True, "session_id": session_id, "state": "ended"}

    # ---- events of the app ----
    async def on_event(self, event: ev.Event) -> None:
        channel = getattr(event, "channel", None)
        if channel is None:
            return
        sid = plan.owner_of(channel.id)
        found = [s for s in self.sessions.values() if s.key == sid] if sid else []
        if not found:
            return
        s = found[0]
        if isinstance(event, ev.StasisStart) and channel.id == s.phone:
            await self._answered(s.session_id)
        elif isinstance(event, ev.StasisEnd | ev.ChannelDestroyed):
            if channel.id == s.phone:
                self._spawn(self._end(s.session_id, "supervisor_hung_up" if s.answered
                                      else "not_answered", "controlplane"))
            elif s.snooping and channel.id == s.snoop:  # the agent leg it tapped is gone
                self._spawn(self._end(s.session_id, "call_ended", "controlplane"))

    async def _answered(self, session_id: int) -> None:
        async with self._locks[session_id]:
            s = self.sessions.get(session_id)
            if s is None or s.answered:
                return
            s, cmds = plan.answered(s)
            self.sessions[session_id] = s
            try:
                await self._run(session_id, cmds)
            except AriError as err:  # the call's agent leg went meanwhile, say
                log.info("supervision %s not connected: %s", session_id, err)
                self._spawn(self._end(session_id, "call_ended", "controlplane"))
                return
        await asyncio.to_thread(store.mark_active, self.db, session_id)
        await self._announce(s, "active")

    def _call_ended(self, call_id: str, state: CallState | None, cause: int) -> None:
        """The call service's end hook (sync, under the call's lock): only schedules."""
        for s in list(self.sessions.values()):
            if s.call_id == call_id:
                self._spawn(self._end(s.session_id, "call_ended", "controlplane"))

    # ---- execution ----
    async def _run(self, session_id: int, cmds: list[c.Command]) -> None:
        for cmd in cmds:
            if isinstance(cmd, c.AddToBridge):
                await self._add(cmd)
            elif isinstance(cmd, c.RemoveFromBridge):
                await self.quietly(cmd)  # not in that bridge any more: as good
            else:
                await self.engine.run(cmd)
            log.debug("supervision %s: %s", session_id, cmd)

    async def _add(self, cmd: c.AddToBridge) -> None:
        until = time.monotonic() + ADD_RETRY_S
        while True:
            try:
                await self.engine.run(cmd)
                return
            except AriError as err:
                if err.status not in (404, 409, 422) or time.monotonic() > until:
                    raise
            await asyncio.sleep(0.05)

    async def _end(self, session_id: int, reason: str, actor: str) -> None:
        """Remove the session's objects (once) and close its row."""
        async with self._locks[session_id]:  # after a connect or switch under way
            s = self.sessions.pop(session_id, None)
            self.supervisors.pop(session_id, None)
            if s is None:
                return
            for cmd in plan.teardown(s):
                await self.quietly(cmd)
        self._locks.pop(session_id, None)
        log.info("supervision %s ended: %s", session_id, reason)
        try:
            await asyncio.to_thread(store.end_session, self.db, session_id, reason, actor)
        except Exception as err:  # noqa: BLE001 - the sweep closes it after a restart
            log.warning("supervision %s: row not closed: %s", session_id, err)
        await self._announce(s, "ended")

    async def _announce(self, s: plan.Session, state: str) -> None:
        """Wake the agent's desktop card (it reads the session's row itself)."""
        try:
            await self.calls.redis.xadd(EVENTS_STREAM, event_fields(
                "supervision.changed", tenant_id=s.tenant_id, call_id=s.call_id,
                session_id=s.session_id, mode=s.mode, state=state),
                maxlen=EVENTS_MAXLEN, approximate=True)
        except Exception as err:  # noqa: BLE001 - a notice, never a reason to fail supervision
            log.info("supervision %s: event not sent: %s", s.session_id, err)

    async def quietly(self, cmd: c.Command) -> None:
        """Run ``cmd``; a failure (the object is gone already) is no matter."""
        try:
            await self.engine.run(cmd)
        except AriError as err:
            log.debug("supervision: %s -> %s", cmd, err)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
