"""The desk's SQL: tickets listed, filtered, found, and what their page shows.

Who sees which ticket (:func:`visible`), decided here once for the pages, the API and
"next ticket":

* admins and supervisors: every ticket of their tenant;
* agents: tickets assigned to them, tickets of the queues they are members of, and the
  tenant's general inbox (tickets with neither an assignee nor a queue). A ticket another
  agent holds in a queue the agent is not in stays hidden ("not found", as another
  tenant's ticket): what an agent cannot work on should not crowd their list.

Every query takes the viewer and filters on the tenant (and, for agents, on the scope
above). Listing is paged and sorted by a whitelisted key; ``priority`` sorts by urgency,
not alphabetically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from controlplane.admin.store import Page, paged, sort_of
from controlplane.desk.exceptions import DeskNotFound, TicketNotFound
from controlplane.models import Tenant, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.desk import TicketEvent, TicketTime
from controlplane.models.tickets import TICKET_PRIORITIES, Ticket, TicketCategory, TicketMessage

SUPERVISING = ("admin", "supervisor")
ACTIVE = ("new", "open", "pending")  # the "active" status filter

PRIORITY_RANK = case({p: i for i, p in enumerate(TICKET_PRIORITIES)}, value=Ticket.priority)
SORT = {"number": Ticket.number, "updated": Ticket.updated_at, "created": Ticket.created_at,
        "priority": PRIORITY_RANK, "status": Ticket.status, "subject": Ticket.subject}


@dataclass(frozen=True)
class Viewer:
    """Who is asking: the tenant, the user and their role (``admin``, ``supervisor``,
    ``agent``); ``actor`` is how history and audit name them (their address)."""

    tenant_id: int
    user_id: int | None
    role: str
    actor: str
    name: str = ""

    @property
    def supervising(self) -> bool:
        return self.role in SUPERVISING


def queues_of(user_id: int) -> Any:
    """The ids of the queues ``user_id`` is a member of (a subquery)."""
    return select(QueueMember.queue_id).where(QueueMember.user_id == user_id)


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """The WHERE clause of the tickets ``viewer`` may see (see the module's docstring)."""
    mine = Ticket.tenant_id == viewer.tenant_id
    if viewer.supervising or viewer.user_id is None:
        return mine
    return and_(mine, or_(Ticket.assignee_user_id == viewer.user_id,
                          Ticket.queue_id.in_(queues_of(viewer.user_id)),
                          and_(Ticket.assignee_user_id.is_(None), Ticket.queue_id.is_(None))))


def _escaped(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search(q: str) -> ColumnElement[bool]:
    """Every word in the subject, the requester's address or name; ``#12`` or ``12`` is
    also the ticket number."""
    conds = []
    for word in q.split():
        pattern = _escaped(word)
        conds.append(or_(*(c.ilike(pattern, escape="\\") for c in
                           (Ticket.subject, Ticket.requester, Ticket.requester_name))))
    words = and_(*conds)
    digits = q.strip().lstrip("#")
    if digits.isdigit() and len(digits) < 10:
        return or_(words, Ticket.number == int(digits))
    return words


def filters(viewer: Viewer, f: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    """WHERE clauses of a list's filters (``status``, ``priority``, ``category_id``,
    ``assignee`` — ``mine``, ``unassigned`` or a user id —, ``queue_id``, ``channel``,
    ``q``); absent or None ones filter nothing."""
    out: list[ColumnElement[bool]] = [visible(viewer)]
    status = f.get("status")
    if status == "active":
        out.append(Ticket.status.in_(ACTIVE))
    elif status:
        out.append(Ticket.status == status)
    for key, column in (("priority", Ticket.priority), ("channel", Ticket.channel),
                        ("category_id", Ticket.category_id), ("queue_id", Ticket.queue_id)):
        if f.get(key) is not None:
            out.append(column == f[key])
    assignee = f.get("assignee")
    if assignee == "mine":
        out.append(Ticket.assignee_user_id == viewer.user_id)
    elif assignee == "unassigned":
        out.append(Ticket.assignee_user_id.is_(None))
    elif assignee:
        out.append(Ticket.assignee_user_id == int(assignee))
    if f.get("merged") is not True:  # merged tickets live on in their target
        out.append(Ticket.merged_into_id.is_(None))
    if f.get("q") and str(f["q"]).strip():
        out.append(_search(str(f["q"])))
    return out


def tickets(s: Session, viewer: Viewer, f: Mapping[str, Any], sort: str | None, page: int,
            per_page: int) -> Page:
    """The viewer's tickets: rows of ``(Ticket, assignee name, category, queue)``."""
    who = aliased(User)
    stmt = (select(Ticket, func.coalesce(func.nullif(who.display_name, ""), who.login),
                   TicketCategory.name, Queue.name)
            .outerjoin(who, who.id == Ticket.assignee_user_id)
            .outerjoin(TicketCategory, TicketCategory.id == Ticket.category_id)
            .outerjoin(Queue, Queue.id == Ticket.queue_id)
            .where(*filters(viewer, f)))
    return paged(s, stmt.order_by(*sort_of(sort, SORT, "-updated"), Ticket.id.desc()),
                 page, per_page)


def ticket(s: Session, viewer: Viewer, ticket_id: int, *, lock: bool = False) -> Ticket:
    """The ticket, when ``viewer`` may see it; else :class:`TicketNotFound`."""
    stmt = select(Ticket).where(Ticket.id == ticket_id, visible(viewer))
    row = s.scalar(stmt.with_for_update() if lock else stmt)
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id} you may see")
    return row


def by_number(s: Session, viewer: Viewer, number: int) -> Ticket:
    row = s.scalar(select(Ticket).where(Ticket.number == number, visible(viewer)))
    if row is None:
        raise TicketNotFound(f"no ticket #{number} you may see")
    return row


def messages(s: Session, ticket: Ticket) -> list[TicketMessage]:
    """The thread, oldest first: the ticket's own messages and those of tickets merged
    into it (they keep their rows; the merged-into ticket shows them)."""
    ids = [ticket.id, *merged_ids(s, ticket.id)]
    return list(s.scalars(select(TicketMessage).where(TicketMessage.ticket_id.in_(ids))
                          .order_by(TicketMessage.created_at, TicketMessage.id)))


def merged_ids(s: Session, ticket_id: int, depth: int = 10) -> list[int]:
    """Tickets merged into ``ticket_id``, directly or through others (bounded)."""
    found: list[int] = []
    frontier = [ticket_id]
    for _ in range(depth):
        nxt = list(s.scalars(select(Ticket.id).where(Ticket.merged_into_id.in_(frontier))))
        nxt = [i for i in nxt if i not in found and i != ticket_id]
        if not nxt:
            break
        found += nxt
        frontier = nxt
    return found


def events(s: Session, ticket_id: int) -> list[TicketEvent]:
    return list(s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                          .order_by(TicketEvent.created_at, TicketEvent.id)))


def minutes(s: Session, ticket_id: int) -> int:
    """Minutes logged on the ticket (time tracking)."""
    return int(s.scalar(select(func.coalesce(func.sum(TicketTime.minutes), 0))
                        .where(TicketTime.ticket_id == ticket_id)) or 0)


def categories(s: Session, tenant_id: int, *, active_only: bool = False) -> list[TicketCategory]:
    stmt = select(TicketCategory).where(TicketCategory.tenant_id == tenant_id)
    if active_only:
        stmt = stmt.where(TicketCategory.active.is_(True))
    return list(s.scalars(stmt.order_by(func.lower(TicketCategory.name), TicketCategory.id)))


def category(s: Session, tenant_id: int, category_id: int) -> TicketCategory:
    row = s.scalar(select(TicketCategory).where(TicketCategory.id == category_id,
                                                TicketCategory.tenant_id == tenant_id))
    if row is None:
        raise DeskNotFound(f"no category {category_id} in your tenant")
    return row


def queues(s: Session, tenant_id: int) -> list[tuple[int, str]]:
    return [(i, n) for i, n in s.execute(select(Queue.id, Queue.name).where(
        Queue.tenant_id == tenant_id).order_by(Queue.name))]


def users(s: Session, tenant_id: int) -> list[tuple[int, str]]:
    """The tenant's active users who may hold tickets, by name."""
    rows = s.execute(select(User.id, func.coalesce(func.nullif(User.display_name, ""),
                                                   User.login))
                     .where(User.tenant_id == tenant_id, User.active.is_(True),
                            User.role.in_(("admin", "supervisor", "agent")))
                     .order_by(User.login))
    return [(i, n) for i, n in rows]


def user_name(s: Session, tenant_id: int, user_id: int | None) -> str:
    if user_id is None:
        return ""
    row = s.execute(select(User.display_name, User.login).where(
        User.id == user_id, User.tenant_id == tenant_id)).first()
    return (row[0] or row[1]) if row else ""


def template_parameters(s: Session, ticket: Ticket, viewer: Viewer) -> dict[str, Any]:
    """The values a template may use for ``ticket``, answered by ``viewer``."""
    category = (s.scalar(select(TicketCategory.name).where(
        TicketCategory.id == ticket.category_id)) if ticket.category_id else None)
    queue = (s.scalar(select(Queue.name).where(Queue.id == ticket.queue_id))
             if ticket.queue_id else None)
    tenant = s.get(Tenant, ticket.tenant_id)
    return {"requester_name": ticket.requester_name or ticket.requester,
            "requester": ticket.requester, "ticket_number": ticket.number,
            "subject": ticket.subject, "status": ticket.status, "priority": ticket.priority,
            "category": category or "", "queue": queue or "",
            "agent_name": (user_name(s, ticket.tenant_id, viewer.user_id) or viewer.name
                           or viewer.actor),
            "agent_login": viewer.actor.split("@", 1)[0],
            "tenant_name": tenant.name if tenant else ""}
