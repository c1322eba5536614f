"""The pure rules behind the IP allow-list and the TOTP second factor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from controlplane.security import ip_allow_list, totp

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("entries", "address", "allowed"), [
    ([], "203.0.113.9", True),  # empty list: everyone
    (["10.0.0.0/8"], "10.200.1.1", True),
    (["10.0.0.0/8"], "11.0.0.1", False),
    (["10.0.0.0/8"], "::ffff:10.1.1.1", True),  # IPv4 on a dual-stack socket
    (["192.0.2.7"], "192.0.2.7", True),  # a bare address is a /32
    (["192.0.2.7"], "192.0.2.8", False),
    (["2001:db8::/32"], "2001:db8:1::1", True),
    (["2001:db8::/32"], "2001:db9::1", False),
    (["10.0.0.0/8"], "unknown", False),
    (["fe80::/10"], "fe80::1%eth0", True),
])
def test_allow_list(entries, address, allowed):
    assert ip_allow_list.allows(ip_allow_list.parse(entries), address) is allowed


def test_allow_list_normalises_and_names_the_bad_entry():
    assert ip_allow_list.normalise([" 10.1.2.3/24", "", "10.1.2.0/24", "2001:DB8::/32"]) == [
        "10.1.2.0/24", "2001:db8::/32"]
    with pytest.raises(ip_allow_list.BadEntry) as err:
        ip_allow_list.parse(["10.0.0.0/8", "10.0.0.0/33"])
    assert err.value.index == 1 and "entry 2" in str(err.value)


def test_totp_code_accepted_once_and_within_one_step():
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    counter = totp.accepted_counter(secret, code, NOW, 0)
    assert counter == totp.counter_at(NOW)
    assert totp.accepted_counter(secret, code, NOW, counter) is None  # replay
    assert totp.accepted_counter(secret, code, NOW + timedelta(seconds=30), 0) is not None
    assert totp.accepted_counter(secret, code, NOW + timedelta(seconds=95), 0) is None
    assert totp.accepted_counter(secret, "12345", NOW, 0) is None
    assert totp.provisioning_uri(secret, "a@b.example").startswith("otpauth://totp/Centrala:")


def test_recovery_codes_are_single_use():
    codes = totp.new_recovery_codes()
    hashes = [totp.recovery_hash(c) for c in codes]
    assert len(set(codes)) == totp.RECOVERY_CODES
    left = totp.use_recovery_code(hashes, codes[3].upper())
    assert left is not None and len(left) == totp.RECOVERY_CODES - 1
    assert totp.use_recovery_code(left, codes[3]) is None
