"""The toll-fraud guard on calls: refused calls in the call machine, live counting, and the
guard against a real database and Redis (refusal audit, the hourly alert once, headroom)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from controlplane.calls import machine as m
from controlplane.calls import records
from controlplane.calls.toll_guard import TollGuard, count_usage, trunk_legs, trunk_of
from controlplane.db import transaction
from controlplane.engine import commands as c
from controlplane.models import CallRecord, SecurityEvent, Tenant, Trunk
from controlplane.models.outbound import OutboundPolicy
from controlplane.security.alerts import ALERTS_STREAM
from controlplane.security.outbound_policy import Policy
from controlplane.security.outbound_store import ActiveCall, Snapshot

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
OUT = m.Binding(1, "outbound", "1001234", None, "lab", "demo-1003", "PJSIP/1001234@lab", None)


def test_a_refused_binding_plays_why_then_the_platform_hangs_up() -> None:
    refused = replace(OUT, dial=None, refused="international numbers not allowed",
                      prompt="sound:/tts/why")
    state, cmds = m.start(m.Entered("call1", "1003", refused), T0)
    assert state.phase == m.Phase.REJECTING and state.refused_reason is not None
    assert [type(x).__name__ for x in cmds] == ["SaveCall", "Answer", "Play"]
    assert cmds[2] == c.Play("call1", "sound:/tts/why", "call1-prompt")
    assert not any(isinstance(x, c.Originate) for x in cmds)  # nothing dialled
    state, cmds = m.step(state, m.PromptDone("call1-prompt"), T0 + timedelta(seconds=4))
    assert cmds == [c.Hangup("call1", "normal")]
    assert (state.hangup_cause, state.hangup_by) == (21, "system")
    state, cmds = m.step(state, m.LegGone("caller", 16, "Normal Clearing"), T0 + timedelta(5))
    assert state.phase == m.Phase.ENDED and state.refused_reason == refused.refused
    assert state.hangup_by == "system"  # the platform refused, not the caller


def test_a_refused_ivr_transfer_plays_why() -> None:
    ivr = m.Binding(1, "inbound", "4822", "4822", "lab", None, None, None, ivr=True)
    state, _ = m.start(m.Entered("call2", "48600", ivr), T0)
    state, cmds = m.step(state, m.IvrFinished("transfer:number", None, None, "+881234567890",
                                              refused="satellite not allowed",
                                              refusal_media="sound:x"), T0)
    assert state.phase == m.Phase.REJECTING and state.callee == "+881234567890"
    assert c.Play("call2", "sound:x", "call2-prompt") in cmds
    assert not any(isinstance(x, c.Originate) for x in cmds)


def _state(call_id: str, direction: str, dial: str | None, trunk: str | None = None,
           tenant: int = 1, started: datetime = T0, **kw: Any) -> m.CallState:
    phase = kw.pop("phase", m.Phase.TALKING)
    return m.CallState(call_id=call_id, phase=phase, tenant_id=tenant,
                       direction=direction, caller="x", callee="y", did=None, trunk=trunk,
                       agent_endpoint=None, started_at=started, prompt=None, dial=dial, **kw)


def test_trunk_legs_and_usage() -> None:
    assert trunk_of("PJSIP/1004567@lab") == "lab" and trunk_of("PJSIP/demo-1001") is None
    calls = {
        "in": _state("in", "inbound", "PJSIP/demo-1001", trunk="lab"),  # a trunk channel
        "xfer": _state("xfer", "inbound", "PJSIP/1004567@lab", trunk="lab"),  # two
        "out": _state("out", "outbound", "PJSIP/1004567@lab", trunk="lab"),
        "camp": _state("camp", "campaign", None, trunk="lab", started=T0 - timedelta(hours=2)),
        "int": _state("int", "internal", "PJSIP/demo-1002"),
        "refused": _state("refused", "outbound", None, trunk="lab", refused_reason="no"),
        "other": _state("other", "outbound", "PJSIP/1004567@lab", tenant=2),
    }
    assert trunk_legs(calls["xfer"]) == [("lab", False), ("lab", True)]
    assert trunk_legs(calls["refused"]) == []
    snap = Snapshot(Policy(), 30, frozenset({"ended-a", "out"}), ())
    usage = count_usage(calls, 1, "lab", snap, T0)
    assert usage.tenant_live == 3  # xfer, out, camp (not the inbound-only call)
    assert usage.trunk_live == 6  # in, xfer x2, out, camp, other
    assert usage.last_hour == 3  # ended-a, out, xfer (camp started two hours ago)


def test_a_restarted_daemon_counts_unfinished_records_not_yet_adopted() -> None:
    """Right after a restart the live states are empty until reconcile: the unfinished call
    records count instead, and a call both live and recorded counts once."""
    active = (ActiveCall("out", 1, "outbound", "lab", "PJSIP/1004567@lab"),
              ActiveCall("camp", 1, "campaign", "lab", None),
              ActiveCall("in", 1, "inbound", "lab", "PJSIP/demo-1001"),
              ActiveCall("int", 1, "internal", None, "PJSIP/demo-1002"))
    snap = Snapshot(Policy(), 30, frozenset(), active)
    usage = count_usage({}, 1, "lab", snap, T0)
    assert (usage.tenant_live, usage.trunk_live) == (2, 3)
    live = {"out": _state("out", "outbound", "PJSIP/1004567@lab", trunk="lab")}
    usage = count_usage(live, 1, "lab", snap, T0)
    assert (usage.tenant_live, usage.trunk_live) == (2, 3)


@dataclass
class _Settings:
    recordings_dir: Path


@dataclass
class _Service:
    """What the guard uses of the call service: live calls, the database, Redis."""

    db: Any
    redis: aioredis.Redis
    settings: _Settings
    calls: dict[str, m.CallState] = field(default_factory=dict)
    tts: Any = None


@pytest.fixture
def world(factory, redis_port, tmp_path):  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        t = Tenant(domain="guard.example", name="Guard")
        s.add(t)
        s.flush()
        s.add(Trunk(tenant_id=t.id, name="lab", host="127.0.0.2", username="u", secret="s" * 20,
                    channels=3))
        s.add(OutboundPolicy(tenant_id=t.id, region="PL", allowed=["national"],
                             max_concurrent=2, max_per_hour=3))
        tid = t.id
    return factory, tid


async def test_guard_refuses_audits_and_alerts_once(world, redis_port, tmp_path) -> None:  # type: ignore[no-untyped-def]
    factory, tid = world
    rds = aioredis.Redis(port=redis_port)
    await rds.delete(f"centrala:tollfraud:hourly-alert:{tid}", ALERTS_STREAM)
    svc = _Service(factory, rds, _Settings(tmp_path))
    guard = TollGuard(svc)  # type: ignore[arg-type]
    try:
        v = await guard.check(call_id="a", tenant_id=tid, trunk="lab", number="00447700900123",
                              via="phone", actor="demo-1001")
        assert not v.allowed and v.code == "destination" and v.final
        assert await guard.media(v) == "sound:cannot-complete-as-dialed"  # no TTS here
        # two live calls: the tenant's cap of 2 is reached
        for cid in ("l1", "l2"):
            svc.calls[cid] = _state(cid, "outbound", "PJSIP/1001@lab", tenant=tid,
                                    started=datetime.now(UTC))
        v = await guard.check(call_id="b", tenant_id=tid, trunk="lab", number="1004567",
                              via="phone", actor="demo-1001")
        assert v.code == "tenant_concurrent" and not v.final
        assert await guard.headroom(tid, "lab") == 0
        # the last hour: two calls from the records (one ended, one over) and one live → 3
        svc.calls.clear()
        records.save(factory, _state("old", "campaign", None, trunk="lab", tenant=tid,
                                     started=datetime.now(UTC) - timedelta(minutes=5),
                                     phase=m.Phase.ENDED), tmp_path)
        records.save(factory, _state("old2", "outbound", "PJSIP/1@lab", tenant=tid,
                                     started=datetime.now(UTC) - timedelta(minutes=1),
                                     phase=m.Phase.ENDED), tmp_path)
        records.save(factory, _state("older", "outbound", "PJSIP/1@lab", tenant=tid,
                                     started=datetime.now(UTC) - timedelta(minutes=61),
                                     phase=m.Phase.ENDED), tmp_path)
        svc.calls["l2"] = _state("l2", "outbound", "PJSIP/demo-1001", tenant=tid)  # internal
        v = await guard.check(call_id="c", tenant_id=tid, trunk="lab", number="1004567",
                              via="campaign", actor="attempt 1-1")
        assert v.allowed, v.reason  # 2 of 3: internal calls and calls over an hour old don't count
        svc.calls["l1"] = _state("l1", "outbound", "PJSIP/1001@lab", tenant=tid,
                                 started=datetime.now(UTC))
        for cid in ("d", "e"):
            v = await guard.check(call_id=cid, tenant_id=tid, trunk="lab", number="1004567",
                                  via="phone", actor="demo-1001")
            assert v.code == "hourly", v.reason
        assert await guard.headroom(tid, "lab") == 0
        # the emergency call goes whatever the caps say
        v = await guard.check(call_id="f", tenant_id=tid, trunk="lab", number="112",
                              via="phone", actor="demo-1001")
        assert v.allowed
        with factory() as s:
            kinds = [e.kind for e in s.scalars(select(SecurityEvent).where(
                SecurityEvent.tenant_id == tid).order_by(SecurityEvent.id))]
            severities = {e.kind: e.severity for e in s.scalars(select(SecurityEvent))}
        assert kinds.count("tollfraud.refused") == 4  # a, b, d, e
        assert kinds.count("tollfraud.hourly_cap") == 1  # once an hour, however many hits
        assert severities["tollfraud.hourly_cap"] == "alert"
        assert severities["tollfraud.refused"] == "warning"
        alerts = [json.loads(f[b"data"]) for _, f in await rds.xrange(ALERTS_STREAM)]
        assert [(a["kind"], a["tenant_id"]) for a in alerts
                if a["kind"] == "tollfraud.hourly_cap"] == [("tollfraud.hourly_cap", tid)]
    finally:
        await rds.aclose()


async def test_refused_attempt_leaves_a_call_record(world, redis_port, tmp_path) -> None:  # type: ignore[no-untyped-def]
    factory, tid = world
    rds = aioredis.Redis(port=redis_port)
    svc = _Service(factory, rds, _Settings(tmp_path))
    guard = TollGuard(svc)  # type: ignore[arg-type]
    try:
        v = await guard.check(call_id="campaign-9-9", tenant_id=tid, trunk="lab",
                              number="701234567", via="campaign", actor="attempt 9-9")
        await guard.refuse_attempt("campaign-9-9", tid, "+48701234567", "", "lab", v)
    finally:
        await rds.aclose()
    with factory() as s:
        row = s.scalar(select(CallRecord).where(CallRecord.call_id == "campaign-9-9"))
    assert row is not None and row.status == "ended" and row.direction == "campaign"
    assert row.refused_reason and "premium" in row.refused_reason
    assert row.hangup_cause == 21


async def test_concurrent_checks_cannot_both_take_the_last_line(world, redis_port, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two calls checked at once, as the call service admits them: the decision and the
    entry into the live calls happen with no await between, so only one gets the line."""
    factory, tid = world
    rds = aioredis.Redis(port=redis_port)
    svc = _Service(factory, rds, _Settings(tmp_path))
    guard = TollGuard(svc)  # type: ignore[arg-type]
    svc.calls["l1"] = _state("l1", "outbound", "PJSIP/1@lab", tenant=tid,
                             started=datetime.now(UTC))

    async def admit(cid: str) -> bool:
        v = await guard.check(call_id=cid, tenant_id=tid, trunk="lab", number="1004567",
                              via="phone", actor="x")
        if v.allowed:  # what CallService._enter does next, synchronously
            svc.calls[cid] = _state(cid, "outbound", "PJSIP/1004567@lab", tenant=tid,
                                    started=datetime.now(UTC))
        return v.allowed

    try:
        got = await asyncio.gather(*(admit(f"n{i}") for i in range(5)))
    finally:
        await rds.aclose()
    assert sum(got) == 1  # max_concurrent 2, one already live


async def test_failover_trunks_are_checked_against_their_own_caps(world, redis_port, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A desk phone's call whose route fails over: a later trunk already at its channel
    cap is left out (not audited: the call is allowed over the others)."""
    factory, tid = world
    with transaction(factory) as s:
        s.add(Trunk(tenant_id=tid, name="full", host="127.0.0.3", username="u2",
                    secret="s" * 20, channels=1))
        s.add(Trunk(tenant_id=tid, name="spare", host="127.0.0.4", username="u3",
                    secret="s" * 20, channels=5))
    rds = aioredis.Redis(port=redis_port)
    svc = _Service(factory, rds, _Settings(tmp_path))
    guard = TollGuard(svc)  # type: ignore[arg-type]
    svc.calls["busy"] = _state("busy", "outbound", "PJSIP/1002@full", tenant=tid,
                               started=datetime.now(UTC))
    binding = m.Binding(tid, "outbound", "1004567", None, "lab", "demo-1001",
                        "PJSIP/1004567@lab", None,
                        failover=("PJSIP/1004567@full", "PJSIP/1004567@spare"))
    try:
        got = await guard.guard_binding("n1", binding)
    finally:
        await rds.aclose()
    assert got.dial == "PJSIP/1004567@lab" and got.refused is None
    assert got.failover == ("PJSIP/1004567@spare",)
    with factory() as s:
        assert not s.scalars(select(SecurityEvent).where(SecurityEvent.tenant_id == tid)).all()
