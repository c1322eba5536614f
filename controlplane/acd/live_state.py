"""The live ACD's in-memory state: per-tenant live state, the batch of one operation, errors.

Shared by :mod:`controlplane.acd.service` and its mixins (``live_tenants``, ``live_steps``,
``live_report``); see the service's docstring for the theory of operation.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import queue_machine as qm
from controlplane.acd import sessions as ss
from controlplane.acd import store
from controlplane.acd.router import RouterState
from controlplane.acd.stats import QueueLogRecord
from controlplane.bus import ACD_KEY

S = ev.Status
KEY = ACD_KEY  # Redis keys: see the service docstring


class AcdError(Exception):
    """Base error of the ACD service."""


class UnknownTenant(AcdError):
    pass


class UnknownQueue(AcdError):
    pass


class Connector(Protocol):
    """What the ACD asks of the call service (the ARI side). Outcomes come back
    through ``offer_answered`` / ``offer_failed`` / ``caller_left`` / ``call_ended``."""

    async def offer(self, call_id: str, agent_endpoint: str, timeout_s: float) -> None: ...
    async def cancel_offer(self, call_id: str, agent_endpoint: str, reason: str) -> None: ...
    async def connect(self, call_id: str, agent_endpoint: str, record: bool) -> None: ...
    async def start_moh(self, call_id: str) -> None: ...
    async def stop_moh(self, call_id: str) -> None: ...
    async def announce(self, call_id: str, position: int, ewt_s: float) -> None: ...
    async def leave(self, call_id: str, outcome: str, destination: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class CommandResult:
    """``code``: "" ok | already | licence_limit | logged_in_elsewhere | refused | unknown_command."""

    ok: bool
    status: str
    reason: str | None = None
    code: str = ""
    message: str = ""


class OpenBreaks(Mapping[str, ev.BreakReason]):
    """A tenant without configured break reasons accepts any code as a free break."""

    def __getitem__(self, key: str) -> ev.BreakReason:
        return ev.BreakReason(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass
class TenantLive:
    cfg: store.TenantConfig
    settings: am.AgentSettings
    sessions: ss.SessionsState
    agents: dict[str, am.AgentState] = field(default_factory=dict)
    endpoint: dict[str, str] = field(default_factory=dict)  # agent → phone in use
    queued: dict[str, qm.QueuedState] = field(default_factory=dict)
    callers: dict[str, str] = field(default_factory=dict)
    visited: dict[str, set[str]] = field(default_factory=dict)  # call → queues entered
    router: RouterState = field(default_factory=RouterState)
    rng: random.Random = field(default_factory=random.Random)
    log: dict[str, deque[QueueLogRecord]] = field(default_factory=dict)  # per queue, for stats
    aht: dict[str, float] = field(default_factory=dict)
    stats_at: float = float("-inf")

    @property
    def tid(self) -> int:
        return self.cfg.tenant_id

    def logged_in(self, aid: str) -> bool:
        a = self.agents.get(aid)
        return a is not None and a.status != S.LOGGED_OUT


@dataclass
class Batch:
    sends: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    logs: list[store.Logs] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    dirty: set[tuple[int, str]] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    stats: dict[int, str] = field(default_factory=dict)  # tenant → latest queue.stats JSON

    def send(self, name: str, *args: Any) -> None:
        self.sends.append((name, args))


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def skills_of(skills: Iterable[str | tuple[str, int]] | Mapping[str, int]) -> dict[str, int]:
    if isinstance(skills, Mapping):
        return {str(k): int(v) for k, v in skills.items()}
    return dict((s, 1) if isinstance(s, str) else (s[0], int(s[1])) for s in skills)
