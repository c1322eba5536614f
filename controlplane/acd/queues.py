"""Queue configuration and the priority aging rule.

Theory of operation
-------------------
A queue is a frozen :class:`QueueConfig` read from the database by the
service; the pure machines only read it. Each waiting interaction has a base
priority (higher is served sooner) and an *effective* priority that grows
with its wait, by the queue's :class:`AgingRule`:

    effective = base + min(rate_per_s * wait_s + step_bonus(wait_s), max_bonus)

    step_bonus(w) = the bonus of the last step whose threshold ≤ w (0 before the first)

With ``rate_per_s = 0.1`` a call of base 0 that waited 60 s (effective 6)
goes before a call of base 5 that has just arrived. The wait counted is
``now − arrived_at`` of the interaction, so an overflowed interaction keeps
its age. The same function gives every queue's interactions a value on one
scale, which is what makes the multi-queue order comparable (see router).
``max_bonus`` bounds what waiting can add: a gap in base priority larger than
it is never overtaken (a VIP line stays ahead however long others wait).
"""

from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass


class Strategy(enum.StrEnum):
    LINEAR = "linear"  # members in configured order, first free one
    RANDOM = "random"  # uniformly random among free members (seeded RNG)
    ROUND_ROBIN = "round_robin"  # the member after the last one offered, cyclically
    RING_ALL = "ring_all"  # every free qualified member at once; the first answer wins
    LONGEST_IDLE = "longest_idle"  # the member idle the longest
    FEWEST_CALLS = "fewest_calls"  # the member who answered the fewest interactions


class SkillPreference(enum.StrEnum):
    CLOSEST = "closest"  # smallest surplus over the required levels first (spec default)
    HIGHEST = "highest"  # highest total level on the required skills first


class Recording(enum.StrEnum):
    ALWAYS = "always"
    NEVER = "never"
    ON_DEMAND = "on_demand"  # the agent starts/stops it from the panel


class DestinationKind(enum.StrEnum):
    QUEUE = "queue"  # re-enter another queue (overflow queue)
    VOICEMAIL = "voicemail"  # leave a message
    CALLBACK = "callback"  # register a callback request and release the caller
    HANGUP = "hangup"  # play the closing prompt and hang up


@dataclass(frozen=True, slots=True)
class Destination:
    kind: DestinationKind
    target: str = ""  # queue id, voicemail box, callback list…


@dataclass(frozen=True, slots=True)
class AgingRule:
    """How the weight of a waiting interaction grows with its wait.

    ``steps`` are ``(threshold_s, bonus)`` pairs sorted by threshold; the bonus
    of the last threshold reached is added (steps do not accumulate).
    """

    rate_per_s: float = 0.0
    steps: tuple[tuple[float, float], ...] = ()
    max_bonus: float | None = None

    def __post_init__(self) -> None:
        if any(a[0] > b[0] for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise ValueError("aging steps must be sorted by threshold")


NO_AGING = AgingRule()


def effective_priority(rule: AgingRule, base: float, wait_s: float) -> float:
    """The weight of an interaction of priority ``base`` that has waited ``wait_s``."""
    bonus = rule.rate_per_s * max(wait_s, 0.0)
    if rule.steps:
        i = bisect.bisect_right([t for t, _ in rule.steps], wait_s)
        if i:
            bonus += rule.steps[i - 1][1]
    if rule.max_bonus is not None:
        bonus = min(bonus, rule.max_bonus)
    return base + bonus


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue as the machines see it.

    ``members`` is the ordered member list (the order is the linear strategy's
    order). ``order`` breaks ties between queues (lower first). ``overflow``
    applies when an interaction waited ``max_wait_s`` in this queue or when
    ``max_waiting`` interactions are already waiting as it enters.
    ``no_agents`` is where an interaction goes when no member is logged in
    (``None``: keep waiting). ``sticky_wait_s`` is how long a returning
    customer waits for the agent who last talked to them (0: off);
    ``sticky_max_age_s`` how old that relationship may be (``None``: any age).
    """

    queue_id: str
    members: tuple[str, ...] = ()
    strategy: Strategy = Strategy.LINEAR
    ring_timeout_s: float = 20.0
    wrap_up_s: float = 0.0
    aging: AgingRule = NO_AGING
    skill_preference: SkillPreference = SkillPreference.CLOSEST
    order: int = 0
    max_wait_s: float | None = None
    max_waiting: int | None = None
    overflow: Destination | None = None
    no_agents: Destination | None = None
    sticky_wait_s: float = 0.0
    sticky_max_age_s: float | None = None
    announce_interval_s: float | None = 30.0
    moh_class: str = "default"
    recording: Recording = Recording.ALWAYS
    callback_key: str | None = None  # DTMF key a waiting caller presses for a callback
    chat_offer_timeout_s: float = 20.0  # a chat offer not accepted by then goes to the next agent
    email_offer_timeout_s: float = 60.0  # likewise a ticket's (e-mail, SMS) offer
