"""The generic HTTP provider against the lab gateway (a real local HTTP server), its
signature check and replay window, its inbound parsing, and the secrets at rest."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controlplane.desk.sms import secrets
from controlplane.desk.sms.exceptions import BadInbound, ProviderFailed, SecretUnreadable
from controlplane.desk.sms.providers import (
    REPLAY_WINDOW_S,
    HttpProvider,
    InboundSms,
    StatusReport,
    number,
)
from tests.smslab import SmsLab

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_send_reaches_the_lab_with_key_sender_and_text() -> None:
    with SmsLab("k-1") as lab:
        provider = HttpProvider(lab.url, "k-1", "s", allow_private=True)
        first = provider.send("+48500100200", "Dzień dobry", "Centrala", "ticket-1")
        assert first.startswith("lab-")
        assert lab.wait_sent(1) == [{"to": "+48500100200", "from": "Centrala",
                                     "text": "Dzień dobry", "reference": "ticket-1",
                                     "id": first}]
        with pytest.raises(ProviderFailed, match="401"):
            HttpProvider(lab.url, "wrong", "s", allow_private=True).send("+48500", "x", "C")
        lab.fail_next = 1
        with pytest.raises(ProviderFailed, match="503"):
            provider.send("+48500100200", "x", "C")
        assert provider.send("+48500100200", "x", "C") != first
    with pytest.raises(ProviderFailed, match="refused"):  # private targets need the flag
        HttpProvider(lab.url, "k-1", "s").send("+48500100200", "x", "C")
    assert "k-1" not in repr(provider)


def test_signature_and_replay_window() -> None:
    lab = SmsLab("k")
    provider = HttpProvider("", "k", "secret-1")
    signed = lab.inbound("secret-1", "+48500100200", "+48221000001", "hej")
    now = time.time()
    assert provider.verify(signed.headers, signed.body, now)
    assert not provider.verify(signed.headers, signed.body + b" ", now)  # body changed
    assert not provider.verify(lab.inbound("other", "+485", "+48", "x").headers, signed.body,
                               now)
    old = lab.inbound("secret-1", "+48500100200", "", "x",
                      timestamp=int(now) - REPLAY_WINDOW_S - 5)
    assert not provider.verify(old.headers, old.body, now)
    assert not provider.verify({}, signed.body, now)
    assert not HttpProvider("", "k", "").verify(signed.headers, signed.body, now)


def test_parse_inbound_and_reports() -> None:
    provider = HttpProvider("", "k", "s")
    sms = provider.parse(json.dumps({"id": "m1", "from": "0048 500 100 200", "to": "+48221000001",
                                     "text": "Hej\nświat",
                                     "received_at": "2026-12-04T13:00:00+01:00"}).encode(), NOW)
    assert sms == InboundSms("+48500100200", "+48221000001", "Hej\nświat", "m1", NOW)
    assert isinstance(sms, InboundSms) and sms.from_number
    alnum = provider.parse(b'{"id": "m2", "from": "ALLEGRO", "text": "Promocja"}', NOW)
    assert isinstance(alnum, InboundSms) and not alnum.from_number and alnum.received_at == NOW
    report = provider.parse(b'{"type": "status", "id": "lab-1", "status": "delivered"}', NOW)
    assert report == StatusReport("lab-1", "delivered", NOW)
    for body, field in [(b"nope", "body"), (b"[]", "body"), (b'{"id": "x", "text": "t"}', "from"),
                        (b'{"id": 5, "from": "+48500100200"}', "id"),
                        (b'{"id": "x", "from": "+1", "received_at": "yesterday"}', "received_at"),
                        (b'{"type": "mms"}', "type"),
                        (b'{"type": "status", "id": "x", "status": "lost"}', "status")]:
        with pytest.raises(BadInbound) as err:
            provider.parse(body, NOW)
        assert err.value.details["field"] == field, body
    assert number(" +48 500-100-200 ") == "+48500100200"


def test_secrets_are_encrypted_under_a_0600_key(tmp_path: Path) -> None:
    token = secrets.encrypt(tmp_path, "api-key-123")
    assert "api-key-123" not in token and secrets.decrypt(tmp_path, token) == "api-key-123"
    key = secrets.key_path(tmp_path)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert secrets.encrypt(tmp_path, "") == "" and secrets.decrypt(tmp_path, "") == ""
    with pytest.raises(SecretUnreadable):
        secrets.decrypt(tmp_path / "elsewhere", token)  # another installation's key
