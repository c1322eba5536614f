"""A SIP brute force against the platform, with a real attack tool: svcrack (sipvicious)
guesses a real phone's password from its own loopback address (127.0.0.5). The platform
bans the address after ``sip_ban_failures`` failures (row, alert event, Redis alert, log),
Asterisk answers it 403 from then on, and meanwhile baresip (127.0.0.1) stays registered
and calls to and from it work. The ban survives a control-plane restart (re-applied from
the table), an expired ban is lifted on start, a repeat offender gets a longer ban, and the
operator's CLI lifts it at the end.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from helpers import free_port, tone_ratio, until
from labtools import BARESIP_TONE, CALLER_TONE, ended_record, records_for, unique_caller
from sqlalchemy import select

from controlplane import stack
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models.security import SecurityEvent
from controlplane.models.sip_bans import SipBan
from controlplane.security import ban_store, sip_acl
from controlplane.security.alerts import ALERTS_STREAM
from controlplane.security.ban_service import SYNC_EVERY_S
from dialplan import labcall

pytestmark = pytest.mark.integration

ATTACKER = "127.0.0.5"
TARGET = "demo-1001"  # a real desk phone account of the demo tenant
GUESSES = 300
BARESIP = "demo-1009"

# svcrack 0.3.8's command line accepts -b (bind address) but never passes it on, so the
# attack runs from the same class the command line drives, with the address given.
SVCRACK = """
import logging, sys
from sipvicious.svcrack import ASipOfRedWine
logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(message)s")
host, port, bind, localport, user, words = sys.argv[1:7]
attack = ASipOfRedWine(host, port=int(port), bindingip=bind, localport=int(localport),
                       username=user, crackmode=2, crackargs=open(words, "rb"),
                       maxlastrecvtime=5)
attack.start()
print("CRACKED" if attack.resultpasswd else "NOT CRACKED", flush=True)
"""


# ---- helpers ----

def factory(platform):  # type: ignore[no-untyped-def]
    return make_sessionmaker(make_engine(platform.settings.database_url))


def bans_of(platform, address: str = ATTACKER) -> list[SipBan]:  # type: ignore[no-untyped-def]
    with factory(platform)() as s:
        return list(s.scalars(select(SipBan).where(SipBan.address == address)
                              .order_by(SipBan.id)))


def events_of(platform, kind: str) -> list[SecurityEvent]:  # type: ignore[no-untyped-def]
    with factory(platform)() as s:
        return list(s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind == kind, SecurityEvent.source == ATTACKER)))


def probe(platform, source: str = ATTACKER) -> str:  # type: ignore[no-untyped-def]
    """One REGISTER without credentials from ``source``: the status line, "" if unanswered.
    (A challenge is not a failure: probing never counts towards a ban.)"""
    settings = platform.settings
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(2)
        port = sock.getsockname()[1]
        tag = uuid.uuid4().hex[:10]
        host = f"{settings.bind_address}:{settings.platform.sip}"
        msg = (f"REGISTER sip:{host} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {source}:{port};branch=z9hG4bK{tag};rport\r\n"
               "Max-Forwards: 70\r\n"
               f"From: <sip:{TARGET}@{host}>;tag={tag}\r\nTo: <sip:{TARGET}@{host}>\r\n"
               f"Call-ID: probe-{tag}\r\nCSeq: 1 REGISTER\r\n"
               f"Contact: <sip:{TARGET}@{source}:{port}>\r\nExpires: 0\r\n"
               "Content-Length: 0\r\n\r\n")
        sock.sendto(msg.encode(), (settings.bind_address, settings.platform.sip))
        try:
            return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
        except TimeoutError:
            return ""


def run_until_banned(platform, tmp_path: Path, n_before: int, address: str = ATTACKER,  # type: ignore[no-untyped-def]
                     target: str = TARGET) -> tuple[SipBan, str]:
    """Run svcrack until Asterisk answers it 403; return the new ban and svcrack's output."""
    log_path = tmp_path / "svcrack-current.log"
    words = tmp_path / "guesses.txt"
    words.write_text("".join(f"guess{i:04d}\n" for i in range(GUESSES)))
    with open(log_path, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SVCRACK, platform.settings.bind_address,
             str(platform.settings.platform.sip), address, str(free_port()), target,
             str(words)], stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            row = until(lambda: (bans_of(platform, address)[n_before:] or [None])[0],
                        timeout=30, what=f"a ban of {address}")
            # once banned, svcrack gets 403 to every request (it keeps trying until stopped)
            until(lambda: log_path.read_text().count("403 Forbidden") >= 3, timeout=20,
                  what="svcrack to be answered 403")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return row, log_path.read_text()


class Baresip:
    """baresip's ctrl_tcp (netstring JSON; commands from its menu module)."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.sock = socket.create_connection(("127.0.0.1", stack.baresip_ctrl_port(settings)),
                                             timeout=5)
        self.buf = b""

    def command(self, command: str, params: str = "") -> dict:  # type: ignore[type-arg]
        token = uuid.uuid4().hex[:8]
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        self.sock.sendall(f"{len(body)}:".encode() + body + b",")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            while (m := re.match(rb"(\d+):", self.buf)) and len(self.buf) > m.end() + int(m[1]):
                n = int(m[1])
                msg = json.loads(self.buf[m.end():m.end() + n])
                self.buf = self.buf[m.end() + n + 1:]
                if msg.get("response") and msg.get("token") == token:
                    return msg  # type: ignore[no-any-return]
            self.buf += self.sock.recv(65536)
        raise AssertionError(f"baresip did not answer {command}")

    def close(self) -> None:
        self.sock.close()


def check_baresip_still_works(platform) -> None:  # type: ignore[no-untyped-def]
    """Registered, a customer's call reaches it, and it dials out through the platform."""
    ast = stack.platform_instance(platform.settings)
    assert f"{BARESIP}/" in ast.cli("pjsip show contacts")
    phone = Baresip(platform.settings)
    try:
        reg = phone.command("reginfo")
        assert reg["ok"] and f"sip:{BARESIP}@" in reg["data"] and "OK" in reg["data"], reg

        caller = unique_caller()  # to baresip: the DID bound to demo-1009
        labcall.call(platform.settings, labcall.CallSpec(
            did="48221000009", caller_id=caller, tone_hz=CALLER_TONE, hangup_after=5))
        row = ended_record(platform, caller)
        assert row.agent_endpoint == BARESIP and row.answered_at is not None
        assert tone_ratio(row.recording_path, BARESIP_TONE) > 50  # its audio came through

        number = f"100{uuid.uuid4().int % 10000:04d}"  # from baresip: the lab's "human" plan
        sip = f"sip:{number}@{platform.settings.bind_address}:{platform.settings.platform.sip}"
        assert phone.command("dial", sip)["ok"]

        def answered():  # type: ignore[no-untyped-def]
            rows = [r for r in records_for(platform, "1009") if r.callee == number]
            return rows[0] if rows and rows[0].answered_at is not None else None

        out = until(answered, timeout=30, what=f"baresip's call to {number} answered")
        assert out.direction == "outbound" and out.agent_endpoint == BARESIP
        phone.command("hangup")
        until(lambda: [r for r in records_for(platform, "1009")
                       if r.callee == number and r.status == "ended"], timeout=30,
              what="baresip's call to end")
    finally:
        phone.close()


def restart_controlplane(platform) -> None:  # type: ignore[no-untyped-def]
    platform.start_controlplane()
    from controlplane.health import check_ari

    def connected() -> bool:
        try:
            check_ari(platform.settings)
            return True
        except Exception:  # noqa: BLE001
            return False

    until(connected, timeout=30, what="control plane connected again")


def redis_client(platform) -> redis.Redis:  # type: ignore[no-untyped-def]
    settings = platform.settings
    url = settings.redis_url_for("admin") if hasattr(settings, "redis_url_for") else settings.redis_url
    return redis.Redis.from_url(url, decode_responses=True)


# ---- the test ----

def test_brute_force_is_banned_and_the_rest_keeps_working(platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = platform.settings
    assert probe(platform).startswith("SIP/2.0 401"), "the attacker's address starts unbanned"
    assert settings.sip_ban_failures < GUESSES

    # 1. svcrack guesses demo-1001's password from 127.0.0.5 → banned
    ban, log = run_until_banned(platform, tmp_path, 0)
    guesses = log.count("Sending REGISTER with auth=True")
    challenged = log.count("401 Unauthorized")
    print(f"\nsvcrack: {guesses} guesses sent, {challenged} answered 401 before the ban, "
          f"then {log.count('403 Forbidden')} answered 403")
    assert "The password for" not in log
    assert guesses < GUESSES, "the ban must stop the attack before the dictionary runs out"
    assert ban.failures == settings.sip_ban_failures and ban.offence == 1
    assert ban.lifted_at is None
    assert (ban.expires_at - ban.created_at).total_seconds() == pytest.approx(
        settings.sip_ban_time_s, abs=1)
    assert ban.accounts == [TARGET] and "ChallengeResponseFailed" in ban.reason
    (alert,) = events_of(platform, "sip.ban")
    assert alert.severity == "alert" and alert.detail["failures"] == settings.sip_ban_failures
    assert TARGET not in json.dumps(alert.detail)
    client = redis_client(platform)
    try:
        published = [json.loads(f["data"]) for _, f in client.xrange(ALERTS_STREAM)]
    finally:
        client.close()
    assert any(p["kind"] == "sip.ban" and p["source"] == ATTACKER for p in published)
    logs = "".join(p.read_text(errors="replace")
                   for p in (settings.runtime_dir / "log").glob("controlplane*.log"))
    assert re.search(r"WARNING.*sip\.ban.*127\.0\.0\.5", logs)
    # Further requests from the address are refused before any authentication.
    assert probe(platform).startswith("SIP/2.0 403")
    etc = ban_store.etc_dir(settings)
    assert sip_acl.banned_in((etc / sip_acl.BANS_FILE).read_text()) == {ATTACKER}

    # 2. meanwhile baresip on 127.0.0.1 registers and calls both ways
    assert probe(platform, "127.0.0.1").startswith("SIP/2.0 401")
    check_baresip_still_works(platform)

    # 3. the ban survives a control-plane restart: re-applied from the table even when
    #    Asterisk lost it (the file blanked and reloaded while the daemon was down)
    platform.kill_controlplane()
    ban_store.write_file(etc, sip_acl.render_bans([]))
    ban_store.reload_pjsip_sync(settings)
    until(lambda: probe(platform).startswith("SIP/2.0 401"), timeout=10,
          what="the blanked ACL to let the attacker in")
    restart_controlplane(platform)
    until(lambda: probe(platform).startswith("SIP/2.0 403"), timeout=20,
          what="the restarted control plane to re-apply the ban")
    assert [b.lifted_at for b in bans_of(platform)] == [None]

    # 4. an expired ban is lifted automatically (here: it expired while the daemon was down)
    platform.kill_controlplane()
    with transaction(factory(platform)) as s:
        row = s.get(SipBan, ban.id)
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    restart_controlplane(platform)
    until(lambda: probe(platform).startswith("SIP/2.0 401"), timeout=20,
          what="the expired ban to be lifted")
    (lifted,) = bans_of(platform)
    assert lifted.lifted_at is not None and lifted.lifted_by == "expired"
    assert [e.actor for e in events_of(platform, "sip.unban")] == ["expired"]

    # 5. a repeat offender is banned longer; the operator lifts it from the CLI
    second, _ = run_until_banned(platform, tmp_path, 1)
    assert second.offence == 2
    assert (second.expires_at - second.created_at).total_seconds() == pytest.approx(
        min(settings.sip_ban_time_s * 4, settings.sip_ban_max_time_s), abs=1)
    assert probe(platform).startswith("SIP/2.0 403")
    from controlplane.cli import main

    assert main(["security", "unban", ATTACKER]) == 0
    until(lambda: probe(platform).startswith("SIP/2.0 401"), timeout=10,
          what="the lifted ban to let the address in again")
    assert all(b.lifted_at is not None for b in bans_of(platform))
    assert bans_of(platform)[-1].lifted_by.startswith("cli:")
    # the control plane forgot the ban too: its table sync (every 2 s) does not put it back
    deadline = time.monotonic() + 3 * SYNC_EVERY_S
    while time.monotonic() < deadline:
        assert probe(platform).startswith("SIP/2.0 401")
        time.sleep(0.5)


def test_guessing_unknown_accounts_is_banned_too(platform, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An unknown account: Asterisk reports InvalidAccountID (every request), counted once."""
    scanner = "127.0.0.6"
    ban, _ = run_until_banned(platform, tmp_path, 0, scanner, "nosuchuser")
    assert ban.failures == platform.settings.sip_ban_failures
    assert "InvalidAccountID" in ban.reason and ban.accounts == ["nosuchuser"]
    assert probe(platform, scanner).startswith("SIP/2.0 403")
    assert probe(platform).startswith("SIP/2.0 401")  # one address banned, not the others
    from controlplane.cli import main

    assert main(["security", "unban", scanner]) == 0
    until(lambda: probe(platform, scanner).startswith("SIP/2.0 401"), timeout=10,
          what="the scanner's ban to be lifted")
