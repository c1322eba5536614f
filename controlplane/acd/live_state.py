"""The live ACD's in-memory state: per-tenant live state, the registry of every tenant, and
the batch of work one operation collects.

Pure (no I/O): the steps (:mod:`controlplane.acd.live_steps`) change this state and fill a
:class:`Batch`; the service's I/O collaborators (:mod:`controlplane.acd.live_tenants`,
:mod:`controlplane.acd.publisher`) fill the state from the database and Redis and carry the
batch out. See :mod:`controlplane.acd.service` for the theory of operation.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import queue_machine as qm
from controlplane.acd import sessions as ss
from controlplane.acd.outputs import Order
from controlplane.acd.router import RouterState
from controlplane.acd.stats import QueueLogRecord
from controlplane.acd.tenant import Logs, TenantConfig
from controlplane.bus import ACD_KEY

S = ev.Status
KEY = ACD_KEY  # Redis keys: see the service docstring


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
    cfg: TenantConfig
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
    # agents whose capacity differs from the tenant's (their own chat limit)
    agent_settings: dict[str, am.AgentSettings] = field(default_factory=dict)

    @property
    def tid(self) -> int:
        return self.cfg.tenant_id

    def settings_for(self, aid: str) -> am.AgentSettings:
        """The settings agent ``aid``'s machine runs with (their own capacity, if set)."""
        return self.agent_settings.get(aid, self.settings)

    def logged_in(self, aid: str) -> bool:
        a = self.agents.get(aid)
        return a is not None and a.status != S.LOGGED_OUT


@dataclass
class Registry:
    """Every live tenant, and the look-ups across tenants the call side needs."""

    tenants: dict[int, TenantLive] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # call id → tenant
    owners: dict[str, tuple[int, str]] = field(default_factory=dict)  # endpoint → (tenant, agent)
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)  # endpoint → contact → status
    phones_busy: dict[str, int] = field(default_factory=dict)  # phone → calls the ACD did not route

    def own(self, t: TenantLive) -> None:
        """Remember which agent each of the tenant's phones belongs to."""
        for aid, eps in t.cfg.endpoints.items():
            for ep in eps:
                self.owners[ep] = (t.tid, aid)

    def agent_of(self, t: TenantLive | None, endpoint: str) -> str | None:
        owner = self.owners.get(endpoint)
        return owner[1] if t is not None and owner is not None and owner[0] == t.tid else None

    def call(self, call_id: str) -> tuple[TenantLive | None, qm.QueuedState | None]:
        tid = self.calls.get(call_id)
        if tid is None:
            return None, None
        t = self.tenants[tid]
        return t, t.queued.get(call_id)

    def reach(self, endpoint: str) -> str:
        """Reachable when any contact of the phone is (AMI ``ContactStatus`` aggregated)."""
        states = self.contacts.get(endpoint)
        if states is None:
            return "Unknown"
        if any(s in am.REACHABLE for s in states.values()):
            return "Reachable"
        if not states or any(s in am.UNREACHABLE for s in states.values()):
            return "Unreachable"
        return "Unknown"


@dataclass(frozen=True, slots=True)
class Published:
    """An event for the platform stream (``centrala:events``): ``{"type": kind, **payload}``."""

    kind: str
    payload: dict[str, Any]


@dataclass
class Batch:
    """The work one operation decided, carried out in this order after it: orders to calls,
    database rows, stream events (and, before them, the Redis mirror of the live state)."""

    orders: list[Order] = field(default_factory=list)
    logs: list[Logs] = field(default_factory=list)
    events: list[Published] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    dirty: set[tuple[int, str]] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    stats: dict[int, dict[str, Any]] = field(default_factory=dict)  # tenant → latest queue.stats

    def order(self, o: Order) -> None:
        self.orders.append(o)

    def publish(self, kind: str, **payload: Any) -> None:
        self.events.append(Published(kind, payload))

    def logs_of(self, tid: int) -> Logs:
        """The log rows of tenant ``tid`` in this batch (rows keep their order)."""
        if not self.logs or self.logs[-1].tenant_id != tid:
            self.logs.append(Logs(tid))
        return self.logs[-1]


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def skills_of(skills: Iterable[str | tuple[str, int]] | Mapping[str, int]) -> dict[str, int]:
    if isinstance(skills, Mapping):
        return {str(k): int(v) for k, v in skills.items()}
    return dict((s, 1) if isinstance(s, str) else (s[0], int(s[1])) for s in skills)
