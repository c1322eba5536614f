"""The desk's operations on tickets: open, change, reply, log time, merge, "next ticket".

Theory of operation
-------------------
Every operation runs in the caller's transaction (the panel's write path commits it) and
leaves three traces of what it did, in that same transaction, so none can be lost or
reported for a change that rolled back:

* a ``ticket_event`` row per change (the ticket's history: who, old → new);
* a webhook event (``ticket.created``, ``ticket.updated``, ``ticket.message``) in the
  webhooks outbox (:mod:`controlplane.webhooks.outbox`);
* the business rules of the tenant that the change triggers
  (:mod:`controlplane.desk.automation`), which may change the ticket further.

Values are checked against the tenant here (a category, a queue or an assignee of another
tenant is refused by field name); shapes and bounds are :mod:`.schemas`'s. A merged ticket
takes no changes: its thread goes on in the ticket it was merged into.

"Next ticket" (:func:`next_ticket`) assigns with a compare-and-set ``UPDATE … WHERE
assignee IS NULL``: of two agents who pick the same candidate, one update finds it still
unassigned and the other finds no row and moves to the next candidate. This works the same
on SQLite and PostgreSQL without row locks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from controlplane.desk import acd_sync, attachments, delivery, threads
from controlplane.desk.exceptions import (
    FieldIssue,
    InvalidFields,
    NothingWaiting,
    TicketMerged,
)
from controlplane.desk.store import PRIORITY_RANK, Viewer, queues_of, user_name
from controlplane.desk.store import minutes as minutes_total
from controlplane.models import User
from controlplane.models.acd import Queue
from controlplane.models.base import utcnow
from controlplane.models.desk import TicketEvent, TicketTime
from controlplane.models.tickets import Ticket, TicketCategory, TicketMessage
from controlplane.webhooks import outbox as webhooks

FIELDS = ("subject", "status", "priority", "category_id", "assignee_user_id", "queue_id")
CHANNELS_DELIVERED = ("email", "sms")  # a reply on these goes out through the channel
REPLY_CHANNEL = {"email": "email", "sms": "sms", "chat": "chat"}


def ticket_json(t: Ticket) -> dict[str, Any]:
    """A ticket as the API and the webhooks show it."""
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v is not None else None
    return {"id": t.id, "number": t.number, "subject": t.subject, "status": t.status,
            "priority": t.priority, "channel": t.channel, "requester": t.requester,
            "requester_name": t.requester_name, "contact_id": t.contact_id,
            "category_id": t.category_id, "assignee_user_id": t.assignee_user_id,
            "queue_id": t.queue_id, "merged_into_id": t.merged_into_id,
            "created_at": t.created_at.isoformat(), "updated_at": t.updated_at.isoformat(),
            "first_response_at": iso(t.first_response_at), "solved_at": iso(t.solved_at)}


def event(s: Session, ticket: Ticket, viewer: Viewer, kind: str, old: object = "",
          new: object = "", **detail: Any) -> TicketEvent:
    row = TicketEvent(tenant_id=ticket.tenant_id, ticket_id=ticket.id, kind=kind,
                      actor=viewer.actor[:320], actor_user_id=viewer.user_id,
                      old=_text(old), new=_text(new), detail=detail, created_at=utcnow())
    s.add(row)
    return row


def _text(v: object) -> str:
    return "" if v is None else str(v)[:300]


def check_refs(s: Session, tenant_id: int, values: Mapping[str, Any]) -> dict[str, str]:
    """Display names of the referenced category/user/queue; InvalidFields for another
    tenant's (or an inactive user)."""
    names: dict[str, str] = {}
    issues: list[FieldIssue] = []
    if values.get("category_id") is not None:
        name = s.scalar(select(TicketCategory.name).where(
            TicketCategory.id == values["category_id"], TicketCategory.tenant_id == tenant_id))
        if name is None:
            issues.append(FieldIssue("category_id", "no such category in your tenant"))
        names["category_id"] = name or ""
    if values.get("assignee_user_id") is not None:
        ok = s.scalar(select(User.id).where(User.id == values["assignee_user_id"],
                                            User.tenant_id == tenant_id,
                                            User.active.is_(True)))
        if ok is None:
            issues.append(FieldIssue("assignee_user_id", "no such active user in your tenant"))
        names["assignee_user_id"] = user_name(s, tenant_id, values["assignee_user_id"])
    if values.get("queue_id") is not None:
        name = s.scalar(select(Queue.name).where(Queue.id == values["queue_id"],
                                                 Queue.tenant_id == tenant_id))
        if name is None:
            issues.append(FieldIssue("queue_id", "no such queue in your tenant"))
        names["queue_id"] = name or ""
    if "subject" in values and not str(values["subject"] or "").strip():
        issues.append(FieldIssue("subject", "a ticket needs a subject"))
    if issues:
        raise InvalidFields(issues)
    return names


def _not_merged(s: Session, ticket: Ticket) -> None:
    if ticket.merged_into_id is not None:
        into = s.get_one(Ticket, ticket.merged_into_id)
        raise TicketMerged(ticket.number, into.id, into.number)


def change(s: Session, viewer: Viewer, ticket: Ticket, values: Mapping[str, Any], *,
           depth: int = 0) -> dict[str, tuple[Any, Any]]:
    """Set the fields of ``values`` (keys of :data:`FIELDS`); the changes made, field →
    (old, new). Each change is a history event; together one ``ticket.updated`` event."""
    _not_merged(s, ticket)
    values = {k: v for k, v in values.items() if k in FIELDS}
    names = check_refs(s, ticket.tenant_id, values)
    old_names = {k: name_of(s, ticket, k) for k in values if k in names or k.endswith("_id")}
    changes: dict[str, tuple[Any, Any]] = {}
    now = utcnow()
    for key, new in values.items():
        old = getattr(ticket, key)
        if old == new:
            continue
        setattr(ticket, key, new)
        changes[key] = (old, new)
        extra = ({"old_name": old_names.get(key, ""), "new_name": names.get(key, "")}
                 if key.endswith("_id") else {})
        event(s, ticket, viewer, key, old, new, **extra)
    if not changes:
        return changes
    if "status" in changes:
        ticket.solved_at = now if ticket.status in ("solved", "closed") else None
    if changes.keys() & {"status", "assignee_user_id", "queue_id"}:
        acd_sync.touched(s, ticket)  # it may enter or leave the ACD's routing
    ticket.updated_at = now
    s.flush()
    webhooks.emit(s, "ticket.updated", ticket.tenant_id,
                  {"ticket": ticket_json(ticket), "actor": viewer.actor,
                   "changes": {k: {"old": o, "new": n} for k, (o, n) in changes.items()}})
    _rules(s, ticket, "updated", depth, set(changes))
    return changes


def name_of(s: Session, ticket: Ticket, key: str) -> str:
    value = getattr(ticket, key, None)
    if value is None:
        return ""
    if key == "category_id":
        return s.scalar(select(TicketCategory.name).where(TicketCategory.id == value)) or ""
    if key == "queue_id":
        return s.scalar(select(Queue.name).where(Queue.id == value)) or ""
    if key == "assignee_user_id":
        return user_name(s, ticket.tenant_id, value)
    return str(value)


def open_ticket(s: Session, viewer: Viewer, *, subject: str, body: str, requester: str,
                requester_name: str = "", fields: Mapping[str, Any] | None = None) -> Ticket:
    """A ticket opened in the panel (or the API) for a customer: the first message is the
    customer's as the agent took it down (channel ``panel``); ``fields`` are then set as
    changes of the new ticket (each on its history)."""
    extra = {k: v for k, v in (fields or {}).items() if k in FIELDS and v is not None}
    check_refs(s, viewer.tenant_id, {"subject": subject, **extra})
    got = threads.receive(s, threads.Inbound(viewer.tenant_id, "panel", requester, body,
                                             subject=subject, sender_name=requester_name,
                                             meta={"entered_by": viewer.actor}))
    ticket = s.get_one(Ticket, got.ticket_id)
    if extra:
        change(s, viewer, ticket, extra)
    return ticket


def opened(s: Session, ticket: Ticket, viewer: Viewer, depth: int = 0) -> None:
    """What follows a new ticket, whoever opened it (the panel, a channel through
    :func:`controlplane.desk.threads.receive`): its first history line, the webhook, rules."""
    event(s, ticket, viewer, "created", "", ticket.status, channel=ticket.channel)
    webhooks.emit(s, "ticket.created", ticket.tenant_id, {"ticket": ticket_json(ticket)},
                  key=("ticket.created", ticket.id))
    _rules(s, ticket, "created", depth, set())


def message_added(s: Session, ticket: Ticket, message: TicketMessage, depth: int = 0, *,
                  rules: bool = True) -> None:
    """What follows a new message in a ticket: the webhook (not for private notes) and the
    rules of a customer's message."""
    if message.direction != "note":
        webhooks.emit(s, "ticket.message", ticket.tenant_id,
                      {"ticket": ticket_json(ticket), "message": message_json(message)},
                      key=("ticket.message", message.id))
    if message.direction == "in" and rules:
        _rules(s, ticket, "message", depth, set())


def received(s: Session, ticket: Ticket, message: TicketMessage, *, created: bool) -> None:
    """A customer's message came in through a channel (:func:`threads.receive`): a new
    ticket's first line and ``created`` rules, or the ``message`` rules of a known one."""
    v = Viewer(ticket.tenant_id, None, "admin", f"channel:{message.channel}")
    acd_sync.touched(s, ticket)  # new or reopened: it may wait for an agent
    if created:
        opened(s, ticket, v)
    message_added(s, ticket, message, rules=not created)


def message_json(m: TicketMessage) -> dict[str, Any]:
    return {"id": m.id, "ticket_id": m.ticket_id, "direction": m.direction,
            "channel": m.channel, "author_user_id": m.author_user_id, "sender": m.sender,
            "body": m.body, "external_id": m.external_id,
            "delivery": (m.meta or {}).get("delivery"), "created_at": m.created_at.isoformat(),
            "attachments": attachments.listed(m.meta)}


def post(s: Session, viewer: Viewer, ticket: Ticket, body: str, *, note: bool = False,
         depth: int = 0) -> TicketMessage:
    """An agent's reply (out through the ticket's channel: its delivery job joins the
    job outbox in this transaction, see :mod:`.delivery`) or a private note."""
    _not_merged(s, ticket)
    channel = "panel" if note else REPLY_CHANNEL.get(ticket.channel, "panel")
    meta = {"delivery": "pending"} if not note and channel in CHANNELS_DELIVERED else {}
    row = threads.reply(s, ticket, body=body, channel=channel, author_user_id=viewer.user_id,
                        sender=viewer.actor if viewer.user_id else "", note=note, meta=meta)
    if meta:
        delivery.queue(s, row.id)
    message_added(s, ticket, row, depth)
    return row


def log_time(s: Session, viewer: Viewer, ticket: Ticket, minutes: int, note: str = "") -> int:
    """Log ``minutes`` of the viewer's work on the ticket; the ticket's new total."""
    if minutes <= 0:
        raise InvalidFields([FieldIssue("minutes", "at least one minute")])
    s.add(TicketTime(tenant_id=ticket.tenant_id, ticket_id=ticket.id, user_id=viewer.user_id,
                     minutes=minutes, note=note[:200], created_at=utcnow()))
    event(s, ticket, viewer, "time", "", minutes, note=note[:200])
    s.flush()
    return minutes_total(s, ticket.id)


def merge(s: Session, viewer: Viewer, source: Ticket, target: Ticket) -> None:
    """Merge ``source`` into ``target``: its messages stay its own rows and show in the
    target's thread; ``source`` is closed and says "merged into #N"; new messages of its
    thread go to the target (:func:`controlplane.desk.threads.receive` forwards)."""
    _not_merged(s, source)
    _not_merged(s, target)
    if source.id == target.id:
        raise InvalidFields([FieldIssue("into", "a ticket cannot be merged into itself")])
    now = utcnow()
    old_status = source.status
    source.merged_into_id, source.status, source.updated_at = target.id, "closed", now
    source.solved_at = source.solved_at or now
    target.updated_at = now
    acd_sync.touched(s, source)
    event(s, source, viewer, "merged_into", old_status, target.number, ticket_id=target.id)
    event(s, target, viewer, "merged_from", "", source.number, ticket_id=source.id)
    s.flush()
    changed = {source.id: {"status": {"old": old_status, "new": "closed"},
                           "merged_into_id": {"old": None, "new": target.id}},
               target.id: {}}
    for t in (source, target):  # every ticket.updated carries "changes" (empty: none)
        webhooks.emit(s, "ticket.updated", t.tenant_id,
                      {"ticket": ticket_json(t), "actor": viewer.actor, "changes": changed[t.id],
                       "merge": {"source": source.id, "target": target.id}})


def next_ticket(s: Session, viewer: Viewer, *, candidates: int = 20) -> Ticket:
    """Assign the viewer the oldest ticket of the highest priority that waits unassigned in
    their queues (or the general inbox); :class:`NothingWaiting` when none does."""
    if viewer.user_id is None:
        raise NothingWaiting("only a user can take a ticket")
    where = [Ticket.tenant_id == viewer.tenant_id, Ticket.assignee_user_id.is_(None),
             Ticket.merged_into_id.is_(None), Ticket.status.in_(("new", "open")),
             or_(Ticket.queue_id.in_(queues_of(viewer.user_id)), Ticket.queue_id.is_(None))]
    for _ in range(5):  # a batch may be taken by others while we try it
        ids = list(s.scalars(select(Ticket.id).where(*where)
                             .order_by(PRIORITY_RANK.desc(), Ticket.created_at, Ticket.id)
                             .limit(candidates)))
        if not ids:
            break
        for ticket_id in ids:
            ticket = assign_if_free(s, viewer, ticket_id, next_ticket=True)
            if ticket is not None:
                return ticket
    raise NothingWaiting("no unassigned ticket waits in your queues")


def assign_if_free(s: Session, viewer: Viewer, ticket_id: int, **detail: Any) -> Ticket | None:
    """Make the ticket the viewer's if it is still unassigned (compare-and-set, see the
    module doc), with its history line (``detail``: how) and ``ticket.updated``; None: taken."""
    won = s.execute(update(Ticket).where(Ticket.id == ticket_id, Ticket.assignee_user_id.is_(None))
                    .values(assignee_user_id=viewer.user_id, updated_at=utcnow())
                    .execution_options(synchronize_session=False))
    if won.rowcount != 1:  # type: ignore[attr-defined]
        return None
    ticket = s.get_one(Ticket, ticket_id)
    s.refresh(ticket)
    event(s, ticket, viewer, "assignee_user_id", "", viewer.user_id,
          old_name="", new_name=viewer.name or viewer.actor, **detail)
    if ticket.status == "new":
        ticket.status = "open"
    s.flush()
    acd_sync.touched(s, ticket)
    webhooks.emit(s, "ticket.updated", ticket.tenant_id,
                  {"ticket": ticket_json(ticket), "actor": viewer.actor,
                   "changes": {"assignee_user_id": {"old": None, "new": viewer.user_id}}})
    return ticket


def _rules(s: Session, ticket: Ticket, trigger: str, depth: int, changed: set[str]) -> None:
    """Run the tenant's rules for ``trigger`` (imported here: the rules' actions call back
    into this module)."""
    from controlplane.desk import automation

    automation.on_event(s, ticket, trigger, depth=depth, changed=changed)
