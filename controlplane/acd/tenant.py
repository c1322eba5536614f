"""The ACD's live data that is not a machine: one tenant's configuration, the log rows of
one step, and the JSON codec of an agent's state (what the service mirrors to Redis).

Pure (no SQLAlchemy, no Redis client): ``store.py`` fills :class:`TenantConfig` from the
database and writes :class:`Logs`; the service writes the JSON to Redis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd.interactions import Channel
from controlplane.acd.queues import QueueConfig
from controlplane.acd.sessions import Audit
from controlplane.acd.stats import QueueLogRecord


@dataclass(frozen=True, slots=True)
class TenantConfig:
    """One tenant's ACD configuration as the machines need it.

    ``queues`` by queue id; ``by_name`` maps queue names to ids; ``endpoints``
    lists each agent's phones (lowest id first: the default one); ``breaks``
    empty means any break code is accepted as a free break.
    """

    tenant_id: int
    licences: int
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # queue id → name
    sl_threshold_s: dict[str, float] = field(default_factory=dict)
    skills: dict[str, dict[str, int]] = field(default_factory=dict)
    endpoints: dict[str, tuple[str, ...]] = field(default_factory=dict)
    breaks: dict[str, ev.BreakReason] = field(default_factory=dict)
    # channels and capacity (models/acd_channels.py): chats per agent, calls next to chats,
    # and the agents with their own chat limit
    chats: int = 6
    voice_with_chats: bool = False
    emails: int = 3  # tickets (e-mail, SMS) per agent
    agent_chats: dict[str, int] = field(default_factory=dict)
    agent_emails: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Logs:
    """What one service step appends to the database for one tenant."""

    tenant_id: int
    statuses: list[ev.StatusChanged] = field(default_factory=list)
    queue: list[tuple[QueueLogRecord, str]] = field(default_factory=list)  # (record, caller)
    audits: list[Audit] = field(default_factory=list)
    breaks: list[ev.BreakLog] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.statuses or self.queue or self.audits or self.breaks)


# ---- Redis codec of the agent state ----


def _work(w: am.Work) -> dict[str, Any]:
    return {"i": w.interaction_id, "ch": str(w.channel), "q": w.queue_id, "wu": w.wrap_up_s}


def _unwork(d: dict[str, Any]) -> am.Work:
    return am.Work(d["i"], Channel(d["ch"]), d["q"], float(d["wu"]))


def agent_to_json(a: am.AgentState, endpoint: str | None) -> str:
    """The agent machine's whole state plus the phone in use, as JSON."""
    d = a.deferred
    return json.dumps(
        {
            "agent": a.agent_id,
            "status": str(a.status),
            "reason": a.reason,
            "since": a.since,
            "reachable": a.reachable,
            "offer": _work(a.offer) if a.offer else None,
            "held": [_work(w) for w in a.held],
            "wrap_until": a.wrap_until,
            "deferred": [d.action, d.reason, d.by] if d else None,
            "pending_break": a.pending_break,
            "missed": a.missed,
            "answered": a.answered,
            "idle_since": a.idle_since,
            "endpoint": endpoint,
        }
    )


def agent_from_json(raw: str | bytes) -> tuple[am.AgentState, str | None]:
    d = json.loads(raw)
    deferred = am.Deferred(*d["deferred"]) if d["deferred"] else None
    state = am.AgentState(
        agent_id=d["agent"],
        status=ev.Status(d["status"]),
        reason=d["reason"],
        since=float(d["since"]),
        reachable=bool(d["reachable"]),
        offer=_unwork(d["offer"]) if d["offer"] else None,
        held=tuple(_unwork(w) for w in d["held"]),
        wrap_until=d["wrap_until"],
        deferred=deferred,
        pending_break=d["pending_break"],
        missed=int(d["missed"]),
        answered=int(d["answered"]),
        idle_since=float(d["idle_since"]),
    )
    return state, d.get("endpoint")
