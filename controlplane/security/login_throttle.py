"""Login throttling: growing delays per source address, per account and per known browser.

Theory of operation (the rule). Every failed login is counted, over a sliding window
(:data:`WINDOW_S`), under the keys that apply to the attempt:

==========  =================================================  ====  ======
key         counts the failures of                             free  cap
==========  =================================================  ====  ======
address     one client address (everyone behind a NAT shares;    10    30 s
            for IPv6 the /64, which one household or attacker
            holds whole)
account     one ``login@domain``, from browsers *not* known       5   300 s
            to that account
device      one ``login@domain`` from one known browser (one      5   300 s
            that logged in to that account before and holds
            its signed device cookie)
==========  =================================================  ====  ======

After a key's free failures, the next attempt under it must wait 1, 2, 4, … s after
that key's latest failure, up to the key's cap. An attempt goes ahead only when every
key that applies to it is past its wait; the user is told the longest wait ("try again
in N s"). A refused attempt checks no password and counts nothing, so retrying early
does not make the wait grow. Nothing is reset by a success: counts only age out.

What this means:

* Someone guessing behind a call centre's NAT slows everybody behind it by at most the
  address cap (30 s per attempt); nobody is locked out, the admin with the right
  password included.
* Someone guessing an account (from anywhere) slows that account's *known* browsers
  not at all (their own mistakes count under their device key), only browsers new to
  the account, by up to 300 s per attempt.
* A guesser keeps at most ~1 guess per 30 s per address and ~1 per 5 min per account.

Counts live in Redis (sorted sets of failure times). When Redis is down the same rule
is computed from the audit trail: the ``login.failed`` rows of ``security_event`` in the
window (each carries the source address, the account as actor, and the device's hash).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from controlplane.bus import LOGIN_FAILURES_PREFIX
from controlplane.models.security import SecurityEvent

log = logging.getLogger(__name__)

WINDOW_S = 15 * 60
FAILED_KIND = "login.failed"
REDIS_PREFIX = LOGIN_FAILURES_PREFIX
# Enough rows to decide every key: beyond this many failures in the window every wait is
# at its cap anyway.
DB_ROW_LIMIT = 2000


@dataclass(frozen=True)
class Limit:
    """Free failures, then waits of ``base_s`` × 2ⁿ up to ``cap_s``."""

    free: int
    cap_s: float
    base_s: float = 1.0

    def wait_s(self, failures: int, last: float | None, now: float) -> float:
        """Seconds the next attempt must still wait (0: go ahead)."""
        if last is None or failures < self.free:
            return 0.0
        step = min(failures - self.free, 62)  # 2**62 s is past any cap; avoid huge floats
        delay = min(self.cap_s, self.base_s * 2.0**step)
        return max(0.0, last + delay - now)


@dataclass(frozen=True)
class Policy:
    address: Limit = Limit(free=10, cap_s=30)
    account: Limit = Limit(free=5, cap_s=300)
    device: Limit = Limit(free=5, cap_s=300)
    window_s: float = WINDOW_S


@dataclass(frozen=True)
class Attempt:
    """Who is trying: the client address, the account typed, and (if the browser is known
    to that account) a hash of its device id."""

    address: str
    account: str
    device: str | None = None


@dataclass(frozen=True)
class Tally:
    failures: int
    last: float | None  # epoch seconds of the latest failure


def address_key(address: str) -> str:
    """The throttled unit of a client address: the address itself, or its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def device_hash(device_id: str) -> str:
    """What the audit trail and Redis keep of a device id (never the id itself)."""
    return hashlib.sha256(device_id.encode()).hexdigest()[:16]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def redis_keys(attempt: Attempt) -> dict[str, str]:
    """The Redis key of each key kind that applies to ``attempt``."""
    account = _digest(attempt.account)
    keys = {"address": f"{REDIS_PREFIX}addr:{address_key(attempt.address)}"}
    if attempt.device is None:
        keys["account"] = f"{REDIS_PREFIX}acct:{account}"
    else:
        keys["device"] = f"{REDIS_PREFIX}dev:{account}:{attempt.device}"
    return keys


def wait_s(policy: Policy, tallies: dict[str, Tally], now: float) -> int:
    """The whole seconds the attempt must wait: the longest wait of its keys (pure)."""
    limits = {"address": policy.address, "account": policy.account, "device": policy.device}
    longest = max(
        (limits[kind].wait_s(t.failures, t.last, now) for kind, t in tallies.items()),
        default=0.0,
    )
    return math.ceil(longest)


def tallies_from_rows(attempt: Attempt, rows: Iterable[tuple[float, str, str, str | None]],
                      since: float, now: float) -> dict[str, Tally]:
    """Count ``(at, source, actor, device)`` failure rows under the attempt's keys (pure)."""
    kinds = ("address", "account" if attempt.device is None else "device")
    unit = address_key(attempt.address)
    counts = dict.fromkeys(kinds, 0)
    last: dict[str, float | None] = dict.fromkeys(kinds)
    for at, source, actor, device in rows:
        if not since < at <= now:
            continue
        hits = []
        if source and address_key(source) == unit:
            hits.append("address")
        if actor == attempt.account:
            if attempt.device is None and device is None:
                hits.append("account")
            elif attempt.device is not None and device == attempt.device:
                hits.append("device")
        for kind in hits:
            counts[kind] += 1
            last[kind] = max(at, last[kind] or at)
    return {kind: Tally(counts[kind], last[kind]) for kind in kinds}


class LoginThrottle:
    """Check and count login failures: Redis first, the audit trail when Redis is down."""

    def __init__(self, client: redis.Redis, policy: Policy | None = None) -> None:
        self.redis = client
        self.policy = policy or Policy()

    def wait_s(self, session: Session, attempt: Attempt, now: datetime) -> int:
        """Seconds ``attempt`` must wait before a password may be checked (0: go ahead)."""
        t = now.timestamp()
        try:
            tallies = self._redis_tallies(attempt, t)
        except redis.RedisError as err:
            log.warning("login throttle: Redis unavailable (%s); counting from the database", err)
            tallies = self._db_tallies(session, attempt, now)
        return wait_s(self.policy, tallies, t)

    def record_failure(self, attempt: Attempt, now: datetime) -> None:
        """Count a failure in Redis. The caller writes the ``login.failed`` audit row, which
        is what the database fallback counts."""
        t = now.timestamp()
        member = f"{t:.6f}:{secrets.token_hex(4)}"
        try:
            with self.redis.pipeline() as pipe:
                for key in redis_keys(attempt).values():
                    pipe.zadd(key, {member: t})
                    pipe.zremrangebyscore(key, "-inf", t - self.policy.window_s)
                    pipe.expire(key, int(self.policy.window_s) + 60)
                pipe.execute()
        except redis.RedisError as err:
            log.warning("login throttle: failure not counted in Redis (%s); the audit row "
                        "still counts", err)

    def _redis_tallies(self, attempt: Attempt, t: float) -> dict[str, Tally]:
        keys = redis_keys(attempt)
        since = t - self.policy.window_s
        with self.redis.pipeline(transaction=False) as pipe:
            for key in keys.values():
                pipe.zcount(key, f"({since}", t)
                pipe.zrevrangebyscore(key, t, f"({since}", start=0, num=1, withscores=True)
            replies: Sequence[object] = pipe.execute()
        tallies = {}
        for i, kind in enumerate(keys):
            count, latest = replies[2 * i], replies[2 * i + 1]
            assert isinstance(count, int) and isinstance(latest, list)
            tallies[kind] = Tally(count, float(latest[0][1]) if latest else None)
        return tallies

    def _db_tallies(self, session: Session, attempt: Attempt, now: datetime) -> dict[str, Tally]:
        since = now - timedelta(seconds=self.policy.window_s)
        rows = session.execute(
            select(SecurityEvent.at, SecurityEvent.source, SecurityEvent.actor,
                   SecurityEvent.detail)
            .where(SecurityEvent.kind == FAILED_KIND, SecurityEvent.at > since,
                   SecurityEvent.at <= now,
                   or_(self._same_address(attempt.address),
                       SecurityEvent.actor == attempt.account))
            .order_by(SecurityEvent.at.desc())
            .limit(DB_ROW_LIMIT)
        ).all()
        facts = [(at.timestamp(), source, actor, _device_of(detail))
                 for at, source, actor, detail in rows]
        return tallies_from_rows(attempt, facts, since.timestamp(), now.timestamp())


    @staticmethod
    def _same_address(address: str) -> ColumnElement[bool]:
        # An IPv6 /64 has many spellings: fetch the window's IPv6 rows and let
        # tallies_from_rows compare networks (only while Redis is down).
        if address_key(address) != address:
            return SecurityEvent.source.contains(":")
        return SecurityEvent.source == address


def _device_of(detail: object) -> str | None:
    device = detail.get("device") if isinstance(detail, dict) else None
    return device if isinstance(device, str) else None
