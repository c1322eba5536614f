"""SIP brute-force bans: the pure machine of one source address (no I/O).

Theory of operation
-------------------
Asterisk reports every failed SIP authentication as an AMI security event
(:mod:`controlplane.security.sip_events` turns them into :class:`AuthFailure`).
The service keeps one :class:`SourceState` per source address and feeds it
events; the machine answers with decisions the service carries out (persist,
audit, alert, render the Asterisk ACL):

    status     event        → status            decisions
    clean      AuthFailure  → counting | banned  FirstFailure (the audit line of a new source);
                                                 Ban when it is the N-th failure in the window
    counting   AuthFailure  → counting | banned  Ban at the N-th failure within ``window_s``
    banned     AuthFailure  → banned             — (in flight before the ACL applied)
    clean      Tick         → clean              — (old offences forgotten)
    counting   Tick         → clean | counting   — (failures older than the window dropped)
    banned     Tick         → banned | clean     Unban("expired") once ``until`` has passed
    banned     Lift         → clean              — (the operator's tool audits the lift)
    any        Restore      → banned | clean     the service's persisted ban after a restart;
                                                 Unban("allow-listed") if now allow-listed

* An allow-listed address (``BanPolicy.allow``, CIDRs) is never banned: its failures
  are still counted, and reaching the threshold gives :class:`Spared` (a warning for
  the operator) instead of :class:`Ban`; the count then starts again.
* Repeat offenders: each ban that started within ``repeat_window_s`` before this one
  multiplies the ban time by ``repeat_factor`` (capped at ``max_ban_s``).
* The first failure of an address in a window gives :class:`FirstFailure`: one audit line
  per source and window (an INVITE from an unknown address, a wrong password), not one
  per packet of a scan; the ban says the rest.
* ``Lift`` outside ``banned`` and any event not in the table is refused with
  :class:`Refused` (state unchanged); ``step`` asserts every handler stays in the table.

Times are seconds since the epoch (floats), given by the caller.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ACCOUNTS = 5  # account names remembered per address (for the operator, never the panel)


class Status(enum.StrEnum):
    CLEAN = "clean"
    COUNTING = "counting"
    BANNED = "banned"


# ---- events ----

@dataclass(frozen=True, slots=True)
class AuthFailure:
    """A failed authentication from ``address``: ``kind`` is the AMI event name."""

    address: str
    kind: str
    account: str = ""


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes: bans expire, old failures and offences are forgotten."""


@dataclass(frozen=True, slots=True)
class Lift:
    """An operator lifted the ban (CLI or panel); ``by`` says who."""

    by: str


@dataclass(frozen=True, slots=True)
class Restore:
    """What the database held at start: the active ban (if any) and earlier bans' starts."""

    since: float | None = None
    until: float | None = None
    failures: int = 0
    offences: tuple[float, ...] = ()


Event = AuthFailure | Tick | Lift | Restore


# ---- decisions ----

@dataclass(frozen=True, slots=True)
class Ban:
    """Ban ``address`` from ``since`` to ``until``; ``offence`` 1 is a first ban."""

    address: str
    since: float
    until: float
    failures: int
    offence: int
    kinds: tuple[str, ...]
    accounts: tuple[str, ...]

    @property
    def reason(self) -> str:
        return f"{self.failures} failed SIP authentications ({', '.join(self.kinds)})"


@dataclass(frozen=True, slots=True)
class FirstFailure:
    """``address`` failed to authenticate, the first time in the window: audit it."""

    address: str
    kind: str
    account: str


@dataclass(frozen=True, slots=True)
class Unban:
    address: str
    reason: str  # "expired" | "allow-listed"


@dataclass(frozen=True, slots=True)
class Spared:
    """An allow-listed address reached the threshold: warn, never ban."""

    address: str
    failures: int


@dataclass(frozen=True, slots=True)
class Refused:
    address: str
    event: str
    reason: str


Decision = Ban | Unban | Spared | Refused | FirstFailure


# ---- policy and state ----

def parse_networks(items: tuple[str, ...] | list[str]) -> tuple[IpNetwork, ...]:
    """CIDRs (or bare addresses) → networks; ``ValueError`` names the bad item."""
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError as err:
            raise ValueError(f"{item!r} is not an IP address or network (CIDR): {err}") from err
    return tuple(out)


@dataclass(frozen=True, slots=True)
class BanPolicy:
    """``max_failures`` within ``window_s`` → banned for ``ban_s`` (longer for repeat offenders)."""

    max_failures: int = 10
    window_s: float = 60.0
    ban_s: float = 3600.0
    max_ban_s: float = 7 * 86400.0
    repeat_factor: float = 4.0
    repeat_window_s: float = 7 * 86400.0
    allow: tuple[IpNetwork, ...] = ()

    def __post_init__(self) -> None:
        if self.max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if self.window_s <= 0 or self.ban_s <= 0:
            raise ValueError("window_s and ban_s must be positive")
        if self.max_ban_s < self.ban_s:
            raise ValueError("max_ban_s must not be shorter than ban_s")
        if self.repeat_factor < 1:
            raise ValueError("repeat_factor must be at least 1")

    def allowed(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip.version == net.version and ip in net for net in self.allow)

    def ban_time(self, earlier_offences: int) -> float:
        return min(self.ban_s * self.repeat_factor ** earlier_offences, self.max_ban_s)


@dataclass(frozen=True, slots=True)
class SourceState:
    address: str
    status: Status = Status.CLEAN
    failures: tuple[float, ...] = ()  # times of failures within the window
    kinds: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    since: float | None = None  # the current ban
    until: float | None = None
    offences: tuple[float, ...] = field(default=())  # starts of bans within repeat_window_s

    @property
    def idle(self) -> bool:
        """Nothing worth keeping: the service may drop this state."""
        return self.status is Status.CLEAN and not self.failures and not self.offences


S = Status
_ALL = frozenset(S)
TRANSITIONS: dict[type[Any], dict[Status, frozenset[Status]]] = {
    AuthFailure: {S.CLEAN: frozenset({S.COUNTING, S.BANNED, S.CLEAN}),
                  S.COUNTING: frozenset({S.COUNTING, S.BANNED, S.CLEAN}),
                  S.BANNED: frozenset({S.BANNED})},
    Tick: {S.CLEAN: frozenset({S.CLEAN}), S.COUNTING: frozenset({S.CLEAN, S.COUNTING}),
           S.BANNED: frozenset({S.BANNED, S.CLEAN, S.COUNTING})},
    Lift: {S.BANNED: frozenset({S.CLEAN})},
    Restore: {s: _ALL for s in S},
}
# (an allow-listed address's failures reset to clean at the threshold: hence CLEAN above)

Out = list[Decision]


def _prune(state: SourceState, policy: BanPolicy, now: float) -> SourceState:
    failures = tuple(t for t in state.failures if now - t < policy.window_s)
    offences = tuple(t for t in state.offences if now - t < policy.repeat_window_s)
    if failures == state.failures and offences == state.offences:
        return state
    kinds, accounts = (state.kinds, state.accounts) if failures else ((), ())
    status = state.status
    if status is S.COUNTING and not failures:
        status = S.CLEAN
    return replace(state, failures=failures, offences=offences, kinds=kinds, accounts=accounts,
                   status=status)


def _on_failure(state: SourceState, ev: AuthFailure, policy: BanPolicy, now: float,
                out: Out) -> SourceState:
    if state.status is S.BANNED:
        return state
    state = _prune(state, policy, now)
    if not state.failures:
        out.append(FirstFailure(state.address, ev.kind, ev.account))
    kinds = state.kinds if ev.kind in state.kinds else (*state.kinds, ev.kind)
    accounts = state.accounts
    if ev.account and ev.account not in accounts and len(accounts) < MAX_ACCOUNTS:
        accounts = (*accounts, ev.account)
    failures = (*state.failures, now)
    if len(failures) < policy.max_failures:
        return replace(state, status=S.COUNTING, failures=failures, kinds=kinds,
                       accounts=accounts)
    if policy.allowed(state.address):
        out.append(Spared(state.address, len(failures)))
        return replace(state, status=S.CLEAN, failures=(), kinds=(), accounts=())
    until = now + policy.ban_time(len(state.offences))
    out.append(Ban(state.address, now, until, len(failures), len(state.offences) + 1, kinds,
                   accounts))
    return replace(state, status=S.BANNED, failures=(), kinds=(), accounts=(), since=now,
                   until=until, offences=(*state.offences, now))


def _on_tick(state: SourceState, ev: Tick, policy: BanPolicy, now: float,
             out: Out) -> SourceState:
    if state.status is S.BANNED and state.until is not None and state.until <= now:
        out.append(Unban(state.address, "expired"))
        state = replace(state, status=S.CLEAN, since=None, until=None)
    return _prune(state, policy, now)


def _on_lift(state: SourceState, ev: Lift, policy: BanPolicy, now: float,
             out: Out) -> SourceState:
    return replace(state, status=S.CLEAN, since=None, until=None, failures=(), kinds=(),
                   accounts=())


def _on_restore(state: SourceState, ev: Restore, policy: BanPolicy, now: float,
                out: Out) -> SourceState:
    offences = tuple(sorted({*state.offences, *ev.offences}))
    state = replace(state, offences=offences)
    if ev.until is None or ev.until <= now:
        if ev.until is not None:  # expired while the daemon was away
            out.append(Unban(state.address, "expired"))
        return _prune(replace(state, status=S.CLEAN, since=None, until=None), policy, now)
    if policy.allowed(state.address):
        out.append(Unban(state.address, "allow-listed"))
        return _prune(replace(state, status=S.CLEAN, since=None, until=None), policy, now)
    since = ev.since if ev.since is not None else now
    offences = offences if since in offences else tuple(sorted((*offences, since)))
    return replace(state, status=S.BANNED, since=since, until=ev.until, failures=(), kinds=(),
                   accounts=(), offences=offences)


_HANDLERS: dict[type[Any], Callable[..., SourceState]] = {
    AuthFailure: _on_failure, Tick: _on_tick, Lift: _on_lift, Restore: _on_restore,
}


def step(state: SourceState, event: Event, policy: BanPolicy,
         now: float) -> tuple[SourceState, list[Decision]]:
    """Apply one event to one address's state; return the new state and the decisions."""
    allowed = TRANSITIONS[type(event)]
    if state.status not in allowed:
        return state, [Refused(state.address, type(event).__name__,
                               f"not accepted while {state.status.value}")]
    out: Out = []
    new = _HANDLERS[type(event)](state, event, policy, now, out)
    assert new.status in allowed[state.status], (type(event).__name__, state.status, new.status)
    return new, out
