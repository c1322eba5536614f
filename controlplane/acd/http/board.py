"""The ACD's live state as the panel reads it: agents and queue statistics from Redis.

The control plane's ``QueueService`` is the only writer (see
``controlplane/acd/service.py``): ``centrala:acd:{tenant}:agents`` holds one JSON
document per agent (``controlplane.acd.store.agent_to_json``) and
``centrala:acd:{tenant}:stats`` the latest ``queue.stats`` payload. Both keys
carry the tenant in their name, and every agent shown is also checked against
the tenant's users in the database, so nothing of another tenant is ever read.
An agent with no entry has never logged in since Redis started: logged out.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from flask_babel import ngettext
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlplane.bus import acd_key
from controlplane.models import Role, User
from controlplane.models.acd import AgentBreakReason, Queue, QueueMember

log = logging.getLogger(__name__)

STATUSES = ("ready", "reserved", "ringing", "on_call", "wrap_up", "break", "logged_out")


@dataclass(frozen=True)
class AgentRow:
    """One agent on the board (or on their own page)."""

    user_id: int
    login: str
    display_name: str
    status: str
    reason: str | None
    reason_label: str | None
    since: str | None  # ISO 8601, UTC
    since_epoch: float | None
    calls: int  # answered since login
    holding: int  # interactions held now
    pending_break: str | None
    deferred: str | None  # "break 2" / "logout": starts when the current work ends
    reachable: bool | None  # None: logged out or no phone
    endpoint: str | None
    missed: int
    chats: int = 0  # of what is held, chats (an agent on_call may be chatting, not talking)
    chats_label: str = ""  # "2 chats" in the page's language; "" when none
    emails: int = 0  # of what is held, e-mails (tickets the ACD gave the agent)
    emails_label: str = ""  # "2 e-mails"; "" when none
    chat_ids: tuple[int, ...] = ()  # the chats held (the supervisors' watch links)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def break_labels(s: Session, tenant_id: int) -> dict[str, str]:
    """Break reason code → label (the code itself when the label is empty)."""
    rows = s.scalars(select(AgentBreakReason).where(AgentBreakReason.tenant_id == tenant_id))
    return {r.code: r.label or r.code for r in rows}


def _raw_agents(
    client: redis.Redis, tenant_id: int, ids: list[str] | None = None
) -> dict[str, Any]:
    key = acd_key(tenant_id, "agents")
    out: dict[str, Any] = {}
    if ids is None:
        raw: dict[str, str] = client.hgetall(key)  # type: ignore[assignment]
    else:
        values: list[str | None] = client.hmget(key, ids) if ids else []  # type: ignore[assignment]
        raw = {i: v for i, v in zip(ids, values, strict=True) if v is not None}
    for field, value in raw.items():
        try:
            out[field] = json.loads(value)
        except ValueError as err:
            log.warning("skipping malformed agent %r of tenant %s: %s", field, tenant_id, err)
    return out


def _row(user: User, d: dict[str, Any] | None, labels: dict[str, str]) -> AgentRow:
    if d is None or d.get("status") in (None, "logged_out"):
        since = float(d["since"]) if d and d.get("since") else None
        return AgentRow(
            user.id,
            user.login,
            user.display_name or user.login,
            "logged_out",
            None,
            None,
            _iso(since),
            since,
            0,
            0,
            None,
            None,
            None,
            None,
            0,
        )
    deferred = d.get("deferred")
    deferred_txt = None
    if deferred:
        action, reason = deferred[0], deferred[1]
        deferred_txt = f"{action} {reason}" if reason else str(action)
    reason = d.get("reason")
    endpoint = d.get("endpoint")
    since = float(d["since"])
    chat_ids = tuple(int(str(w.get("i", "")).partition(":")[2])
                     for w in d.get("held") or () if w.get("ch") == "chat"
                     and str(w.get("i", "")).partition(":")[2].isdigit())
    chats = sum(1 for w in d.get("held") or () if w.get("ch") == "chat")
    emails = sum(1 for w in d.get("held") or () if w.get("ch") == "email")
    return AgentRow(
        user_id=user.id,
        login=user.login,
        display_name=user.display_name or user.login,
        status=str(d["status"]),
        reason=reason,
        reason_label=labels.get(reason, reason) if reason else None,
        since=_iso(since),
        since_epoch=since,
        calls=int(d.get("answered", 0)),
        holding=len(d.get("held") or ()),
        pending_break=d.get("pending_break"),
        deferred=deferred_txt,
        reachable=bool(d.get("reachable")) if endpoint else None,
        endpoint=endpoint,
        missed=int(d.get("missed", 0)),
        chats=chats,
        chats_label=ngettext("%(num)d chat", "%(num)d chats", chats) if chats else "",
        emails=emails,
        emails_label=ngettext("%(num)d e-mail", "%(num)d e-mails", emails) if emails else "",
        chat_ids=chat_ids,
    )


def _chats_waiting(n: int) -> str:
    """How many of a queue's waiting interactions are chats, for the wallboard ("" if none)."""
    return ngettext("incl. %(num)d chat", "incl. %(num)d chats", n) if n else ""


def _emails_waiting(n: int) -> str:
    """How many of a queue's waiting interactions are e-mails (tickets), ("" if none)."""
    return ngettext("incl. %(num)d e-mail", "incl. %(num)d e-mails", n) if n else ""


def agent_board(client: redis.Redis, s: Session, tenant_id: int) -> list[AgentRow]:
    """Every agent of the tenant: active users with the agent role, plus any other user
    of the tenant the ACD knows (a supervisor who logged in as an agent). By login."""
    raw = _raw_agents(client, tenant_id)
    known = [int(k) for k in raw if k.isdigit()]
    users = s.scalars(
        select(User)
        .where(
            User.tenant_id == tenant_id,
            or_(User.role == Role.AGENT, User.id.in_(known)),
            User.active.is_(True),
        )
        .order_by(User.login)
    ).all()
    labels = break_labels(s, tenant_id)
    return [_row(u, raw.get(str(u.id)), labels) for u in users]


def agent_row(client: redis.Redis, s: Session, tenant_id: int, user: User,
              labels: dict[str, str] | None = None) -> AgentRow:
    """One agent's live row (``user`` must already be known to be of ``tenant_id``);
    ``labels``: the tenant's :func:`break_labels` when the caller keeps them (read from
    ``s`` otherwise)."""
    raw = _raw_agents(client, tenant_id, [str(user.id)])
    return _row(user, raw.get(str(user.id)),
                break_labels(s, tenant_id) if labels is None else labels)


def queue_stats(client: redis.Redis, tenant_id: int) -> dict[str, Any] | None:
    """The latest ``queue.stats`` payload of the tenant, or None when none was published."""
    raw = client.get(acd_key(tenant_id, "stats"))
    if raw is None:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError as err:
        log.warning("malformed queue stats of tenant %s: %s", tenant_id, err)
        return None
    return data if data.get("tenant_id") == tenant_id else None


def wallboard(client: redis.Redis, s: Session, tenant_id: int) -> dict[str, Any]:
    """Per queue of the tenant (from the database, so a queue without stats yet shows):
    the published figures and its members per agent status (from the live agents)."""
    stats = queue_stats(client, tenant_id)
    by_id = {str(q["queue_id"]): q for q in (stats or {}).get("queues", [])}
    agents = _raw_agents(client, tenant_id)
    queues = s.scalars(select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.name))
    rows = []
    for q in queues:
        members = s.scalars(select(QueueMember.user_id).where(QueueMember.queue_id == q.id))
        per_status = dict.fromkeys(STATUSES, 0)
        for uid in members:
            status = (agents.get(str(uid)) or {}).get("status", "logged_out")
            per_status[status if status in per_status else "logged_out"] += 1
        figures = by_id.get(str(q.id), {})
        rows.append(
            {
                "queue_id": q.id,
                "name": q.name,
                "waiting": figures.get("waiting", 0),
                "waiting_chats": figures.get("waiting_chats", 0),
                "waiting_chats_label": _chats_waiting(figures.get("waiting_chats", 0)),
                "waiting_emails": figures.get("waiting_emails", 0),
                "waiting_emails_label": _emails_waiting(figures.get("waiting_emails", 0)),
                "longest_wait_s": figures.get("longest_wait_s", 0.0),
                "service_level_pct": figures.get("service_level_pct"),
                "sl_threshold_s": q.sl_threshold_s,
                "answered": figures.get("answered", 0),
                "abandoned": figures.get("abandoned", 0),
                "abandon_rate_pct": figures.get("abandon_rate_pct"),
                "overflowed": figures.get("overflowed", 0),
                "avg_speed_of_answer_s": figures.get("avg_speed_of_answer_s"),
                "agents": per_status,
                "has_stats": bool(figures),
            }
        )
    return {
        "at": (stats or {}).get("at"),
        "window_s": (stats or {}).get("window_s"),
        "agents": (stats or {}).get("agents", {}),
        "queues": rows,
    }
