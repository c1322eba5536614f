"""Supervision on a live call (issue 13, item 3): listen, whisper, barge, without redialling.

A lab caller (600 Hz) dials a DID of this module's own (48221000075) into a queue whose one
agent answers on lab desk phone demo-1007 (1400 Hz). A supervisor, bound to desk phone
demo-1008, asks the control plane over the bus, as the panel does, to supervise: three
sessions on the one call, each with its own tone on the supervisor's phone (the lab's
``PHONE_TONE`` is switched before each rings): listen only; listen then whisper; whisper,
barge, listen again, until the caller hangs up. Whatever a mode lets through is then found
(or not) in what each lab phone recorded hearing (``MixMonitor r()``), by that session's
tone: listen: the supervisor hears both parties, nobody hears the supervisor; whisper: the
agent hears the supervisor, the caller does not; barge: both do. A switch keeps the phone's
leg. The caller's hang-up tears the last session down (no ``sv…`` channel or bridge left)
without delaying the agent's state. A second test kills the control plane mid-session: the
restarted one sweeps the snoop and the rest away.

The queue records "never", as most customers' queues do. Its call bridge was once
``mixing``, which Asterisk bridges natively (``native_rtp``: each leg's RTP packets
forwarded as they came, with the far end's SSRC and sequence numbers). A snoop moved it to
``simple_bridge`` and the platform sent its own stream instead: a new SSRC (marker bit
set) whose sequence numbers lay behind the forwarded ones for about one leg in two, and
that leg's lab phone then heard nothing while the snoop stayed (the payload on the wire
still carried the tones; sniffed on loopback). A queued call's bridge is now never native
(``mixing,proxy_media``); the test checks the bridge's technology whenever a session
starts, besides what each phone heard.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from helpers import duration_s, tone_share, until
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
# each session's phone plays its own tone (no harmonic of the caller's 600 or the agent's 1400)
LISTEN_TONE, WHISPER_TONE, BARGE_TONE = 1700, 2100, 2500
TONES = (LISTEN_TONE, WHISPER_TONE, BARGE_TONE)
PHASE_S = 3.0  # how long each mode is held


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

    def phone_channel(self, session_id: int) -> str | None:
        """The Asterisk name of the session's phone leg (a redial would make a new one)."""
        ast = stack.platform_instance(self.platform.settings)
        for line in ast.cli("core show channels concise").splitlines():
            fields = line.split("!")
            if fields[-1] == f"sv{session_id}-sv-phone":
                return fields[0]
        return None

    def platform_objects(self) -> tuple[set[str], set[str]]:
        """(channel ids, bridge ids) of the platform's Asterisk."""
        ast = stack.platform_instance(self.platform.settings)
        lines = [ln.split("!") for ln in ast.cli("core show channels concise").splitlines()
                 if "!" in ln]
        bridges = ast.cli("bridge show all")
        return {f[-1] for f in lines}, {w for w in bridges.split() if w.startswith("sv")}

    def technology(self, bridge_id: str) -> str:
        """The bridge's current technology as Asterisk reports it (native_rtp, softmix...)."""
        out = stack.platform_instance(self.platform.settings).cli(f"bridge show {bridge_id}")
        found = [ln.split(":", 1)[1].strip() for ln in out.splitlines() if "Technology" in ln]
        return found[0] if found else ""


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
        # Never recorded: the queue type customers use most, and the one whose calls were
        # once bridged natively (see the module docstring).
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


def test_listen_whisper_barge_without_redialling_then_the_call_ends_the_session(
        world: World) -> None:
    w = world
    until(lambda: latest_status(w.platform, w.agent_id) == "ready", timeout=20,
          what="the agent ready")
    caller = unique_caller()
    lab_id = labcall.call(w.platform.settings, labcall.CallSpec(
        did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=60))

    def talking() -> Any:
        rows = records_for(w.platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" else None

    call_id = until(talking, timeout=30, what=f"{caller} talking to the agent").call_id
    _, caller_heard = labcall.recordings(w.platform.settings, lab_id)
    agent_heard = w.recdir / f"phone-{call_id}-heard.wav"
    until(agent_heard.exists, timeout=10, what="the agent's phone recording")

    technologies: list[str] = []

    def session(tone: int, target: str, mode: str) -> int:
        """A new session whose phone "says" ``tone``; its id once the phone answered."""
        technologies.append(w.technology(f"{call_id}-bridge"))  # never native: see above
        lab_cli(w.platform, f"dialplan set global PHONE_TONE {tone}")
        got = w.send("start", target, mode)
        assert got["call_id"] == call_id
        sid = int(got["session_id"])
        until(lambda: w.session(sid).state == "active", timeout=15,
              what=f"supervisor's phone of session {sid} answered")
        time.sleep(PHASE_S)  # the mode held: what it lets through is in the recordings
        return sid

    def switch(sid: int, mode: str) -> None:
        phone = w.phone_channel(sid)
        w.send("mode", f"session:{sid}", mode)
        time.sleep(PHASE_S)
        assert w.phone_channel(sid) == phone  # the same leg: never redialled

    # 1: listen only; 2: listen, then whisper; 3: whisper, barge, listen again, and the
    # caller hangs up. The agent's pick is resolved to their call, as a call id is.
    first = session(LISTEN_TONE, f"agent:{w.agent_id}", "listen")
    w.send("stop", f"session:{first}")
    second = session(WHISPER_TONE, f"call:{call_id}", "listen")
    switch(second, "whisper")
    w.send("stop", f"session:{second}")
    third = session(BARGE_TONE, f"agent:{w.agent_id}", "whisper")
    switch(third, "barge")
    switch(third, "listen")

    # The caller hangs up: the session goes with the call, and the agent is free at once.
    assert labcall.hangup(stack.lab_instance(w.platform.settings), lab_id)
    ended_record(w.platform, caller, timeout=20)
    until(lambda: w.session(third).state == "ended", timeout=10, what="the session ended")
    until(lambda: not {o for o in set().union(*w.platform_objects()) if o.startswith("sv")},
          timeout=10, what="no supervision channel or bridge left")
    until(lambda: latest_status(w.platform, w.agent_id) == "ready", timeout=10,
          what="the agent ready again")
    rows = {sid: w.session(sid) for sid in (first, second, third)}
    assert [(r.modes, r.end_reason) for r in rows.values()] == [
        ("listen", "stopped"), ("listen,whisper", "stopped"),
        ("whisper,barge,listen", "call_ended")]
    assert {r.agent_id for r in rows.values()} == {w.agent_id}
    assert technologies and "native_rtp" not in technologies, technologies

    # What each phone heard, over the whole call: each session's own tone tells its modes
    # apart (a phone's recording skips the moments it received nothing, so clock windows
    # cannot be cut in it).
    sup_heard = w.recdir / f"phone-sv{first}-sv-phone-heard.wav"
    until(lambda: all(duration_s(p) > 1 for p in (caller_heard, agent_heard, sup_heard)),
          timeout=10, what="the lab's recordings closed")
    found = {"caller": {hz: tone_share(caller_heard, hz) for hz in TONES},
             "agent": {hz: tone_share(agent_heard, hz) for hz in TONES},
             "listener": {hz: tone_share(sup_heard, hz) for hz in (CALLER_TONE, PHONE_TONE)}}
    print(found)
    heard, silent = 0.02, 0.002
    # listen: the supervisor hears both, nobody hears the supervisor (muted on the server)
    assert min(found["listener"].values()) > 0.1, found
    assert found["caller"][LISTEN_TONE] < silent and found["agent"][LISTEN_TONE] < silent, found
    # whisper: the agent hears the supervisor, the caller does not
    assert found["agent"][WHISPER_TONE] > heard > silent > found["caller"][WHISPER_TONE], found
    # barge: both do
    assert found["agent"][BARGE_TONE] > heard and found["caller"][BARGE_TONE] > heard, found

    with w.factory() as s:
        kinds = [(e.detail or {}).get("session") for e in s.scalars(
            select(SecurityEvent).where(SecurityEvent.kind.like("supervision.%"))
            .order_by(SecurityEvent.id))]
    assert [kinds.count(sid) for sid in (first, second, third)] == [2, 3, 4]

    # every connect, switch and end woke the agents' desktop cards (supervision.changed)
    client = redis.Redis.from_url(w.platform.settings.redis_url_for("web"))
    try:
        changes = [json.loads(f[b"data"]) for _, f in client.xrange(bus.EVENTS_STREAM)]
    finally:
        client.close()
    third_changes = [(e["mode"], e["state"]) for e in changes
                     if e.get("type") == "supervision.changed" and e["session_id"] == third]
    assert third_changes == [("whisper", "active"), ("barge", "active"), ("listen", "active"),
                             ("listen", "ended")], third_changes


def test_a_control_plane_killed_mid_session_leaves_no_snoop_on_the_customer(
        world: World) -> None:
    w = world
    until(lambda: latest_status(w.platform, w.agent_id) == "ready", timeout=20,
          what="the agent ready")
    caller = unique_caller()
    lab_id = labcall.call(w.platform.settings, labcall.CallSpec(
        did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=60))

    def talking() -> Any:
        rows = records_for(w.platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" else None

    call_id = until(talking, timeout=30, what=f"{caller} talking to the agent").call_id
    sid = w.send("start", f"call:{call_id}", "listen")["session_id"]
    until(lambda: w.session(sid).state == "active", timeout=15, what="the supervisor answered")
    mine = f"sv{sid}-"
    channels, bridges = w.platform_objects()
    assert {f"{mine}sv-phone", f"{mine}sv-snoop1"} <= channels and f"{mine}sv-bridge" in bridges

    w.platform.kill_controlplane()  # SIGKILL: no teardown of its own
    w.platform.start_controlplane()
    until(lambda: not {o for o in set().union(*w.platform_objects()) if o.startswith(mine)},
          timeout=30, what="the dead daemon's supervision objects swept")
    until(lambda: w.session(sid).state == "ended", timeout=10, what="the session's row closed")
    assert w.session(sid).end_reason == "restart"
    # The customer's call itself was adopted and goes on.
    assert call_id in w.platform_objects()[0]
    assert labcall.hangup(stack.lab_instance(w.platform.settings), lab_id)
    assert ended_record(w.platform, caller, timeout=20).hangup_by == "caller"
