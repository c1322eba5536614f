"""AMI security events as Asterisk 22.10 sent them during a real svcrack run (recorded
here, the digests shortened) → authentication failures counted once per attempt."""

from __future__ import annotations

import pytest

from controlplane.security.bans import AuthFailure
from controlplane.security.sip_events import parse, remote_address


def ami(event: str, account: str, remote: str = "IPV4/UDP/127.0.0.5/25999",
        service: str = "PJSIP", **extra: str) -> dict[str, str]:
    return {"Event": event, "Privilege": "security,all", "SystemName": "platform",
            "EventTV": "2026-12-03T15:17:42.987+0000", "Severity": "Error",
            "Service": service, "EventVersion": "1", "AccountID": account,
            "SessionID": "3577744043", "LocalAddress": "IPV4/UDP/127.0.0.1/14060",
            "RemoteAddress": remote, **extra}


WRONG_PASSWORD = [  # svcrack -u demo-1001, three guesses
    ami("ChallengeSent", "demo-1001", Severity="Informational", Challenge=""),
    *[ami("ChallengeResponseFailed", "demo-1001", Challenge="1796311062/4df2",
          Response="ebe3", ExpectedResponse="") for _ in range(3)],
]
UNKNOWN_USER = [  # svcrack -u nosuchuser, two guesses
    ami("InvalidAccountID", "nosuchuser", "IPV4/UDP/127.0.0.6/25999"),
    ami("ChallengeSent", "<unknown>", "IPV4/UDP/127.0.0.6/25999", Challenge=""),
    *[e for _ in range(2) for e in (
        ami("InvalidAccountID", "nosuchuser", "IPV4/UDP/127.0.0.6/25999"),
        ami("ChallengeResponseFailed", "<unknown>", "IPV4/UDP/127.0.0.6/25999",
            Challenge="1796311073/17d2", Response="ee4f", ExpectedResponse=""))],
]
NORMAL = [  # a desk phone registering
    ami("ChallengeSent", "demo-1003", "IPV4/UDP/127.0.0.1/14080", Challenge=""),
    ami("SuccessfulAuth", "demo-1003", "IPV4/UDP/127.0.0.1/14080", UsingPassword="1"),
]


def test_wrong_password_counts_each_attempt() -> None:
    got = [f for f in map(parse, WRONG_PASSWORD) if f]
    assert got == [AuthFailure("127.0.0.5", "ChallengeResponseFailed", "demo-1001")] * 3


def test_unknown_user_counts_each_request_once() -> None:
    got = [f for f in map(parse, UNKNOWN_USER) if f]
    assert got == [AuthFailure("127.0.0.6", "InvalidAccountID", "nosuchuser")] * 3


def test_normal_registration_counts_nothing() -> None:
    assert [parse(m) for m in NORMAL] == [None, None]


@pytest.mark.parametrize("message", [
    ami("InvalidPassword", "admin", "IPV4/TCP/127.0.0.9/40000", service="AMI"),  # AMI login
    ami("ChallengeResponseFailed", "demo-1001", "garbage"),
    ami("ChallengeResponseFailed", "demo-1001", "IPV4/UDP/not-an-ip/5060"),
    {"Event": "ContactStatus", "AOR": "demo-1001"},
    {},
])
def test_other_messages_are_ignored(message: dict[str, str]) -> None:
    assert parse(message) is None


@pytest.mark.parametrize(("kind", "account", "expected_account"), [
    ("FailedACL", "demo-1001", "demo-1001"),
    ("InvalidPassword", "x" * 200, "x" * 80),
])
def test_other_failures(kind: str, account: str, expected_account: str) -> None:
    assert parse(ami(kind, account)) == AuthFailure("127.0.0.5", kind, expected_account)


@pytest.mark.parametrize(("value", "address"), [
    ("IPV4/UDP/127.0.0.5/25999", "127.0.0.5"),
    ("IPV6/TCP/[2001:db8::1]/5060", "2001:db8::1"),
    ("IPV6/UDP/2001:db8:0::1/5060", "2001:db8::1"),
    ("IPV4/UDP/127.0.0.5", None),
    ("", None),
])
def test_remote_address(value: str, address: str | None) -> None:
    assert remote_address(value) == address


def test_digests_never_leave_the_parser() -> None:
    failure = parse(WRONG_PASSWORD[1])
    assert failure is not None and "ebe3" not in repr(failure) and "1796311062" not in repr(failure)
