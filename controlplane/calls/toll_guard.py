"""The toll-fraud guard on live calls: one check before anything leaves over a trunk.

Theory of operation
-------------------
Every outbound path asks :class:`TollGuard` right before the call enters the call
service's live state: a desk phone dialling out and a preview call
(:meth:`TollGuard.guard_binding`, from ``CallService._binding``), an IVR transfer to a
number (``IvrCalls._finished``), a campaign attempt (``CampaignCalls.place``). The
decision itself is pure (:func:`controlplane.security.outbound_policy.decide`); this module
counts what is in use and acts on a refusal.

Counting is right across restarts because it is read, not kept: live calls are the call
service's own states (rebuilt from the call records by ``reconcile`` after a restart) plus
the unfinished call records of calls not among them (a restarted daemon counts them before
``reconcile`` has adopted or closed them), and the last hour is the call records' ids over a
trunk united with the live calls' ids (a call admitted a moment ago may not be written yet). The database is read in a thread first;
then the live count and the decision are taken with no ``await`` before the caller puts the
call into ``CallService.calls``, so two calls checked at once can never both take the last
free line.

A refused call is never dialled: the caller hears why (TTS, or an Asterisk sound without a
TTS engine), the call record keeps ``refused_reason``, and ``tollfraud.refused`` goes to the
security audit; hitting the hourly cap also raises ``tollfraud.hourly_cap`` (severity alert,
once per tenant and hour, published on the ``centrala:alerts`` stream like every security alert).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

import redis.asyncio as aioredis

from controlplane.bus import TOLLFRAUD_ALERT_PREFIX
from controlplane.calls import records
from controlplane.calls.common import now
from controlplane.calls.machine import Binding, CallState, Phase
from controlplane.db import transaction
from controlplane.security import alerts
from controlplane.security import outbound_store as store
from controlplane.security.destinations import classify
from controlplane.security.outbound_policy import Usage, Verdict, decide, headroom
from controlplane.tts import media_uri

if TYPE_CHECKING:
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
ALERT_KEY = TOLLFRAUD_ALERT_PREFIX  # + tenant id; set for an hour after an alert
VOICE = "en"


def trunk_of(dial: str | None) -> str | None:
    """``PJSIP/<number>@<trunk>`` → the trunk; an agent's phone (``PJSIP/demo-1001``) → None."""
    if not dial or not dial.startswith("PJSIP/") or "@" not in dial:
        return None
    return dial.rpartition("@")[2]


def legs_of(direction: str, trunk: str | None, dial: str | None,
            caller_alive: bool = True) -> list[tuple[str, bool]]:
    """The legs of a call on trunks: (trunk, outgoing). An inbound caller's leg uses a
    channel of the trunk it came on; a dialled number or a campaign customer goes out."""
    legs: list[tuple[str, bool]] = []
    if direction == "inbound" and trunk and caller_alive:
        legs.append((trunk, False))
    if direction == "campaign" and trunk:
        legs.append((trunk, True))
    if (out := trunk_of(dial)) is not None:  # a number dialled (also one transferred to)
        legs.append((out, True))
    return legs


def trunk_legs(state: CallState) -> list[tuple[str, bool]]:
    """:func:`legs_of` a live call (none once ended or refused)."""
    if state.phase == Phase.ENDED or state.refused_reason is not None:
        return []
    return legs_of(state.direction, state.trunk, state.dial, state.caller_alive)


def count_usage(calls: dict[str, CallState], tenant_id: int, trunk: str, snap: store.Snapshot,
                at: datetime) -> Usage:
    """What is in use now: the live states, plus the unfinished records of calls not among
    them (after a restart, before ``reconcile`` adopted them: counted rather than missed);
    the last hour is the records' ids united with the live calls'."""
    tenant_live = trunk_live = 0
    recent = set(snap.last_hour)
    for state in calls.values():
        legs = trunk_legs(state)
        trunk_live += sum(1 for t, _ in legs if t == trunk)
        if state.tenant_id == tenant_id and any(out for _, out in legs):
            tenant_live += 1
            if state.started_at > at - store.HOUR:
                recent.add(state.call_id)
    for row in snap.active:
        if row.call_id in calls:
            continue
        legs = legs_of(row.direction, row.trunk, row.dial)
        trunk_live += sum(1 for t, _ in legs if t == trunk)
        tenant_live += row.tenant_id == tenant_id and any(out for _, out in legs)
    return Usage(tenant_live, trunk_live, snap.channels, len(recent))


class TollGuard:
    """Owned by :class:`CallService` (``calls.guard``); see the module docstring."""

    def __init__(self, calls: CallService) -> None:
        self.calls = calls

    async def check(self, *, call_id: str, tenant_id: int, trunk: str, number: str, via: str,
                    actor: str) -> Verdict:
        """Decide one call. An allowed call must enter ``calls.calls`` before the caller
        awaits anything else; a refused one is already audited when this returns."""
        at = now()
        snap = await asyncio.to_thread(self._load, tenant_id, trunk, at)
        usage = count_usage(self.calls.calls, tenant_id, trunk, snap, at)
        verdict = decide(snap.policy, classify(number, snap.policy.region), usage)
        if not verdict.allowed:
            log.warning("outbound %s (%s) of tenant %s to %r refused: %s", call_id, via,
                        tenant_id, number, verdict.reason)
            await self._audit(tenant_id, verdict, call_id=call_id, via=via, actor=actor,
                              trunk=trunk)
        return verdict

    async def guard_binding(self, call_id: str, binding: Binding) -> Binding:
        """A desk phone's (or a preview agent's) call: refused → a binding that plays why."""
        trunk = trunk_of(binding.dial)
        if binding.direction != "outbound" or trunk is None or binding.tenant_id is None:
            return binding
        if binding.failover:  # first: nothing may be awaited after the primary's check
            binding = replace(binding, failover=await self._failover_allowed(
                call_id, binding.tenant_id, binding.callee, binding.failover))
        verdict = await self.check(call_id=call_id, tenant_id=binding.tenant_id, trunk=trunk,
                                   number=binding.callee, via="phone",
                                   actor=binding.agent_endpoint or "")
        if verdict.allowed:
            return binding
        return replace(binding, dial=None, refused=verdict.reason[:200],
                       prompt=await self.media(verdict))

    async def _failover_allowed(self, call_id: str, tenant_id: int, number: str,
                                dials: tuple[str, ...]) -> tuple[str, ...]:
        """The failover legs the policy would allow now (each trunk's own caps). Checked when
        the call starts, not audited: a trunk left out is only a way out fewer; if the
        primary fails, the call fails over to the ones kept."""
        kept: list[str] = []
        at = now()
        for dial in dials:
            trunk = trunk_of(dial)
            if trunk is None:
                continue
            snap = await asyncio.to_thread(self._load, tenant_id, trunk, at)
            usage = count_usage(self.calls.calls, tenant_id, trunk, snap, at)
            verdict = decide(snap.policy, classify(number, snap.policy.region), usage)
            if verdict.allowed:
                kept.append(dial)
            else:
                log.info("call %s: failover over %s left out: %s", call_id, trunk,
                         verdict.reason)
        return tuple(kept)

    async def headroom(self, tenant_id: int, trunk: str) -> int:
        """How many calls a dialer may start now without hitting a cap (0 at the hourly cap
        raises its alert, as a refused call would)."""
        at = now()
        snap = await asyncio.to_thread(self._load, tenant_id, trunk, at)
        usage = count_usage(self.calls.calls, tenant_id, trunk, snap, at)
        n, code = headroom(snap.policy, usage)
        if code == "hourly":
            await self._alert(tenant_id, f"hourly cap: {usage.last_hour} of "
                              f"{snap.policy.max_per_hour} outbound calls in the last hour",
                              actor="dialer")
        return n

    async def media(self, verdict: Verdict) -> str:
        """What a refused caller hears: the reason spoken, or Asterisk's nearest sound."""
        tts = self.calls.tts
        if tts is None:
            return verdict.fallback_sound
        try:
            return media_uri(await asyncio.to_thread(tts.synthesize, verdict.announcement, VOICE))
        except Exception as err:  # noqa: BLE001 - the caller must hear something anyway
            log.warning("refusal announcement not synthesised: %s", err)
            return verdict.fallback_sound

    async def refuse_attempt(self, call_id: str, tenant_id: int, number: str, caller_id: str,
                             trunk: str, verdict: Verdict) -> None:
        """A campaign attempt refused before dialling: its call record says why."""
        at = now()
        state = CallState(call_id=call_id, phase=Phase.ENDED, tenant_id=tenant_id,
                          direction="campaign", caller=caller_id, callee=number, did=None,
                          trunk=trunk, agent_endpoint=None, started_at=at, prompt=None,
                          dial=None, caller_alive=False, ended_at=at, hangup_cause=21,
                          hangup_cause_txt="Call Rejected", hangup_by="system",
                          refused_reason=verdict.reason[:200])
        await asyncio.to_thread(records.save, self.calls.db, state,
                                self.calls.settings.recordings_dir)

    # ---- I/O ----
    def _load(self, tenant_id: int, trunk: str, at: datetime) -> store.Snapshot:
        with self.calls.db() as s:
            return store.snapshot(s, tenant_id, trunk, at)

    async def _audit(self, tenant_id: int, verdict: Verdict, *, call_id: str, via: str,
                     actor: str, trunk: str) -> None:
        def write() -> None:
            with transaction(self.calls.db) as s:
                store.record_refusal(s, tenant_id, verdict, call_id=call_id, kind=via,
                                     actor=actor, trunk=trunk)

        try:
            await asyncio.to_thread(write)
        except Exception as err:  # noqa: BLE001 - the call is refused either way
            log.warning("refusal of %s not audited: %s", call_id, err)
        if verdict.code == "hourly":
            await self._alert(tenant_id, verdict.reason, actor=actor)

    async def _alert(self, tenant_id: int, reason: str, *, actor: str) -> None:
        """``tollfraud.hourly_cap`` once per tenant and hour (Redis remembers; without Redis
        every hit alerts, which is the safe side)."""
        rds = self.calls.redis
        try:
            if not await rds.set(f"{ALERT_KEY}{tenant_id}", "1", nx=True, ex=3600):
                return
        except aioredis.RedisError as err:
            log.warning("hourly-cap alert not de-duplicated: %s", err)

        def write() -> None:
            with transaction(self.calls.db) as s:
                store.record_cap_alert(s, tenant_id, reason, actor=actor)

        try:
            await asyncio.to_thread(write)
        except Exception as err:  # noqa: BLE001
            log.warning("hourly-cap alert of tenant %s not stored: %s", tenant_id, err)
        await alerts.publish(rds, alerts.payload("tollfraud.hourly_cap", "alert", source="",
                                                 detail={"reason": reason}, tenant_id=tenant_id))
