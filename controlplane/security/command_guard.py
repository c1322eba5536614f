"""The daemon's check of every command it reads, before it carries anything out.

Two streams reach the daemon's command reader (names in :mod:`controlplane.bus`):

* ``centrala:commands`` (``PANEL_STREAM``): the panel's. The Redis user ``web`` may
  write it, so nothing on it is believed: :class:`CommandGuard` looks the acting user and
  every object the command names up in the database and applies the pure rule table
  (:mod:`controlplane.security.command_rules`). A refusal is written to the audit trail
  (``command.refused``: who, what, why) and answered on the command's reply key.
* ``centrala:admin:commands`` (``ADMIN_STREAM``): operators' and tests' (``acd.reload``
  without a panel user, ``dialer.place``). Only the Redis ``admin`` user may write it (the
  ACL of :mod:`controlplane.security.redis_acl`), whose password only root can read, next
  to the ARI password that could place any call anyway; so it is trusted as it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import ADMIN_STREAM
from controlplane.db import transaction
from controlplane.models import CallRecord, PhoneEndpoint, Tenant, User
from controlplane.models.acd import Queue
from controlplane.models.campaigns import Campaign, CampaignRecord
from controlplane.models.chat import Chat
from controlplane.models.ticket_routes import TicketRoute
from controlplane.models.tickets import Ticket
from controlplane.security import audit
from controlplane.security import command_rules as rules

log = logging.getLogger(__name__)
REFUSED = "command.refused"
_DETAIL_FIELDS = ("cmd", "command", "user_id", "call_id", "campaign_id", "record_id",
                  "attempt_id", "number", "trunk", "caller_id", "queue", "chat_id", "target",
                  "ticket_id")


@dataclass(frozen=True)
class Checked:
    """The guard's answer: the verdict and the verified actor's address ("" if none)."""

    verdict: rules.Verdict
    actor: str = ""


TRUSTED = Checked(rules.ALLOWED, "admin")


class CommandGuard:
    """Checks commands against the database (module docstring); one per daemon."""

    def __init__(self, db: sessionmaker[Session]) -> None:
        self.db = db

    async def check(self, stream: str, command: object) -> Checked:
        """Allow or refuse one entry read from ``stream`` (refusals are audited)."""
        if stream == ADMIN_STREAM and isinstance(command, dict):
            return TRUSTED
        return await asyncio.to_thread(self._check, stream, command)

    def _check(self, stream: str, command: object) -> Checked:
        facts: rules.Facts | None = None
        try:
            request = rules.parse(command)
        except rules.Refused as refused:
            verdict = refused.verdict
        else:
            with self.db() as s:
                facts = _facts(s, request)
            verdict = rules.decide(request, facts)
        actor = facts.actor.address if facts is not None and facts.actor is not None else ""
        if not verdict.ok:
            try:
                self._audit(stream, command, facts, verdict)
            except SQLAlchemyError:  # refused all the same; the log line says so
                log.exception("command.refused not written to the audit trail: %s",
                              verdict.reason)
        return Checked(verdict, actor)

    def _audit(self, stream: str, command: object, facts: rules.Facts | None,
               verdict: rules.Verdict) -> None:
        data: Mapping[str, Any] = command if isinstance(command, Mapping) else {}
        claimed = data.get("tenant_id")
        actor_id = data.get("actor_id")
        detail: dict[str, object] = {"code": verdict.code, "reason": verdict.reason,
                                     "stream": stream, "actor_id": _short(actor_id),
                                     "tenant_id": _short(claimed)}
        detail.update({k: _short(data[k]) for k in _DETAIL_FIELDS if k in data})
        with transaction(self.db) as s:
            # The claimed tenant may not exist (a forged entry): the row's tenant must.
            tenant = (claimed if isinstance(claimed, int) and not isinstance(claimed, bool)
                      and s.get(Tenant, claimed) is not None else None)
            who = (facts.actor.address if facts is not None and facts.actor is not None
                   else f"user id {_short(actor_id)}")
            audit.record(s, REFUSED, severity=verdict.severity, tenant_id=tenant, actor=who,
                         source=f"redis {stream}", detail=detail)


def _short(value: object) -> object:
    """A value for the audit row: scalars as they are, anything else cut to 100 chars."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:100]


def _facts(s: Session, req: rules.Request) -> rules.Facts:
    user = s.get(User, req.actor_id) if req.actor_id is not None else None
    actor = None
    if user is not None:
        actor = rules.Actor(user.id, user.tenant_id, str(user.role.value), bool(user.active),
                            user.address)
    return rules.Facts(actor, {ref: _owner(s, ref) for ref in req.objects})


def _owner(s: Session, ref: rules.Ref) -> rules.Owner | None:
    """Whose object ``ref`` is (None: there is no such object)."""
    if ref.kind == "user":
        tenant = s.scalar(select(User.tenant_id).where(User.id == ref.key))
        return rules.Owner(tenant, int(ref.key)) if tenant is not None else None
    if ref.kind == "call":
        row = s.execute(select(CallRecord.tenant_id, CallRecord.agent_endpoint)
                        .where(CallRecord.call_id == str(ref.key))).first()
        if row is None:
            return None
        agent = (s.scalar(select(PhoneEndpoint.user_id)
                          .where(PhoneEndpoint.name == row.agent_endpoint))
                 if row.agent_endpoint else None)
        return rules.Owner(row.tenant_id, agent)
    if ref.kind == "chat":
        chat = s.execute(select(Chat.tenant_id, Chat.agent_user_id, Chat.status)
                         .where(Chat.id == ref.key)).first()
        return (rules.Owner(chat.tenant_id, chat.agent_user_id, chat.status)
                if chat is not None else None)
    if ref.kind == "ticket":  # its routing row says who it is offered to or held by
        row = s.execute(select(Ticket.tenant_id, TicketRoute.user_id, TicketRoute.state)
                        .outerjoin(TicketRoute, TicketRoute.ticket_id == Ticket.id)
                        .where(Ticket.id == ref.key)).first()
        return rules.Owner(row.tenant_id, row.user_id, row.state) if row is not None else None
    if ref.kind == "queue":
        tenant = s.scalar(select(Queue.tenant_id).where(Queue.id == ref.key))
    elif ref.kind == "campaign":
        tenant = s.scalar(select(Campaign.tenant_id).where(Campaign.id == ref.key))
    else:  # "record"
        tenant = s.scalar(select(CampaignRecord.tenant_id).where(CampaignRecord.id == ref.key))
    return rules.Owner(tenant) if tenant is not None else None


def refusal_body(verdict: rules.Verdict) -> dict[str, Any]:
    """The reply a refused command gets: the shape both the agent and the preview replies
    have (``ok``, ``code``, ``message``; ``status`` and ``reason`` of agent replies)."""
    return {"ok": False, "status": None, "reason": None, "code": verdict.reply_code,
            "message": f"refused by the control plane: {verdict.reply_reason}"}

