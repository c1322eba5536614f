"""Preview dialing in the daemon: batches, "call" and "skip" from the panel, and the calls.

Theory of operation: the panel sends one of these on the ``centrala:commands`` stream and
waits for the reply, exactly as agent commands do (:mod:`controlplane.acd.commands`)::

    {"cmd": "dialer.preview_batch", "tenant_id", "actor_id", "user_id", "campaign_id", "reply",
     "deadline"}
    {"cmd": "dialer.preview_dial",  …, "record_id"}
    {"cmd": "dialer.preview_skip",  …, "record_id"}

The reply is ``{"ok": true, …}`` or ``{"ok": false, "code", "message"}`` (codes of
:class:`~controlplane.dialer.preview_store.PreviewError`, plus ``bad_command``,
``expired``, ``agent_phone`` and ``error``). The daemon's command reader runs them one at a
time, so batches of two agents are taken one after the other.

"Call": the attempt row is written first (:func:`preview_store.open_attempt`), then the
AGENT's phone is originated as channel ``preview-<campaign>-<attempt>`` into the Stasis
app with ``outbound,<number>``, presenting the campaign's caller ID (the customer's number
as the caller *name*, so the agent's display shows whom they are calling). When the agent
picks up, the call service's ordinary outbound path dials the customer over the trunk with
that caller ID (it takes the caller ID of the agent's channel) and records the bridge.
No AMD and no abandon: the agent is on the line before the customer.

The end of the call comes back through ``CallService.end_hooks`` (prefix ``preview-``):

=====================================  ===========================================
the call                               outcome
=====================================  ===========================================
the customer answered                  ``human`` (answer and agent-connect times)
the agent hung up while it rang        ``no_answer``
the customer's leg failed              by the cause: ``busy`` / ``no_answer`` /
                                       ``unallocated`` / ``failed`` (``live.classify``)
no trunk (nothing dialled)             ``failed``
refused by the toll-fraud guard        ``refused`` (the number is forbidden: the
                                       record is closed) or ``failed`` (a cap)
the agent's phone never took the call  ``failed`` "agent phone: …", no attempt counted,
                                       the record stays in the batch
=====================================  ===========================================
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd.commands import push_reply
from controlplane.bus import PREVIEW_COMMANDS
from controlplane.calls.common import CAUSES
from controlplane.calls.machine import AGENT_RING_TIMEOUT_S, CallState
from controlplane.dialer import preview_store
from controlplane.dialer.live import AttemptResult, classify
from controlplane.dialer.preview_store import CALL_PREFIX, PreviewError
from controlplane.engine.ari_ import AriError
from controlplane.engine.commands import Originate
from controlplane.security.outbound_policy import is_cap

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
COMMANDS = PREVIEW_COMMANDS
AGENT_PHONE_RING_S = 30  # how long the agent's own phone rings before the attempt is given up
_REMEMBER = 1000  # ended calls remembered, to ignore the channel's late ChannelDestroyed


class PreviewDialer:
    """The daemon side of preview campaigns (module docstring); hooks into ``calls``."""

    def __init__(self, db: sessionmaker[Session], calls: CallService,
                 clock: Callable[[], float] = time.time, *, seed: int = 0) -> None:
        self.db = db
        self.calls = calls
        self.clock = clock
        self.rng = random.Random(seed)
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()
        calls.end_hooks.append((CALL_PREFIX, self.call_ended))

    # ---- commands ----
    async def handle(self, command: dict[str, Any], rds: aioredis.Redis) -> dict[str, Any]:
        """Run one ``dialer.preview_*`` command and push the reply (never raises for it)."""
        try:
            body = await self._run(command)
        except PreviewError as err:
            body = {"ok": False, "code": err.code, "message": str(err)}
        except Exception as err:  # noqa: BLE001 - the panel gets the error, not a timeout
            log.exception("preview command %s failed", command)
            body = {"ok": False, "code": "error", "message": f"{type(err).__name__}: {err}"}
        await push_reply(rds, command, body)
        return body

    async def _run(self, command: dict[str, Any]) -> dict[str, Any]:
        deadline = command.get("deadline")
        if isinstance(deadline, int | float) and self.clock() > deadline:
            raise PreviewError("expired", "the command arrived after the panel stopped waiting")
        cmd = command.get("cmd")
        if cmd not in COMMANDS:
            raise PreviewError("bad_command", f"field 'cmd': unknown preview command {cmd!r}")
        tenant, user, campaign = (_int(command, k) for k in ("tenant_id", "user_id", "campaign_id"))
        now = self.clock()
        if cmd == "dialer.preview_batch":
            items = await asyncio.to_thread(preview_store.batch, self.db, tenant, user, campaign,
                                            now)
            return {"ok": True, "records": [i.to_json() for i in items]}
        record = _int(command, "record_id")
        if cmd == "dialer.preview_skip":
            state = await asyncio.to_thread(preview_store.skip, self.db, tenant, user, campaign,
                                            record, now)
            return {"ok": True, "record_id": record, "state": state}
        dial = await asyncio.to_thread(preview_store.open_attempt, self.db, tenant, user,
                                       campaign, record, now, self.rng)
        await self._originate(dial)
        return {"ok": True, "record_id": record, "attempt_id": dial.attempt_id,
                "call_id": dial.call_id, "caller_id": dial.caller_id}

    async def _originate(self, d: preview_store.Dial) -> None:
        shown = d.caller_id or d.extension  # no campaign number: what the phone itself shows
        try:
            await self.calls.engine.run(Originate(
                d.call_id, f"PJSIP/{d.endpoint}", f"outbound,{d.number.lstrip('+')}",
                f'"{d.number}" <{shown}>', AGENT_PHONE_RING_S))
        except AriError as err:
            await asyncio.to_thread(preview_store.close_unconnected, self.db, d.call_id,
                                    f"not rung ({err.status})", None, self.clock())
            raise PreviewError("agent_phone", f"your phone {d.endpoint} could not be rung: "
                                              f"{err}") from err

    # ---- the end of a call (CallService.end_hooks) ----
    def call_ended(self, call_id: str, state: CallState | None, cause: int) -> None:
        """A ``preview-`` call ended (``state``), or its agent channel went before the call
        existed (None: the agent's phone did not answer, was busy or unreachable)."""
        if state is None:
            if call_id in self._ended:  # the agent channel's own ChannelDestroyed after the end
                del self._ended[call_id]
                return
            why = CAUSES.get(cause, str(cause))
            self._spawn(asyncio.to_thread(preview_store.close_unconnected, self.db, call_id,
                                          f"{why} ({cause})", cause, self.clock()))
            return
        self._ended[call_id] = None
        while len(self._ended) > _REMEMBER:
            self._ended.popitem(last=False)
        self._spawn(self._finish(result_of(state)))

    async def _finish(self, result: AttemptResult) -> None:
        state = await asyncio.to_thread(preview_store.finish_call, self.db, result, self.clock())
        log.info("preview: %s %s → record %s", result.call_id, result.outcome, state)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def outcome_of(state: CallState) -> str:
    """The attempt's outcome from the ended outbound call (module docstring table)."""
    if state.answered_at is not None:
        return "human"
    if state.refused_reason is not None:  # the toll-fraud guard: a cap passes, a number not
        return "failed" if is_cap(state.refused_reason) else "refused"
    if state.dial is None:
        return "failed"
    if state.hangup_by == "caller":  # the agent gave up while the customer's phone rang
        return "no_answer"
    rang = ((state.ended_at - state.started_at).total_seconds()
            if state.ended_at is not None else None)
    return classify(answered=False, cause=state.hangup_cause, rang_s=rang,
                    ring_timeout_s=AGENT_RING_TIMEOUT_S, amd_verdict=None, abandoned=False)


def result_of(state: CallState) -> AttemptResult:
    """The compliance fields of an ended preview call (``dial_at``: the customer dialled,
    which is when the agent's channel entered the platform)."""
    outcome = outcome_of(state)
    attempt = state.call_id.removeprefix(CALL_PREFIX)
    return AttemptResult(
        attempt_id=attempt, call_id=state.call_id, tenant_id=state.tenant_id,
        number=state.callee, outcome=outcome, amd_verdict=None, amd_source="off",
        app_amd_verdict=None, hangup_cause=state.hangup_cause,
        hangup_cause_txt=state.hangup_cause_txt, hangup_by=state.hangup_by,
        agent_endpoint=state.agent_endpoint, dial_at=state.started_at,
        answer_at=state.answered_at, greeting_end_at=None, amd_decision_at=None,
        agent_connect_at=state.answered_at, message_start_at=None,
        ended_at=state.ended_at)


def _int(command: dict[str, Any], name: str) -> int:
    value = command.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PreviewError("bad_command", f"field {name!r}: expected an integer, got {value!r}")
    return value

