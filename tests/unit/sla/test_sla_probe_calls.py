"""The call probes' pure parts and their seed: what counts as heard, one shared inbound call
per round for inbound_call and ivr, which function fails for what, the probe tenant's own
trunk at its own lab carrier address. The calls themselves: tests/integration/test_sla_call_probes_live.py."""

from __future__ import annotations

import math
import threading
import time
import wave
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane import stack
from controlplane.config import load_settings
from controlplane.ivr.did_store import flow_for_did
from controlplane.models import Did, PhoneEndpoint, Tenant, Trunk
from controlplane.models.acd import QueueMember
from controlplane.seed import DEMO_DOMAIN, seed_demo, seed_probe_lines, seed_probes
from controlplane.sla import probe_agent, probe_calls, probes
from controlplane.sla.probe_calls import CallProbeFailed, CallResult
from dialplan.lab import render_lab


def _wav(path: Path, parts: list[tuple[float, float]], rate: int = 8000, width: int = 2,
         hz: float = 440) -> Path:
    """(seconds, amplitude 0..1) pieces of a ``hz`` tone; amplitude 0 is silence."""
    frames = bytearray()
    for seconds, amp in parts:
        for i in range(int(seconds * rate)):
            v = int(amp * 32000 * math.sin(2 * math.pi * hz * i / rate))
            frames += v.to_bytes(2, "little", signed=True) if width == 2 else bytes([128])
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


def test_voiced_seconds_counts_sound_not_silence_or_hiss(tmp_path: Path) -> None:
    heard = _wav(tmp_path / "a.wav", [(0.5, 0.0), (1.2, 0.5), (0.3, 0.005)])
    assert probe_calls.voiced_seconds(heard) == pytest.approx(1.2, abs=0.05)
    assert probe_calls.voiced_seconds(_wav(tmp_path / "b.wav", [(2.0, 0.0)])) == 0.0
    with pytest.raises(ValueError, match="16-bit mono"):
        probe_calls.voiced_seconds(_wav(tmp_path / "c.wav", [(0.1, 0.0)], width=1))


def test_tone_seconds_finds_the_prompt_and_nothing_else(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.wav"
    probe_calls.write_prompt(prompt)
    assert probe_calls.tone_seconds(prompt) == pytest.approx(probe_calls.PROMPT_S, abs=0.1)
    # heard: silence, the prompt at half volume, silence (as a call records it)
    heard = _wav(tmp_path / "h.wav", [(0.3, 0.0), (1.0, 0.25), (0.5, 0.0)],
                 hz=probe_calls.PROMPT_HZ)
    assert probe_calls.tone_seconds(heard) == pytest.approx(1.0, abs=0.15)
    # another tone (a desk phone's 1400 Hz, a caller's 600 Hz) is not the prompt
    for hz in (1400, 600, probe_calls.PROMPT_HZ + 60):
        assert probe_calls.tone_seconds(_wav(tmp_path / f"{hz}.wav", [(1.0, 0.5)], hz=hz)) == 0
    # and neither is the prompt buried in as loud a different tone (speech-like mix)
    mixed = tmp_path / "mix.wav"
    with wave.open(str(mixed), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(
            int(12000 * math.sin(2 * math.pi * 300 * i / 8000)
                + 12000 * math.sin(2 * math.pi * 500 * i / 8000)).to_bytes(2, "little", signed=True)
            for i in range(8000)))
    assert probe_calls.tone_seconds(mixed) == 0


def _fake_calls(monkeypatch, result: CallResult) -> list[str]:  # type: ignore[no-untyped-def]
    placed: list[str] = []

    def fake(_settings, channel, _cid, _measure, _what, hold_s=2):  # type: ignore[no-untyped-def]
        placed.append(channel)
        time.sleep(0.2)  # the other probe asks meanwhile
        return result

    monkeypatch.setattr(probe_calls, "ensure_lines", lambda _s: None)
    monkeypatch.setattr(probe_calls, "lab_call", fake)
    monkeypatch.setattr(probe_calls, "_inbound",
                        probe_calls.SharedStep(probe_calls._inbound_step, 5.0))
    return placed


def test_inbound_call_and_ivr_share_one_call_per_round(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    placed = _fake_calls(monkeypatch, CallResult(1.0, 1.0, "answered in 1.0 s"))
    out: dict[str, str] = {}
    threads = [threading.Thread(target=lambda f=f: out.__setitem__(f.__name__, f(None)))
               for f in (probe_calls.inbound_call, probe_calls.ivr)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert out == {"inbound_call": "answered in 1.0 s", "ivr": "answered in 1.0 s"}
    assert placed == [f"PJSIP/{probe_calls.PROBE_DID}@{probe_calls.PROBE_ACCOUNT}"]


def test_a_silent_answer_fails_ivr_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _fake_calls(monkeypatch, CallResult(0.8, 0.0, "answered in 0.8 s, 0.0 s of sound heard"))
    assert probe_calls.inbound_call(None) .startswith("answered")  # type: ignore[arg-type]
    with pytest.raises(CallProbeFailed, match="prompt not heard"):
        probe_calls.ivr(None)  # type: ignore[arg-type]


def test_no_answer_fails_every_call_function(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _fake_calls(monkeypatch, CallResult(None, 0.0, "not answered in 6 s"))
    for check in (probe_calls.inbound_call, probe_calls.ivr, probe_calls.outbound_call):
        with pytest.raises(CallProbeFailed, match="not answered"):
            check(None)  # type: ignore[arg-type]


def test_outbound_dials_the_lab_number_from_the_probe_phone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    placed = _fake_calls(monkeypatch, CallResult(1.2, 0.6, "answered in 1.2 s"))
    assert probe_calls.outbound_call(None) == "answered in 1.2 s"  # type: ignore[arg-type]
    assert placed == [f"PJSIP/{probe_calls.LAB_ANSWERS}@deskphone-{probe_calls.PROBE_PHONE}"]


def test_call_probes_only_where_a_lab_runs(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    monkeypatch.setattr(probe_calls, "enabled", lambda _s: True)
    names = [p.name for p in probes.probes_for(settings)]
    assert names == ["panel_login", "controlplane", "inbound_call", "ivr", "outbound_call",
                     "agent_ready", "queue_routing"]
    monkeypatch.setenv("CENTRALA_SLA_AGENT_PROBES", "0")
    assert [p.name for p in probes.probes_for(settings)][-1] == "outbound_call"
    monkeypatch.setattr(probe_calls, "enabled", lambda _s: False)
    assert probes.probes_for(settings) == probes.PROBES
    monkeypatch.undo()
    monkeypatch.delenv("CENTRALA_SLA_CALL_PROBES", raising=False)
    assert not probe_calls.enabled(settings)  # on by default, but no lab runs here
    lab = SimpleNamespace(running=lambda: True)
    monkeypatch.setattr(stack, "lab_instance", lambda _s: lab)
    assert probe_calls.enabled(settings)  # a lab runs: on by default
    monkeypatch.setenv("CENTRALA_SLA_CALL_PROBES", "0")
    assert not probe_calls.enabled(settings)  # turned off


def test_probe_lines_are_the_probe_tenants_on_an_address_of_their_own(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    seed_demo(factory, tmp_path, settings.lab.sip, settings.lab_carrier_address)
    seed_probes(factory, tmp_path)
    assert seed_probe_lines(factory, settings.lab.sip, "/x/probe-prompt") is True
    assert seed_probe_lines(factory, settings.lab.sip, "/x/probe-prompt") is False
    with factory() as s:
        probe = s.scalar(select(Tenant).where(Tenant.domain == probes.PROBE_DOMAIN))
        trunk = s.scalar(select(Trunk).where(Trunk.name == probe_calls.PROBE_TRUNK))
        did = s.scalar(select(Did).where(Did.number == probe_calls.PROBE_DID))
        phone = s.scalar(select(PhoneEndpoint).where(
            PhoneEndpoint.name == probe_calls.PROBE_PHONE))
        assert probe is not None and trunk is not None and did is not None and phone is not None
        assert {trunk.tenant_id, did.tenant_id, phone.tenant_id} == {probe.id}
        assert did.trunk_id == trunk.id
        # the DID answers with the probe's published flow, which plays the known prompt
        route = flow_for_did(s, did.number)
        assert route is not None and route[0].flow.name == probe_calls.PROBE_FLOW
        assert [item.value for item in route[1].nodes["prompt"].prompt] == ["/x/probe-prompt"]
        # no other trunk shares the address: calls from it can only be the probe tenant's
        others = s.scalars(select(Trunk.host).where(Trunk.id != trunk.id)).all()
        assert trunk.host == probe_calls.PROBE_CARRIER_ADDRESS not in others
        assert settings.lab_carrier_address != trunk.host
        demo = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        assert demo is not None and demo.id != probe.id
        # the probe agent is on the probe phone, the only member of the probe queue and its DID
        queue_did = s.scalar(select(Did).where(Did.number == probe_agent.PROBE_QUEUE_DID))
        assert queue_did is not None and queue_did.queue is not None
        assert (queue_did.tenant_id, queue_did.queue.name) == (probe.id, probe_agent.PROBE_QUEUE)
        members = s.scalars(select(QueueMember.user_id).where(
            QueueMember.queue_id == queue_did.queue_id)).all()
        assert members == [phone.user_id] and phone.user_id is not None
        lab = render_lab(s, settings)["pjsip.conf"]
    # the lab plays the probe tenant's carrier at that address and registers its phone
    assert f"bind = {probe_calls.PROBE_CARRIER_ADDRESS}:{settings.lab.sip}" in lab
    assert f"[{probe_calls.PROBE_ACCOUNT}]" in lab
    assert f"[deskphone-{probe_calls.PROBE_PHONE}]" in lab


def test_the_next_round_places_a_new_call(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    placed = _fake_calls(monkeypatch, CallResult(1.0, 1.0, "answered in 1.0 s"))
    probe_calls.inbound_call(None)  # type: ignore[arg-type]
    monkeypatch.setattr(probe_calls, "SHARE_S", 0.0)  # as if the next round had come
    probe_calls.ivr(None)  # type: ignore[arg-type]
    assert len(placed) == 2


def _fake_agent(monkeypatch, statuses: dict[str, list[str | None]]) -> list[str]:  # type: ignore[no-untyped-def]
    """The desk phone's feature codes move the agent through ``statuses[code]``."""
    from dialplan import labcall

    dialled: list[str] = []
    now: list[str | None] = [None]

    def dials(_settings, phone, code, hangup_after=0):  # type: ignore[no-untyped-def]
        assert phone == probe_calls.PROBE_PHONE
        dialled.append(code)
        now[:] = statuses[code][-1:]
        return "x"

    monkeypatch.setattr(labcall, "phone_dials", dials)
    monkeypatch.setattr(probe_calls, "ensure_lines", lambda _s: None)
    monkeypatch.setattr(probe_agent, "_ids", lambda _s: (2, 7))
    monkeypatch.setattr(probe_agent, "agent_status", lambda _s, t, u: now[0])
    monkeypatch.setattr(probe_agent, "READY_WITHIN_S", 0.5)
    monkeypatch.setattr(probe_agent, "_ready", probe_calls.SharedStep(probe_agent._ready_step, 5))
    return dialled


def test_agent_ready_logs_out_then_in_and_reads_the_acd(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    dialled = _fake_agent(monkeypatch, {"*53": ["logged_out"], "*50": ["ready"]})
    assert probe_agent.agent_ready(None).startswith("ready")  # type: ignore[arg-type]
    assert dialled == ["*53", "*50"]


def test_an_agent_that_stays_out_fails_agent_ready_and_queue_routing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _fake_agent(monkeypatch, {"*53": ["logged_out"], "*50": ["logged_out"]})
    monkeypatch.setattr(probe_calls, "lab_call", lambda *a, **k: pytest.fail("no queue call"))
    with pytest.raises(CallProbeFailed, match="agent logged_out"):
        probe_agent.agent_ready(None)  # type: ignore[arg-type]
    with pytest.raises(CallProbeFailed, match="no ready probe agent"):
        probe_agent.queue_routing(None)  # type: ignore[arg-type]


def test_queue_routing_passes_when_the_agent_is_heard(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _fake_agent(monkeypatch, {"*53": ["logged_out"], "*50": ["ready"]})
    calls: list[tuple[str, int]] = []

    def call(_s, channel, _cid, _measure, _what, hold_s=2):  # type: ignore[no-untyped-def]
        calls.append((channel, hold_s))
        return CallResult(0.1, heard, "answered in 0.1 s")

    monkeypatch.setattr(probe_calls, "lab_call", call)
    heard = 2.5
    assert probe_agent.queue_routing(None) == "answered in 0.1 s"  # type: ignore[arg-type]
    assert calls == [(f"PJSIP/{probe_agent.PROBE_QUEUE_DID}@{probe_calls.PROBE_ACCOUNT}",
                      probe_agent.QUEUE_HOLD_S)]
    heard = 0.0  # answered by the platform (music on hold), never by the agent
    monkeypatch.setattr(probe_calls, "SHARE_S", 0.0)
    with pytest.raises(CallProbeFailed, match="the agent not heard"):
        probe_agent.queue_routing(None)  # type: ignore[arg-type]
