"""A tenant's outbound policy and the toll-fraud decision on one call (pure, no I/O).

Theory of operation
-------------------
Every call that would leave over a trunk (a desk phone dialling out, an IVR transfer to a
number, a campaign or preview call) is decided here before anything is dialled, from the
tenant's :class:`Policy`, the classified :class:`~.destinations.Destination` and the
:class:`Usage` counted by the adapter at that moment:

    check (in this order)                          refused with code       final?
    the number is an emergency number              never refused (no cap either)
    the number is not dialable                     invalid                 yes
    one of its classes is not allowed              destination             yes
    the tenant's live outbound calls ≥ its cap     tenant_concurrent       no
    the trunk's live calls ≥ its channel count     trunk_channels          no
    the tenant's calls in the last hour ≥ its cap  hourly (an alert)       no

*Final* refusals are about the number itself: a campaign record with such a number is
closed, never retried. The others are momentary: the same call may go later.
International and premium destinations are off until an administrator allows them.
A trunk's channels carry both directions, so its live count includes inbound calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controlplane.security.destinations import (
    DEFAULT_REGION,
    LABELS,
    SPOKEN,
    DestClass,
    Destination,
)

# Classes an administrator can allow or refuse; emergency is always allowed, invalid never.
POLICY_CLASSES: tuple[DestClass, ...] = (
    DestClass.NATIONAL, DestClass.TOLLFREE, DestClass.PREMIUM, DestClass.INTERNATIONAL,
    DestClass.SATELLITE,
)
DEFAULT_ALLOWED = frozenset({DestClass.NATIONAL, DestClass.TOLLFREE})
DEFAULT_MAX_CONCURRENT = 30  # a trunk's default channel count (``Trunk.channels``)
DEFAULT_MAX_PER_HOUR = 600
MAX_LIMIT = 100_000
CAP_CODES = ("tenant_concurrent", "trunk_channels", "hourly")
CAP_PREFIXES = ("tenant cap:", "trunk full:", "hourly cap:")  # how their reasons start

# What a refused caller hears (TTS), by refusal code.
ANNOUNCEMENTS = {
    "invalid": "The number you dialled cannot be called. Goodbye.",
    "tenant_concurrent": "All outside lines are busy. Please try again later. Goodbye.",
    "trunk_channels": "All outside lines are busy. Please try again later. Goodbye.",
    "hourly": "The limit of outside calls for this hour has been reached. "
              "Please try again later. Goodbye.",
}
# Asterisk's own sounds, when no TTS engine is at hand.
FALLBACK_SOUNDS = {"invalid": "sound:cannot-complete-as-dialed",
                   "destination": "sound:cannot-complete-as-dialed"}
CAP_SOUND = "sound:all-circuits-busy-now"


@dataclass(frozen=True)
class Policy:
    """What one tenant may dial: allowed classes, its region, and the caps."""

    region: str = DEFAULT_REGION
    allowed: frozenset[DestClass] = DEFAULT_ALLOWED
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    max_per_hour: int = DEFAULT_MAX_PER_HOUR

    def allows(self, cls: DestClass) -> bool:
        if cls is DestClass.EMERGENCY:
            return True
        return cls in self.allowed and cls is not DestClass.INVALID

    def to_json(self) -> dict[str, object]:
        return {"region": self.region,
                "allowed": [c.value for c in POLICY_CLASSES if c in self.allowed],
                "max_concurrent": self.max_concurrent, "max_per_hour": self.max_per_hour}


@dataclass(frozen=True)
class Usage:
    """What is in use at the moment of the decision (counted by the adapter)."""

    tenant_live: int  # the tenant's calls going out over any trunk now
    trunk_live: int  # calls on the trunk now, both directions
    trunk_channels: int  # the trunk's channel count
    last_hour: int  # the tenant's outbound calls that started in the last hour


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    code: str  # "ok", "emergency", or a refusal code (module docstring)
    reason: str  # one line for the call record and the audit
    destination: Destination
    final: bool = False
    missing: tuple[DestClass, ...] = field(default=())  # the classes not allowed

    @property
    def announcement(self) -> str:
        """What the refused caller hears."""
        if self.code == "destination":
            spoken = SPOKEN.get(self.missing[0], "these") if self.missing else "these"
            return f"Calls to {spoken} numbers are not allowed from this line. Goodbye."
        return ANNOUNCEMENTS.get(self.code, "This call cannot be connected. Goodbye.")

    @property
    def fallback_sound(self) -> str:
        return FALLBACK_SOUNDS.get(self.code, CAP_SOUND)


def decide(policy: Policy, dest: Destination, usage: Usage) -> Verdict:
    """Allow or refuse one call (module docstring table)."""
    if dest.emergency:
        return Verdict(True, "emergency", "emergency call: always allowed", dest)
    if dest.primary is DestClass.INVALID:
        return Verdict(False, "invalid", f"invalid number: {dest.why}", dest, final=True)
    missing = tuple(c for c in sorted(dest.classes) if not policy.allows(c))
    if missing:
        names = ", ".join(LABELS[c] for c in missing)
        return Verdict(False, "destination", f"{names} not allowed ({dest.why})", dest,
                       final=True, missing=missing)
    if usage.tenant_live >= policy.max_concurrent:
        return Verdict(False, "tenant_concurrent",
                       f"tenant cap: {usage.tenant_live} of {policy.max_concurrent} outbound "
                       "calls in progress", dest)
    if usage.trunk_live >= usage.trunk_channels:
        return Verdict(False, "trunk_channels",
                       f"trunk full: {usage.trunk_live} of {usage.trunk_channels} channels "
                       "in use", dest)
    if usage.last_hour >= policy.max_per_hour:
        return Verdict(False, "hourly",
                       f"hourly cap: {usage.last_hour} of {policy.max_per_hour} outbound calls "
                       "in the last hour", dest)
    return Verdict(True, "ok", dest.why, dest)


def is_cap(reason: str) -> bool:
    """Whether a refusal ``reason`` (as stored on a call record) was a momentary cap."""
    return reason.startswith(CAP_PREFIXES)


def headroom(policy: Policy, usage: Usage) -> tuple[int, str]:
    """How many more calls may start now, and which cap is the tightest ("" when none is
    reached) — for dialers that pace themselves instead of being refused."""
    room = {"tenant_concurrent": policy.max_concurrent - usage.tenant_live,
            "trunk_channels": usage.trunk_channels - usage.trunk_live,
            "hourly": policy.max_per_hour - usage.last_hour}
    code = min(room, key=lambda k: room[k])
    n = max(0, room[code])
    return n, code if n == 0 else ""
