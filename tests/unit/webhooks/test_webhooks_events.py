"""The pure rules of webhooks: signature and its verification, the retry schedule, dead
and disable rules, and which target addresses are refused (IPv4 and IPv6)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from controlplane.webhooks import events as ev
from controlplane.webhooks.exceptions import InvalidTarget
from controlplane.webhooks.transport import resolve_target

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def test_signature_is_hmac_sha256_of_timestamp_dot_body_and_verifies() -> None:
    body = ev.envelope("e-1", "call.ended", T0, "demo.example", {"call_id": "c"})
    assert json.loads(body) == {"id": "e-1", "type": "call.ended", "tenant": "demo.example",
                                "created_at": T0.isoformat(), "data": {"call_id": "c"}}
    sig = ev.sign("s3cret", 1_700_000_000, body)
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sig == f"v1={expected}"
    assert ev.verify("s3cret", sig, "1700000000", body, now=1_700_000_010)
    assert not ev.verify("other", sig, "1700000000", body, now=1_700_000_010)
    assert not ev.verify("s3cret", sig, "1700000000", body + b" ", now=1_700_000_010)
    assert not ev.verify("s3cret", sig, "1700000001", body, now=1_700_000_010)  # ts signed
    assert not ev.verify("s3cret", sig, "1700000000", body, now=1_700_000_000 + 301)  # stale
    assert not ev.verify("s3cret", sig, "soon", body, now=1_700_000_000)
    h = ev.headers("s3cret", "e-1", 1_700_000_000, body)
    assert h["Centrala-Event-Id"] == "e-1" and h["Centrala-Signature"] == sig


def test_event_ids_are_stable_per_change_and_secrets_fresh() -> None:
    assert ev.event_id("call.ended", "c-1") == ev.event_id("call.ended", "c-1")
    assert ev.event_id("call.ended", "c-1") != ev.event_id("call.started", "c-1")
    a, b = ev.new_secret(), ev.new_secret()
    assert a != b and a.startswith("whsec_") and len(a) == 70


def test_backoff_grows_with_jitter_and_is_capped_at_an_hour() -> None:
    low = [ev.retry_delay_s(n, 0.0) for n in range(1, 12)]
    high = [ev.retry_delay_s(n, 0.999) for n in range(1, 12)]
    mid = [ev.retry_delay_s(n, 0.5) for n in range(1, 12)]
    assert mid[:7] == [10, 30, 120, 300, 900, 1800, 3600] and set(mid[7:]) == {3600}
    assert all(lo >= 0.8 * m and hi <= 1.2 * m for lo, hi, m in zip(low, high, mid, strict=True))
    assert max(high) <= 3600 * 1.2
    # at least 24 h of retries: the schedule alone takes > 20 attempts to get there
    total, n = 0.0, 0
    while total < 24 * 3600:
        n += 1
        total += ev.retry_delay_s(n, 0.5)
    assert n > 20


def test_dead_after_24_hours_and_disable_rule() -> None:
    assert not ev.is_dead(T0, T0 + timedelta(hours=23, minutes=59))
    assert ev.is_dead(T0, T0 + timedelta(hours=24))
    assert not ev.should_disable(0, None, T0)
    assert not ev.should_disable(50, T0, T0 + timedelta(minutes=10))  # a burst, not an outage
    assert ev.should_disable(50, T0, T0 + timedelta(hours=1))
    assert not ev.should_disable(5, T0, T0 + timedelta(hours=23))
    assert ev.should_disable(5, T0, T0 + timedelta(hours=24))


@pytest.mark.parametrize(("address", "reason"), [
    ("10.0.0.1", "private"), ("172.16.5.5", "private"), ("192.168.1.1", "private"),
    ("127.0.0.1", "loopback"), ("127.9.9.9", "loopback"), ("169.254.169.254", "link-local"),
    ("100.64.0.1", "CGNAT"), ("224.0.0.251", "multicast"), ("0.0.0.0", "reserved"),
    ("::1", "loopback"), ("fd12:3456::1", "unique local"), ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"), ("ff02::1", "multicast"), ("::", "reserved"),
    ("::ffff:10.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback"),
    ("64:ff9b::7f00:1", "loopback"), ("2002:a00:1::1", "private"),
])
def test_private_and_local_addresses_are_refused(address: str, reason: str) -> None:
    got = ev.refused_reason(address)
    assert got is not None and reason in got


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2001:4860:4860::8888",
                                     "2a00:1450:4001::200e", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert ev.refused_reason(address) is None


def _resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]
    return resolve


def test_targets_are_checked_by_every_address_the_name_resolves_to() -> None:
    dns = _resolver({"hooks.example": ["93.184.216.34"],
                     "sneaky.example": ["93.184.216.34", "10.0.0.5"],
                     "v6local.example": ["fd00::5"]})
    t = resolve_target("https://hooks.example/in?x=1", False, dns)
    assert (t.scheme, t.host, t.port, t.path, t.address) == (
        "https", "hooks.example", 443, "/in?x=1", "93.184.216.34")
    with pytest.raises(InvalidTarget, match="10.0.0.5, a private address"):
        resolve_target("https://sneaky.example/", False, dns)
    with pytest.raises(InvalidTarget, match="unique local"):
        resolve_target("http://v6local.example:8080/", False, dns)
    with pytest.raises(InvalidTarget, match="loopback"):
        resolve_target("http://127.0.0.1:9/", False)
    with pytest.raises(InvalidTarget, match="link-local"):
        resolve_target("http://[fe80::1]/", False)
    with pytest.raises(InvalidTarget, match="cannot be resolved"):
        resolve_target("https://nowhere.example/", False, dns)
    for bad in ("ftp://hooks.example/", "hooks.example/x", "https://u:p@hooks.example/",
                "http://[::1/"):
        with pytest.raises(InvalidTarget) as err:
            resolve_target(bad, False, dns)
        assert err.value.status == 422 and err.value.details["field"] == "url"
    # on-premise: allowed when the setting says so
    assert resolve_target("http://127.0.0.1:9/hook", True).address == "127.0.0.1"
