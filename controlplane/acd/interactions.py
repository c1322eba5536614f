"""Interactions (calls, chats, e-mails) and how many of each an agent can hold.

Theory of operation
-------------------
Routing works on *interactions*, not calls: each has a :class:`Channel`, and
an agent has a capacity per channel. The rule that decides whether an agent
with a given load may be offered one more interaction of a channel is
:func:`can_take`:

    agent holds                  may be offered voice   chat            email
    nothing                      yes                    yes             yes
    1 voice call                 no                     no              no
    k chats (k < chat limit)     no                     yes             yes (below limit)
    chat limit reached           no                     no              yes (below limit)
    j emails (only)              yes                    below limit     below limit

* Voice is *exclusive*: it is offered only to an agent who holds nothing but
  e-mails, and while an agent talks nothing else is offered (a person cannot
  type into six chats while on the phone, and a ringing phone must not
  interrupt chats).
* E-mails (tickets, SMS) never keep a call away: an accepted ticket is work in
  hand for hours or days, nobody waits on it live, and an agent who holds one
  must still answer the phone (``Capacity.alongside`` always has e-mail).
* Chats and e-mails share the agent: each is capped by its own limit
  (defaults: 6 chats, 3 e-mails), and they do not block each other.

The limits are per tenant (or per agent) in :class:`Capacity`. A tenant may let calls
reach agents who hold chats too (``Capacity.alongside``, the "voice while in chats" option,
off by default): voice is then offered next to chats, but while the call lasts still nothing
else is (the chats already held go on).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class Channel(enum.StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Capacity:
    """How many interactions of each channel one agent may hold at once.

    ``exclusive`` channels are offered only to an agent who holds nothing (or only
    channels of ``alongside``: e-mails always), and block every other channel while held.
    """

    limits: Mapping[Channel, int] = field(
        default_factory=lambda: {Channel.VOICE: 1, Channel.CHAT: 6, Channel.EMAIL: 3}
    )
    exclusive: frozenset[Channel] = frozenset({Channel.VOICE})
    alongside: frozenset[Channel] = frozenset({Channel.EMAIL})


DEFAULT_CAPACITY = Capacity()
DEFAULT_CHATS = 6
DEFAULT_EMAILS = 3


def capacity_of(chats: int = DEFAULT_CHATS, voice_with_chats: bool = False,
                emails: int = DEFAULT_EMAILS) -> Capacity:
    """The tenant's (or an agent's) capacity from its settings: how many chats and
    e-mails (tickets) at once, and whether a call may reach an agent who holds chats."""
    limits = {Channel.VOICE: 1, Channel.CHAT: max(chats, 0), Channel.EMAIL: max(emails, 0)}
    alongside = frozenset({Channel.EMAIL, Channel.CHAT} if voice_with_chats else {Channel.EMAIL})
    return Capacity(limits, alongside=alongside)


def can_take(load: Mapping[Channel, int], channel: Channel, capacity: Capacity) -> bool:
    """True when an agent holding ``load`` may be offered one more ``channel`` interaction."""
    held = {ch: n for ch, n in load.items() if n > 0}
    if any(ch in capacity.exclusive for ch in held):
        return False
    if channel in capacity.exclusive and any(ch not in capacity.alongside for ch in held):
        return False
    return held.get(channel, 0) < capacity.limits.get(channel, 0)


def free_channels(load: Mapping[Channel, int], capacity: Capacity) -> frozenset[Channel]:
    """The channels an agent holding ``load`` may be offered now."""
    return frozenset(ch for ch in Channel if can_take(load, ch, capacity))


@dataclass(frozen=True, slots=True)
class Interaction:
    """One customer contact waiting for, or served by, an agent.

    ``arrived_at`` is when the interaction first entered any queue; it survives
    overflow to another queue, so priority aging counts the whole wait.
    ``skills`` are the required skills with their minimum levels (1–10).
    ``customer`` identifies a returning customer (a miniCRM contact id or the
    caller number) for relationship retention; ``last_agent`` is the agent who
    last talked to that customer and ``last_contact_at`` when. ``direct_agent``: an
    agent transferred it to that agent, who is offered it first (once, with no time
    window; if they let it go it goes to the queue's candidates).
    """

    interaction_id: str
    channel: Channel
    arrived_at: float
    priority: float = 0.0
    skills: Mapping[str, int] = field(default_factory=dict)
    customer: str | None = None
    last_agent: str | None = None
    last_contact_at: float | None = None
    direct_agent: str | None = None  # transferred to this agent: offered to them first
