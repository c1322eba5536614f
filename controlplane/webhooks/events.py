"""What a webhook is, as pure functions: event types, the envelope, its signature, the
retry schedule, the auto-disable rule and which target addresses are refused.

Theory of operation: a receiver gets ``POST`` with the JSON envelope
``{id, type, created_at, tenant, data}`` and the headers ``Centrala-Event-Id``,
``Centrala-Timestamp`` (Unix seconds of THIS attempt) and ``Centrala-Signature:
v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``. The timestamp is signed with the
body, so a captured request cannot be replayed later than the receiver's tolerance; it is
recomputed on every attempt. ``id`` is the same on every attempt (receivers dedupe on it).

Failed attempts are retried after :func:`retry_delay_s` (10 s, 30 s, 2 min, 5 min, 15 min,
30 min, then hourly, each ±20 % jitter so a receiver coming back is not hit by every
delivery at once) until :data:`DEAD_AFTER` has passed since the delivery's retry window
began; then the delivery is dead (replayable). A subscription whose attempts keep failing
is disabled by :func:`should_disable`.

No I/O here (the ``pure`` import contract): the resolver and the clock are the caller's.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

EVENT_TYPES: tuple[str, ...] = (
    "call.started",
    "call.answered",
    "call.ended",
    "recording.ready",
    "agent.status_changed",
    "disposition.set",
    "campaign.attempt_finished",
    "wallboard.alert",  # a wallboard alert rule started (or stopped) firing
    "ticket.created",  # the desk (controlplane.desk.service)
    "ticket.updated",
    "ticket.message",
)
SIGNATURE_HEADER = "Centrala-Signature"
TIMESTAMP_HEADER = "Centrala-Timestamp"
EVENT_ID_HEADER = "Centrala-Event-Id"
SIGNATURE_VERSION = "v1"
TIMEOUT_S = 10.0
EXCERPT_CHARS = 500  # of a receiver's answer kept in the delivery log
DEFAULT_TOLERANCE_S = 300

SCHEDULE_S: tuple[float, ...] = (10, 30, 120, 300, 900, 1800, 3600)
MAX_DELAY_S = 3600.0
JITTER = 0.2
DEAD_AFTER = timedelta(hours=24)
DISABLE_AFTER_FAILURES = 50  # failed attempts in a row …
DISABLE_MIN_STREAK = timedelta(hours=1)  # … lasting at least this long, or
DISABLE_AFTER_STREAK = timedelta(hours=24)  # no success for this long at all

# A deterministic id per (object, event): writing the same change twice is one event.
_NAMESPACE = uuid.UUID("8f3c1f0e-5b7a-4c55-9a53-6f1d3b1c0e14")


def event_id(*key: object) -> str:
    """A uuid5 of ``key`` (e.g. ``("call.ended", call_id)``)."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(map(str, key))))


def new_secret() -> str:
    """A fresh signing secret (``whsec_`` + 32 random bytes, hex)."""
    return "whsec_" + uuid.uuid4().hex + uuid.uuid4().hex


def envelope(event_uuid: str, type_: str, created_at: datetime, tenant: str,
             data: Mapping[str, Any]) -> bytes:
    """The request body: compact JSON, UTF-8, keys in a stable order."""
    doc = {"id": event_uuid, "type": type_, "created_at": created_at.isoformat(),
           "tenant": tenant, "data": dict(data)}
    return json.dumps(doc, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def headers(secret: str, event_uuid: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "Centrala-Webhooks/1",
            EVENT_ID_HEADER: event_uuid, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(secret: str, signature: str, timestamp: str, body: bytes, now: float,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance_s:
        return False
    expected = sign(secret, ts, body)
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))


def retry_delay_s(failed_attempts: int, rand: float) -> float:
    """Delay before the next attempt after ``failed_attempts`` (≥ 1) failures;
    ``rand`` in [0, 1) gives the jitter (±``JITTER``)."""
    base = SCHEDULE_S[min(max(failed_attempts, 1), len(SCHEDULE_S)) - 1]
    return min(MAX_DELAY_S, base) * (1 - JITTER + 2 * JITTER * rand)


def is_dead(retry_since: datetime, now: datetime) -> bool:
    """No more retries: the window of at least 24 h is over."""
    return now - retry_since >= DEAD_AFTER


def should_disable(consecutive_failures: int, failing_since: datetime | None,
                   now: datetime) -> bool:
    if failing_since is None:
        return False
    streak = now - failing_since
    return ((consecutive_failures >= DISABLE_AFTER_FAILURES and streak >= DISABLE_MIN_STREAK)
            or streak >= DISABLE_AFTER_STREAK)


# ---- target addresses ----

_REFUSED_V4 = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4"))
_REFUSED_V6 = tuple(ipaddress.IPv6Network(n) for n in (
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "64:ff9b:1::/48"))


def refused_reason(address: str) -> str | None:
    """Why a webhook may not be sent to ``address`` (an IP literal), or None if it may.

    Private, loopback, link-local, CGNAT (100.64/10), multicast, reserved, IPv6 ULA and
    link-local; an IPv4-mapped or NAT64 IPv6 address is judged by the IPv4 inside."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return refused_reason(str(inner))
        for net6 in _REFUSED_V6:
            if ip in net6:
                return _NAMES_V6.get(str(net6), "a reserved address")
        return None
    for net4 in _REFUSED_V4:
        if ip in net4:
            return _NAMES_V4.get(str(net4), "a reserved address")
    return None


_NAMES_V4 = {"10.0.0.0/8": "a private address", "172.16.0.0/12": "a private address",
             "192.168.0.0/16": "a private address", "127.0.0.0/8": "a loopback address",
             "169.254.0.0/16": "a link-local address", "100.64.0.0/10": "a CGNAT address",
             "224.0.0.0/4": "a multicast address"}
_NAMES_V6 = {"::1/128": "a loopback address", "fc00::/7": "a unique local (ULA) address",
             "fe80::/10": "a link-local address", "fec0::/10": "a site-local address",
             "ff00::/8": "a multicast address"}
