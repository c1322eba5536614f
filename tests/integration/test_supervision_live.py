"""Supervision on a live call (issue 13, item 3): listen, whisper, barge, without redialling.

A lab caller (600 Hz) dials a DID of this module's own (48221000075) into a queue whose one
agent answers on lab desk phone demo-1007 (1400 Hz). A supervisor, bound to desk phone
demo-1008, asks the control plane over the bus, as the panel does, to listen to the agent;
their phone answers playing 1800 Hz (the lab's ``PHONE_TONE`` is switched to 1800 after the
agent's phone started its tone, so only the supervisor's phone plays it). The same session
is then switched to whisper, then barge, then back to listen, and the caller hangs up.

Evidence is what each lab phone recorded (``MixMonitor r()``: what it heard), cut into the
windows of each mode: a window's bounds are the heard files' lengths read while the call
runs (the files grow in real time), so no clock of the test is trusted. Listen: the
supervisor hears both parties, nobody hears the supervisor; whisper: the agent hears the
supervisor, the caller does not; barge: both do. The caller's hang-up then tears the
session down (no ``sv…`` channel or bridge left) without delaying the agent's state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
import soundfile
from helpers import duration_s, until
from labtools import (
    CALLER_TONE,
    PHONE_TONE,
    agents_on_phones,
    ended_record,
    lab_cli,
    latest_status,
    log_agents,
    records_for,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane import bus, stack
from controlplane.db import transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import Did, PhoneEndpoint, Role, SecurityEvent, Tenant, Trunk, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.supervision import SupervisionSession
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall
from dialplan.lab import lab_dirs

pytestmark = pytest.mark.integration
DID = "48221000075"
AGENT_PHONE, SUPERVISOR_PHONE = "demo-1007", "demo-1008"
QUEUE = "supervised"
SUPERVISOR_TONE = 1800
PHASE_S = 3.5  # how long each mode is held
SETTLE_S = 1.0  # after a switch: its commands and the audio path settle


class World:
    def __init__(self, platform: Any, tenant_id: int, agent_id: int, supervisor_id: int) -> None:
        self.platform, self.tenant_id = platform, tenant_id
        self.agent_id, self.supervisor_id = agent_id, supervisor_id
        self.factory = session_factory(platform)
        self.recdir, _ = lab_dirs(platform.settings)

    def send(self, action: str, target: str, mode: str | None = None) -> dict[str, Any]:
        client = redis.Redis.from_url(self.platform.settings.redis_url_for("web"))
        try:
            got = bus.send_supervision(client, self.tenant_id, self.supervisor_id, action,
                                       target, mode, timeout_s=10)
        finally:
            client.close()
        assert got.get("ok"), got
        return got

    def session(self, session_id: int) -> SupervisionSession:
        with self.factory() as s:
            row = s.get(SupervisionSession, session_id)
            assert row is not None
            s.expunge(row)
            return row

    def platform_objects(self) -> tuple[set[str], set[str]]:
        """(channel ids, bridge ids) of the platform's Asterisk."""
        ast = stack.platform_instance(self.platform.settings)
        lines = [ln.split("!") for ln in ast.cli("core show channels concise").splitlines()
                 if "!" in ln]
        bridges = ast.cli("bridge show all")
        return {f[-1] for f in lines}, {w for w in bridges.split() if w.startswith("sv")}


def flow() -> dict:  # type: ignore[type-arg]
    return {"format_version": 1, "id": "supervised_straight", "name": "Straight to a queue",
            "settings": {"language": "en-US", "voice": "en", "max_duration_s": 300},
            "start": "q", "nodes": {"q": {"type": "queue", "queue": QUEUE, "priority": 1}}}


@pytest.fixture(scope="module")
def world(platform) -> Iterator[World]:  # type: ignore[no-untyped-def]
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        agent_id = agents_on_phones(s, tenant.id, {"sv-agent": AGENT_PHONE})["sv-agent"]
        boss = s.scalar(select(User).where(User.tenant_id == tenant.id, User.login == "sv-boss"))
        if boss is None:
            boss = User(tenant_id=tenant.id, login="sv-boss", role=Role.SUPERVISOR,
                        password_hash="x")
            s.add(boss)
            s.flush()
        sup_phone = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == SUPERVISOR_PHONE))
        old_owner, sup_phone.user_id = sup_phone.user_id, boss.id
        old = s.scalar(select(Queue).where(Queue.tenant_id == tenant.id, Queue.name == QUEUE))
        if old is not None:
            s.delete(old)
            s.flush()
        queue = Queue(tenant_id=tenant.id, name=QUEUE, strategy="ring_all", ring_timeout_s=10,
                      wrap_up_s=0, recording="never", announce_every_s=None)
        s.add(queue)
        s.flush()
        s.add(QueueMember(queue_id=queue.id, user_id=agent_id, penalty=0))
        if s.scalar(select(Did).where(Did.number == DID)) is None:
            lab = s.scalar(select(Trunk).where(Trunk.tenant_id == tenant.id, Trunk.name == LAB_TRUNK))
            s.add(Did(tenant_id=tenant.id, number=DID, trunk_id=lab.id))
        doc = flow()
        version = flow_store.save_draft(s, tenant.id, doc["id"], doc)
        s.flush()
        flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
        did_store.bind_did(s, tenant.id, DID, doc["id"])
        tenant_id, queue_id, boss_id = tenant.id, queue.id, boss.id
    reload_acd(platform, tenant_id)
    lab_cli(platform, "dialplan set global PHONE_ANSWER_DELAY 0.5")
    lab_cli(platform, "dialplan set global PHONE_HANGUP_AFTER 0")
    log_agents(platform, [AGENT_PHONE], {"sv-agent": agent_id}, "*50", "ready")
    try:
        yield World(platform, tenant_id, agent_id, boss_id)
    finally:
        lab_cli(platform, f"dialplan set global PHONE_TONE {PHONE_TONE}")
        log_agents(platform, [AGENT_PHONE], {"sv-agent": agent_id}, "*53", "logged_out")
        with transaction(factory) as s:
            did_store.bind_did(s, tenant_id, DID, None)
            s.execute(delete(QueueMember).where(QueueMember.queue_id == queue_id))
            s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == SUPERVISOR_PHONE)
                     ).user_id = old_owner
        reload_acd(platform, tenant_id)


def seconds_in(path: Path) -> float:
    """How much audio a WAV being written holds now (its header's sizes are not final yet)."""
    if not path.exists():
        return 0.0
    with path.open("rb") as f:
        head = f.read(44)
    rate = int.from_bytes(head[24:28], "little") or 8000
    return max(0, path.stat().st_size - 44) / 2 / rate


def share(path: Path, hz: float, start: float, end: float) -> float:
    """Fraction of the energy (above 100 Hz) of ``path``'s [start, end) s near ``hz``."""
    audio, rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    mono = audio.mean(axis=1)[int(start * rate):int(end * rate)]
    assert len(mono) > rate, (path, start, end, len(mono) / rate)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    total = spectrum[freqs > 100].sum()
    return float(spectrum[(freqs > hz - 15) & (freqs < hz + 15)].sum() / total) if total else 0.0


def test_listen_whisper_barge_on_one_call_then_the_call_ends_the_session(world: World) -> None:
    w = world
    until(lambda: latest_status(w.platform, w.agent_id) == "ready", timeout=20,
          what="the agent ready")
    caller = unique_caller()
    lab_id = labcall.call(w.platform.settings, labcall.CallSpec(
        did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=40))

    def talking() -> Any:
        rows = records_for(w.platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" else None

    call_id = until(talking, timeout=30, what=f"{caller} talking to the agent").call_id
    _, caller_heard = labcall.recordings(w.platform.settings, lab_id)
    agent_heard = w.recdir / f"phone-{call_id}-heard.wav"
    until(lambda: seconds_in(agent_heard) > 0.5, timeout=10, what="the agent's phone recording")
    lab_cli(w.platform, f"dialplan set global PHONE_TONE {SUPERVISOR_TONE}")

    got = w.send("start", f"agent:{w.agent_id}", "listen")
    sid = got["session_id"]
    assert got["call_id"] == call_id
    until(lambda: w.session(sid).state == "active", timeout=15, what="the supervisor answered")
    sup_heard = w.recdir / f"phone-sv{sid}-sv-phone-heard.wav"
    marks: dict[str, tuple[float, float]] = {}

    def hold(mode: str) -> None:
        """Hold ``mode`` for PHASE_S; its window (monotonic), clear of the switches."""
        start = time.monotonic()
        time.sleep(PHASE_S)
        marks[mode] = (start + SETTLE_S, time.monotonic() - 0.3)

    hold("listen")
    w.send("mode", f"session:{sid}", "whisper")
    hold("whisper")
    w.send("mode", f"session:{sid}", "barge")
    hold("barge")
    w.send("mode", f"session:{sid}", "listen")
    row = w.session(sid)
    assert (row.state, row.modes) == ("active", "listen,whisper,barge,listen")
    assert row.agent_id == w.agent_id and row.call_id == call_id

    # The caller hangs up: the session goes with the call, and the agent is free at once.
    assert labcall.hangup(stack.lab_instance(w.platform.settings), lab_id)
    hung_up = time.monotonic()  # every lab recording of the call ends now (±0.1 s)
    ended_record(w.platform, caller, timeout=20)
    until(lambda: w.session(sid).state == "ended", timeout=10, what="the session ended")
    assert w.session(sid).end_reason == "call_ended"
    until(lambda: not {o for o in set().union(*w.platform_objects()) if o.startswith(f"sv{sid}-")},
          timeout=10, what="no supervision channel or bridge left")
    until(lambda: latest_status(w.platform, w.agent_id) == "ready", timeout=10,
          what="the agent ready again")

    # What each phone heard, mode by mode: a window's place in a file is counted back
    # from the file's end, the hang-up (the files are written in 2 s blocks, so their
    # length while the call runs says little).
    def window(mode: str, path: Path, hz: float) -> float:
        length = duration_s(path)
        start, end = (length - (hung_up - t) for t in marks[mode])
        return share(path, hz, start, end)

    until(lambda: all(duration_s(p) > 5 for p in (caller_heard, agent_heard, sup_heard)),
          timeout=10, what="the lab's recordings closed")
    found = {mode: {"caller hears sup": window(mode, caller_heard, SUPERVISOR_TONE),
                    "agent hears sup": window(mode, agent_heard, SUPERVISOR_TONE),
                    "sup hears caller": window(mode, sup_heard, CALLER_TONE),
                    "sup hears agent": window(mode, sup_heard, PHONE_TONE)}
             for mode in ("listen", "whisper", "barge")}
    print(found)
    listen, whisper, barge = found["listen"], found["whisper"], found["barge"]
    assert listen["sup hears caller"] > 0.1 and listen["sup hears agent"] > 0.1, found
    assert listen["caller hears sup"] < 0.01 and listen["agent hears sup"] < 0.01, found
    assert whisper["agent hears sup"] > 0.1 > 0.01 > whisper["caller hears sup"], found
    assert barge["agent hears sup"] > 0.1 and barge["caller hears sup"] > 0.1, found

    with w.factory() as s:
        kinds = [e.kind for e in s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind.like("supervision.%")).order_by(SecurityEvent.id))
            if (e.detail or {}).get("session") == sid]
    assert kinds == ["supervision.start"] + ["supervision.mode"] * 3 + ["supervision.end"]
