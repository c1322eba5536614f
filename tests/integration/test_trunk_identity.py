"""Trunk calls are identified by source address, and only the trunk's tenant's numbers answer.

Real platform and lab: an INVITE crafted over a raw UDP socket that names the trunk in its
From header (sent from 127.0.0.1, where the desk phones live, or from an address nobody
configured) is refused by Asterisk itself and leaves no call record; the lab carrier, on its
own address 127.0.0.2, still reaches a DID; a carrier call to a number that is not one of
the trunk's tenant's DIDs is refused unanswered with cause 1, leaves no call record and one
``call.unknown_number`` security event.
"""

from __future__ import annotations

import random
import socket
import time
import uuid
from dataclasses import dataclass

import pytest
from helpers import until
from labtools import CALLER_TONE, ended_record, records_for, unique_caller
from sqlalchemy import func, select

from controlplane.calls.hangup_log import read_hangups
from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import CallRecord, Trunk
from controlplane.models.security import SecurityEvent
from controlplane.security.trunk_calls import UNKNOWN_NUMBER
from dialplan import labcall
from dialplan.lab import lab_dirs
from dialplan.render import cel_log_path

pytestmark = pytest.mark.integration

DID = "48221000001"


@dataclass(frozen=True)
class Reply:
    code: int
    reason: str
    to: str  # the To header (with the tag the final response adds)


def invite(platform, from_user: str, source: str, did: str = DID) -> list[Reply]:  # type: ignore[no-untyped-def]
    """Send one INVITE without credentials from ``source``; return every response up to the
    final one (which is acknowledged, as a UAC must)."""
    settings = platform.settings
    target = f"{settings.bind_address}:{settings.platform.sip}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        port = sock.getsockname()[1]
        branch, tag, call_id = (f"z9hG4bK{uuid.uuid4().hex[:16]}", uuid.uuid4().hex[:8],
                                f"{uuid.uuid4().hex}@{source}")
        sdp = (f"v=0\r\no=- 1 1 IN IP4 {source}\r\ns=-\r\nc=IN IP4 {source}\r\nt=0 0\r\n"
               f"m=audio {random.randrange(40000, 50000, 2)} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
        common = (f"Via: SIP/2.0/UDP {source}:{port};branch={branch};rport\r\n"
                  f"Max-Forwards: 70\r\nFrom: <sip:{from_user}@{source}>;tag={tag}\r\n")
        request = (f"INVITE sip:{did}@{target} SIP/2.0\r\n{common}"
                   f"To: <sip:{did}@{target}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
                   f"Contact: <sip:{from_user}@{source}:{port}>\r\n"
                   f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
        sock.settimeout(2)
        replies: list[Reply] = []
        deadline = time.monotonic() + 20  # generous: the machine is shared
        while time.monotonic() < deadline and not (replies and replies[-1].code >= 200):
            if not replies:  # UDP: repeat the request until anything answers
                sock.sendto(request.encode(), (settings.bind_address, settings.platform.sip))
            try:
                data = sock.recv(65535).decode(errors="replace")
            except TimeoutError:
                continue
            status, *headers = data.split("\r\n")
            if not status.startswith("SIP/2.0 "):
                continue
            _, code, reason = status.split(" ", 2)
            to = next((h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("to:")), "")
            replies.append(Reply(int(code), reason, to))
        assert replies and replies[-1].code >= 200, f"no final response to the INVITE: {replies}"
        if replies[-1].code >= 300:
            ack = (f"ACK sip:{did}@{target} SIP/2.0\r\n{common}To: {replies[-1].to}\r\n"
                   f"Call-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
            sock.sendto(ack.encode(), (settings.bind_address, settings.platform.sip))
        return replies


def count_records(platform) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return int(s.scalar(select(func.count()).select_from(CallRecord)) or 0)
    finally:
        engine.dispose()


def unknown_number_events(platform, caller: str) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == UNKNOWN_NUMBER))
            return [r for r in rows if r.detail.get("caller") == caller]
    finally:
        engine.dispose()


def auth_failures(platform, source: str) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return list(s.scalars(select(SecurityEvent).where(
                SecurityEvent.kind == "sip.auth_failed", SecurityEvent.source == source)))
    finally:
        engine.dispose()


def trunk(platform) -> Trunk:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return s.scalar(select(Trunk).where(Trunk.name == "lab-carrier"))
    finally:
        engine.dispose()


def test_an_invite_naming_the_trunk_without_its_address_is_refused(platform) -> None:  # type: ignore[no-untyped-def]
    t = trunk(platform)
    assert t.host == "127.0.0.2"
    before = count_records(platform)
    # From the desk phones' address, naming the trunk's endpoint, then its SIP account; and
    # from an address nobody configured.
    for from_user, source in ((t.name, "127.0.0.1"), (t.username, "127.0.0.1"),
                              (t.name, "127.0.0.3")):
        replies = invite(platform, from_user, source)
        codes = [r.code for r in replies]
        assert not {100, 180, 183} & set(codes) and codes[-1] in (401, 403, 404, 407), \
            f"INVITE from {from_user}@{source} got {replies}"
    # The stranger's refused INVITE leaves an audit line (one per source and ban window).
    until(lambda: auth_failures(platform, "127.0.0.3"), timeout=20,
          what="a sip.auth_failed audit line for 127.0.0.3")
    # The real carrier, from its own address, still reaches the DID, is answered and bridged.
    caller = unique_caller()
    labcall.call(platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                     tone_hz=CALLER_TONE, hangup_after=5))
    row = ended_record(platform, caller, timeout=60)
    assert (row.trunk, row.did, row.agent_endpoint) == ("lab-carrier", DID, "demo-1001")
    assert row.answered_at is not None and row.tenant_id == t.tenant_id
    # By now a record of the forged INVITEs would exist too: only the carrier's is new.
    assert count_records(platform) == before + 1
    assert not records_for(platform, t.name) and not records_for(platform, t.username)


def test_a_carrier_call_to_a_number_not_of_its_tenant_is_refused(platform) -> None:  # type: ignore[no-untyped-def]
    caller = unique_caller()
    before = count_records(platform)
    lab_id = labcall.call(platform.settings, labcall.CallSpec(did="48229999999", caller_id=caller,
                                                              hangup_after=10))
    [event] = until(lambda: unknown_number_events(platform, caller), timeout=30,
                    what="the call.unknown_number security event")
    t = trunk(platform)
    assert (event.tenant_id, event.actor, event.severity) == (t.tenant_id, "lab-carrier", "warning")
    assert event.source.startswith("127.0.0.2:")  # where the carrier's INVITE came from
    assert event.detail["number"] == "48229999999" and event.detail["trunk"] == "lab-carrier"
    # Refused unanswered with Q.850 cause 1 (unallocated), as Asterisk itself logged it.
    call_id = str(event.detail["call_id"])
    hangups = until(lambda: read_hangups(cel_log_path(platform.settings), {call_id}),
                    timeout=20, what="the refused channel's hang-up in the CEL log")
    assert hangups[call_id].cause == 1
    # Never answered: the lab caller's recording starts only once the platform answers.
    caller_rec, _ = labcall.recordings(platform.settings, lab_id)
    assert not caller_rec.exists(), "the platform answered a call to an unknown number"
    assert lab_dirs(platform.settings)[0].is_dir()
    # No call record, and one audit line only.
    assert not records_for(platform, caller) and count_records(platform) == before
    assert len(unknown_number_events(platform, caller)) == 1
