"""Blind transfers on live calls (the bus commands the agent desktop's "Transfer" button
sends). A lab caller dials a DID routed to queue ``tra``; agent tr1's desk phone answers.

1. To a queue: tr1 sends the caller to queue ``trb``; tr1's phone is released and the
   caller waits with music until agent tr2's phone answers. The caller hears tr2's phone
   (another tone than tr1's); the call record keeps its first answer and names tr2; the
   queue log has the first part's end and the second queue's entry and answer.
2. To an agent, then to numbers: tr1 sends the caller to tr2 (not a member of ``tra``: the
   call goes through it, offered to tr2 first); tr2 sends it to a busy number, so it comes
   back to ``tra`` and tr1; tr1 sends it to a number that answers, and the carrier's side
   hears the caller.
3. Attended (consult) to a number and to a colleague, cancelled and completed; and a
   consultation cut by a control-plane restart gives the caller back to the agent."""

from __future__ import annotations

import base64
import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import soundfile
from helpers import duration_s, sound_report, tone_share, until
from labtools import (
    CALLER_TONE,
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

from controlplane import bus
from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Tenant
from controlplane.models.acd import Queue, QueueLog, QueueMember
from controlplane.seed import DEMO_DIDS, DEMO_DOMAIN
from dialplan import labcall

pytestmark = pytest.mark.integration
DID = "48221000003"
PHONES = {"tr1": "demo-1007", "tr2": "demo-1008"}  # desk phones of the lab (1009 is baresip)
FIRST_TONE, SECOND_TONE = 1400, 1900  # what each agent's phone "says" (lab PHONE_TONE)


@pytest.fixture
def queues(platform) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """tr1 in queue tra (the DID's), tr2 in queue trb."""
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant_id, PHONES)
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id,
                                      Queue.name.in_(("tra", "trb"))))
        ids = {}
        for name, member in (("tra", "tr1"), ("trb", "tr2")):
            queue = Queue(tenant_id=tenant_id, name=name, strategy="linear", ring_timeout_s=15,
                          announce_every_s=None)
            s.add(queue)
            s.flush()
            s.add(QueueMember(queue_id=queue.id, user_id=users[member], penalty=0))
            ids[name] = queue.id
        did = s.scalar(select(Did).where(Did.number == DID))
        did.phone_endpoint_id, did.flow_id, did.queue_id = None, None, ids["tra"]
    reload_acd(platform, tenant_id)
    yield {"users": users, "queues": ids, "tenant": tenant_id}
    lab_cli(platform, "dialplan set global PHONE_TONE 1400")
    log_agents(platform, PHONES.values(), users, "*53", "logged_out")
    with transaction(factory) as s:
        did = s.scalar(select(Did).where(Did.number == DID))
        did.queue_id = None
        did.phone_endpoint_id = s.scalar(select(PhoneEndpoint.id).where(
            PhoneEndpoint.extension == DEMO_DIDS[DID], PhoneEndpoint.tenant_id == tenant_id))
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id,
                                      Queue.name.in_(("tra", "trb"))))
    factory.kw["bind"].dispose()


def test_an_agent_sends_the_caller_to_another_queue(platform, queues, tmp_path) -> None:  # type: ignore[no-untyped-def]
    users = queues["users"]
    for phone in PHONES.values():
        labcall.phone_dials(platform.settings, phone, "*50", hangup_after=3)
    until(lambda: all(latest_status(platform, u) not in (None, "logged_out")
                      for u in users.values()), timeout=30, what="both agents logged in")
    log_agents(platform, PHONES.values(), users, "*51", "ready")
    lab_cli(platform, f"dialplan set global PHONE_TONE {FIRST_TONE}")
    caller = unique_caller()
    lab_id = labcall.call(platform.settings, labcall.CallSpec(
        did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=40))

    def talking_to(phone: str) -> Any:
        rows = records_for(platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" and \
            rows[0].agent_endpoint == phone else None

    first = until(lambda: talking_to(PHONES["tr1"]), timeout=30, what="tr1 talking")
    until(lambda: latest_status(platform, users["tr1"]) == "on_call", timeout=10,
          what="tr1 on the call")
    # tr1's phone reads its tone when it answers and again after its DTMF second: let the
    # caller hear it for 3 s (the recording grows 16 kB/s) before tr2's phone gets another
    _, heard = labcall.recordings(platform.settings, lab_id)
    until(heard.exists, timeout=10, what="the caller's recording started")
    at_answer = heard.stat().st_size
    until(lambda: heard.stat().st_size > at_answer + 3 * 16_000, timeout=15,
          what="three seconds of tr1 heard by the caller")
    lab_cli(platform, f"dialplan set global PHONE_TONE {SECOND_TONE}")  # tr2's phone
    client = redis.Redis.from_url(platform.settings.redis_url_for("web"))
    try:
        # another tenant's queue, or none: refused; then the transfer itself
        refused = bus.send_transfer(client, queues["tenant"], users["tr1"], first.call_id,
                                    "queue", 999_999, timeout_s=10)
        assert refused["ok"] is False, refused
        got = bus.send_transfer(client, queues["tenant"], users["tr1"], first.call_id,
                                "queue", queues["queues"]["trb"], timeout_s=10)
    finally:
        client.close()
    assert got == {"ok": True, "call_id": first.call_id, "queue": "trb"}, got
    until(lambda: latest_status(platform, users["tr1"]) in ("wrap_up", "ready"), timeout=10,
          what="tr1 released (wrap-up) by the transfer")
    second = until(lambda: talking_to(PHONES["tr2"]), timeout=30, what="tr2 talking")
    assert second.call_id == first.call_id
    row = ended_record(platform, caller, timeout=60)
    assert row.agent_endpoint == PHONES["tr2"] and row.queue == "trb"
    assert row.answered_at == first.answered_at  # the call's first answer
    with session_factory(platform)() as s:
        log = [(r.kind, r.queue_id) for r in s.scalars(select(QueueLog).where(
            QueueLog.interaction_id == row.call_id).order_by(QueueLog.id))]
    tra, trb = queues["queues"]["tra"], queues["queues"]["trb"]
    assert ("enter", tra) in log and ("enter", trb) in log, log
    assert [k for k, q in log if q == trb].count("answer") == 1, log
    until(lambda: duration_s(heard) > 5, timeout=20,
          what="the caller's recording")
    # the caller heard the first agent's phone, then (after music) the second's: judged
    # on the first and last seconds (a whole-file spectrum's window hides the edges)
    audio, rate = soundfile.read(str(heard), always_2d=True)
    head, tail = tmp_path / "head.wav", tmp_path / "tail.wav"
    soundfile.write(str(head), audio[: 5 * rate], rate)
    soundfile.write(str(tail), audio[-5 * rate:], rate)
    assert tone_share(head, FIRST_TONE) > 0.3, sound_report(head)
    assert tone_share(tail, SECOND_TONE) > 0.5 > 0.01 > tone_share(tail, FIRST_TONE), \
        sound_report(tail)


def _transfer(platform, queues, who: str, call_id: str, kind: str, value: object) -> Any:  # type: ignore[no-untyped-def]
    client = redis.Redis.from_url(platform.settings.redis_url_for("web"))
    try:
        return bus.send_transfer(client, queues["tenant"], queues["users"][who], call_id, kind,
                                 value, timeout_s=10)  # type: ignore[arg-type]
    finally:
        client.close()


def test_to_a_colleague_then_a_busy_number_then_a_number_that_answers(platform, queues) -> None:  # type: ignore[no-untyped-def]
    users = queues["users"]
    caller, first = _tr1_talking(platform, users, hangup_after=90)

    def talking_to(phone: str | None) -> Any:
        rows = records_for(platform, caller)
        return rows[0] if rows and rows[0].phase == "talking" and \
            rows[0].agent_endpoint == phone else None

    # 1. to tr2, who is in no queue of this call: offered to them first, through tra
    got = _transfer(platform, queues, "tr1", first.call_id, "agent", users["tr2"])
    assert got == {"ok": True, "call_id": first.call_id, "queue": "tra",
                   "agent": str(users["tr2"])}, got
    until(lambda: talking_to(PHONES["tr2"]), timeout=30, what="tr2 talking")
    # 2. a busy number: the caller is back in tra, and tr1 (free again) answers
    busy = f"400{random.randrange(10_000):04d}"
    got = _transfer(platform, queues, "tr2", first.call_id, "number", busy)
    assert got == {"ok": True, "call_id": first.call_id, "number": busy}, got
    until(lambda: talking_to(PHONES["tr1"]), timeout=40, what="back in tra, tr1 talking")
    # 3. a number that answers: the call goes on with the carrier's side
    answers = f"100{random.randrange(10_000):04d}"
    got = _transfer(platform, queues, "tr1", first.call_id, "number", answers)
    assert got["ok"], got
    last = until(lambda: talking_to(None), timeout=30, what="the number talking")
    assert last.callee == answers and last.answered_at == first.answered_at
    # a transfer is refused on what is not a customer's talking call of the tenant
    assert _transfer(platform, queues, "tr1", "no-such-call", "number", answers)["ok"] is False
    row = ended_record(platform, caller, timeout=120)
    assert row.callee == answers and row.agent_endpoint is None
    with session_factory(platform)() as s:
        log = [(r.kind, r.queue_id) for r in s.scalars(select(QueueLog).where(
            QueueLog.interaction_id == row.call_id).order_by(QueueLog.id))]
    tra = queues["queues"]["tra"]
    assert [k for k, q in log if q == tra].count("answer") == 3, log  # tr1, tr2, tr1 again
    carrier = lab_recording(platform, answers)
    until(lambda: carrier() is not None and duration_s(carrier()) > 3, timeout=30,
          what="the carrier's recording of the transferred call")
    assert tone_share(carrier(), CALLER_TONE) > 0.05, sound_report(carrier())
    # the number's leg is a second carrier leg, billed from its answer as the carrier saw it
    # (the busy number and the colleague cost nothing); the caller's leg stays its own
    billed_like_the_carrier(row, carrier)
    assert row.carrier_billsec_s > row.transfer_carrier_billsec_s


def billed_like_the_carrier(row: Any, carrier: Any) -> None:
    """The record's seconds for the numbers it reached match the lab carrier's recording
    of the one number that answered (it records from that answer to the hang-up)."""
    assert row.transfer_carrier_billsec_s is not None and row.transfer_carrier_billsec_s > 3
    until(lambda: carrier() is not None and abs(
        duration_s(carrier()) - row.transfer_carrier_billsec_s) <= 1.5, timeout=15,
        what=f"the carrier's recording as long as the record's {row.transfer_carrier_billsec_s} s")


def lab_recording(platform, number: str):  # type: ignore[no-untyped-def]
    """The lab carrier's MixMonitor of the call to ``number`` (``out-<number>-*.wav``)."""
    recdir, _ = labcall.lab_dirs(platform.settings)

    def find() -> Any:
        found = sorted(recdir.glob(f"out-{number}-*.wav"))
        return found[-1] if found else None
    return find


def _tr1_talking(platform, users: dict[str, int], hangup_after: int) -> tuple[str, Any]:  # type: ignore[no-untyped-def]
    """Both agents ready; a new lab caller into ``tra`` talking to tr1: (caller, record)."""
    for phone in PHONES.values():
        labcall.phone_dials(platform.settings, phone, "*50", hangup_after=3)
    until(lambda: all(latest_status(platform, u) not in (None, "logged_out")
                      for u in users.values()), timeout=30, what="both agents logged in")
    log_agents(platform, PHONES.values(), users, "*51", "ready")
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(
        did=DID, caller_id=caller, tone_hz=CALLER_TONE, hangup_after=hangup_after))
    first = until(lambda: (r := records_for(platform, caller)) and r[0].phase == "talking"
                  and r[0].agent_endpoint == PHONES["tr1"] and r[0], timeout=30,
                  what="tr1 talking")
    return caller, first


def test_consult_a_number_then_hand_the_caller_over(platform, queues) -> None:  # type: ignore[no-untyped-def]
    """An attended transfer to a number: tr1 consults it while the caller holds; it answers;
    tr1 completes: the caller talks to the number, and tr1's leg is gone."""
    users = queues["users"]
    caller, first = _tr1_talking(platform, users, hangup_after=70)
    call_id = first.call_id

    def consult(kind: str, value: object) -> Any:
        client = redis.Redis.from_url(platform.settings.redis_url_for("web"))
        try:
            return bus.send_transfer(client, queues["tenant"], users["tr1"], call_id, kind,
                                    value, timeout_s=10)  # type: ignore[arg-type]
        finally:
            client.close()

    def live() -> dict[str, Any]:
        client = redis.Redis.from_url(platform.settings.redis_url_for("web"))
        try:
            raw = client.hget(bus.LIVE_CALLS_KEY, call_id)
        finally:
            client.close()
        return json.loads(raw) if raw else {}

    # a number answers (the lab carrier's "person"); tr1 comes back to the caller
    number = f"100{random.randrange(10_000):04d}"
    assert consult("consult_number", number) == {"ok": True, "call_id": call_id, "consult": "number"}
    until(lambda: (live().get("consult") or {}).get("answered"), timeout=20,
          what="the consulted number answered")
    assert consult("consult_end", "complete") == {"ok": True, "call_id": call_id, "consult": "complete"}
    until(lambda: live().get("agent_endpoint") is None, timeout=10,
          what="the caller handed to the number")
    assert live().get("consult") is None
    # the same call cannot be consulted again by tr1: their leg has gone
    refused = consult("consult_agent", users["tr2"])
    assert refused["ok"] is False, refused
    row = ended_record(platform, caller, timeout=90)
    assert row.callee == number and row.answered_at == first.answered_at
    billed_like_the_carrier(row, lab_recording(platform, number))


def test_consult_a_colleague_and_cancel_then_complete(platform, queues) -> None:  # type: ignore[no-untyped-def]
    """tr1 consults tr2 (the caller holds), comes back, consults again and hands over."""
    users = queues["users"]
    caller, first = _tr1_talking(platform, users, hangup_after=70)
    call_id = first.call_id
    client = redis.Redis.from_url(platform.settings.redis_url_for("web"))

    def consult(kind: str, value: object) -> Any:
        return bus.send_transfer(client, queues["tenant"], users["tr1"], call_id, kind, value,  # type: ignore[arg-type]
                                timeout_s=10)

    def state() -> dict[str, Any]:
        raw = client.hget(bus.LIVE_CALLS_KEY, call_id)
        return json.loads(raw) if raw else {}

    try:
        assert consult("consult_end", "complete")["code"] == "not_consulting"
        assert consult("consult_agent", users["tr2"])["ok"] is True
        until(lambda: (state().get("consult") or {}).get("answered"), timeout=20,
              what="tr2 answered the consultation")
        assert consult("consult_agent", users["tr2"])["code"] == "consulting"  # one at a time
        assert consult("consult_end", "cancel")["ok"] is True
        until(lambda: state().get("consult") is None, timeout=10, what="back with the caller")
        assert state()["agent_endpoint"] == PHONES["tr1"]
        # again, and this time hand the caller over
        assert consult("consult_agent", users["tr2"])["ok"] is True
        until(lambda: (state().get("consult") or {}).get("answered"), timeout=20,
              what="tr2 answered the second consultation")
        assert consult("consult_end", "complete")["ok"] is True
        until(lambda: state().get("agent_endpoint") == PHONES["tr2"], timeout=10,
              what="the caller handed to tr2")
    finally:
        client.close()
    until(lambda: latest_status(platform, users["tr1"]) in ("wrap_up", "ready"), timeout=10,
          what="tr1 released (wrap-up) by the transfer")
    row = ended_record(platform, caller, timeout=90)
    assert row.agent_endpoint == PHONES["tr2"] and row.answered_at == first.answered_at


def _bridge_members(platform, bridge_id: str) -> set[str] | None:  # type: ignore[no-untyped-def]
    """The channels in the platform Asterisk's bridge (ARI), None when it does not exist."""
    s = platform.settings
    token = base64.b64encode(f"{s.ari_user}:{s.ari_password}".encode()).decode()
    req = urllib.request.Request(f"{s.ari_url.rstrip('/')}/bridges/{bridge_id}",
                                 headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return set(json.loads(resp.read())["channels"])
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def test_a_restart_during_a_consultation_gives_the_caller_back_to_the_agent(platform, queues) -> None:  # type: ignore[no-untyped-def]
    """tr1 consults tr2 (the caller holds, out of the bridge); the control plane is killed
    and started again. The restarted daemon does not know the consultation: it cancels it
    (tr2's leg hung up) and puts the caller back in the bridge with tr1, instead of leaving
    them on hold for ever."""
    users = queues["users"]
    caller, first = _tr1_talking(platform, users, hangup_after=60)
    call_id, agent_leg = first.call_id, first.agent_channel
    bridge = f"{call_id}-bridge"
    client = redis.Redis.from_url(platform.settings.redis_url_for("web"))
    try:
        assert bus.send_transfer(client, queues["tenant"], users["tr1"], call_id,  # type: ignore[arg-type]
                                 "consult_agent", users["tr2"], timeout_s=10)["ok"] is True
        until(lambda: (json.loads(client.hget(bus.LIVE_CALLS_KEY, call_id) or "{}")
                       .get("consult") or {}).get("answered"), timeout=20,
              what="tr2 answered the consultation")
    finally:
        client.close()
    members = _bridge_members(platform, bridge) or set()
    assert call_id not in members and agent_leg in members and len(members) == 2, members
    platform.kill_controlplane()  # SIGKILL mid-consultation
    try:
        until(lambda: call_id in platform_channels_concise(platform), timeout=5,
              what="Asterisk still holding the caller while the control plane is down")
    finally:
        platform.start_controlplane()
    until(lambda: _bridge_members(platform, bridge) == {call_id, agent_leg}, timeout=40,
          what="the caller back in the bridge with tr1, tr2's consult leg gone")
    row = ended_record(platform, caller, timeout=90)
    assert row.agent_endpoint == PHONES["tr1"] and row.answered_at == first.answered_at


def platform_channels_concise(platform) -> str:  # type: ignore[no-untyped-def]
    from controlplane import stack

    return stack.platform_instance(platform.settings).cli("core show channels concise")
