"""The database side of the desk's ticket connector (:mod:`controlplane.desk.acd`).

Synchronous (the connector runs these in a thread): what the desk says of a ticket
(:func:`facts`), which tickets the ACD should know and does not, or knows and should not
(:func:`out_of_step`, the sweep), the routing rows a restart hands back (:func:`open_routes`),
and the write of each ticket order of the ACD (:func:`apply`), with the event it publishes.

A ticket is *routable* when it waits for an agent: status new or open, nobody assigned, a
queue, not merged, not a chat's transcript (the chat itself was routed). A ticket the ACD
assigned stays *held* while it is the same agent's and not solved or closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import outputs as out
from controlplane.acd.interactions import Channel, Interaction
from controlplane.acd.live_tickets import OpenTicket
from controlplane.db import transaction
from controlplane.desk import service
from controlplane.desk.store import Viewer, user_name
from controlplane.models import User
from controlplane.models.ticket_routes import TicketRoute
from controlplane.models.tickets import Ticket

Factory = sessionmaker[Session]
ROUTED_STATUSES = ("new", "open")
HELD_STATUSES = ("new", "open", "pending")
NOT_ROUTED_CHANNELS = ("chat",)
PRIORITY = {"low": -1.0, "normal": 0.0, "high": 1.0, "urgent": 2.0}  # the ACD's base priority


@dataclass(frozen=True)
class Facts:
    """A ticket as routing sees it, with its routing row (``route_*`` None: no row)."""

    ticket_id: int
    tenant_id: int
    status: str
    channel: str
    assignee: int | None
    queue_id: int | None
    merged: bool
    priority: float
    requester: str
    route_state: str | None = None
    route_user: int | None = None

    @property
    def routable(self) -> bool:
        return (self.status in ROUTED_STATUSES and self.assignee is None
                and self.queue_id is not None and not self.merged
                and self.channel not in NOT_ROUTED_CHANNELS)

    @property
    def held(self) -> bool:
        """Still the ACD-assigned agent's open work (counts in their e-mail load)."""
        return (self.route_state == "held" and self.assignee == self.route_user
                and self.status in HELD_STATUSES and not self.merged)

    @property
    def why_not(self) -> str:
        """Why it left routing (for the ``DropTicket`` order and the event)."""
        if self.merged:
            return "merged"
        if self.status in ("solved", "closed"):
            return self.status
        if self.assignee is not None:
            return "taken"
        return "unqueued" if self.queue_id is None else "not_waiting"

    def interaction(self, now: float) -> Interaction:
        return Interaction(out.ticket_iid(self.ticket_id), Channel.EMAIL, now, self.priority,
                           {}, self.requester or None)


def _facts(t: Ticket, route: TicketRoute | None) -> Facts:
    return Facts(t.id, t.tenant_id, t.status, t.channel, t.assignee_user_id, t.queue_id,
                 t.merged_into_id is not None, PRIORITY.get(t.priority, 0.0), t.requester,
                 route.state if route else None, route.user_id if route else None)


def facts(db: Factory, tenant_id: int, ticket_id: int) -> Facts | None:
    with db() as s:
        t = s.get(Ticket, ticket_id)
        if t is None or t.tenant_id != tenant_id:
            return None
        return _facts(t, s.get(TicketRoute, ticket_id))


def out_of_step(db: Factory) -> dict[int, list[int]]:
    """Tenant → tickets to sync: routable ones without a routing row (a lost
    ``ticket.sync``, a daemon that was down) and rows whose ticket no longer fits them."""
    found: dict[int, set[int]] = {}
    with db() as s:
        waiting = s.execute(
            select(Ticket.tenant_id, Ticket.id)
            .outerjoin(TicketRoute, TicketRoute.ticket_id == Ticket.id)
            .where(TicketRoute.ticket_id.is_(None), Ticket.status.in_(ROUTED_STATUSES),
                   Ticket.assignee_user_id.is_(None), Ticket.queue_id.is_not(None),
                   Ticket.merged_into_id.is_(None), Ticket.channel.not_in(NOT_ROUTED_CHANNELS)))
        stale = s.execute(
            select(Ticket.tenant_id, Ticket.id).join(TicketRoute, TicketRoute.ticket_id == Ticket.id)
            .where(or_(Ticket.merged_into_id.is_not(None),
                       and_(TicketRoute.state == "held",
                            or_(Ticket.status.not_in(HELD_STATUSES),
                                Ticket.assignee_user_id.is_(None),
                                Ticket.assignee_user_id != TicketRoute.user_id)),
                       and_(TicketRoute.state != "held",
                            or_(Ticket.status.not_in(ROUTED_STATUSES),
                                Ticket.assignee_user_id.is_not(None),
                                Ticket.queue_id.is_(None),
                                Ticket.queue_id != TicketRoute.queue_id)))))
        for tenant_id, ticket_id in (*waiting, *stale):
            found.setdefault(tenant_id, set()).add(ticket_id)
    return {t: sorted(ids) for t, ids in found.items()}


def open_routes(db: Factory, to_epoch: Callable[[datetime], float]) -> dict[int, list[OpenTicket]]:
    """Tenant → the tickets of the routing rows, as a restart hands them to the ACD."""
    routes: dict[int, list[OpenTicket]] = {}
    with db() as s:
        for r, t in s.execute(select(TicketRoute, Ticket)
                              .join(Ticket, Ticket.id == TicketRoute.ticket_id)
                              .order_by(TicketRoute.entered_at, TicketRoute.ticket_id)):
            f = _facts(t, r)
            entered = to_epoch(r.entered_at)
            agent = str(r.user_id) if r.state == "held" and r.user_id is not None else None
            routes.setdefault(t.tenant_id, []).append(
                OpenTicket(t.id, str(r.queue_id), r.state, agent, f.interaction(entered), entered))
    return routes


@dataclass(frozen=True)
class Written:
    """What :func:`apply` did: the event to publish (None: nothing to tell) and ``lost``
    when an ``AssignTicket`` found the ticket taken by someone else meanwhile."""

    kind: str | None
    payload: dict[str, Any]
    lost: bool = False


NOTHING = Written(None, {})


def apply(db: Factory, order: out.TicketOrder, now: datetime) -> Written:
    """Write one ticket order (the routing row; the ticket itself for an assignment)."""
    with transaction(db) as s:
        row = s.get(TicketRoute, order.ticket_id)
        match order:
            case out.RequeueTicket(tenant_id, ticket_id, queue_id):
                if s.get(Ticket, ticket_id) is None:
                    return NOTHING
                if row is None:
                    row = TicketRoute(ticket_id=ticket_id, tenant_id=tenant_id, entered_at=now)
                    s.add(row)
                row.queue_id, row.state, row.user_id, row.offer_until = queue_id, "waiting", None, None
                row.updated_at = now
                return Written("ticket.requeued", {"queue_id": queue_id})
            case out.OfferTicket(_, ticket_id, user_id, queue_id, timeout_s):
                ticket = s.get(Ticket, ticket_id)
                if row is None or ticket is None:
                    raise LookupError(f"ticket {ticket_id} is not routed")  # the ACD re-offers
                row.state, row.user_id, row.updated_at = "offered", user_id, now
                row.offer_until = now + timedelta(seconds=timeout_s)
                return Written("ticket.offered", {
                    "user_id": user_id, "queue_id": queue_id, "timeout_s": timeout_s,
                    "number": ticket.number, "subject": ticket.subject,
                    "channel": ticket.channel, "requester": ticket.requester})
            case out.WithdrawTicketOffer(_, _, user_id, reason):
                if row is not None and row.state == "offered" and row.user_id == user_id:
                    row.state, row.user_id, row.offer_until, row.updated_at = (
                        "waiting", None, None, now)
                return Written("ticket.offer_withdrawn", {"user_id": user_id, "reason": reason})
            case out.AssignTicket(tenant_id, ticket_id, user_id):
                return _assign(s, row, tenant_id, ticket_id, user_id, now)
            case out.DropTicket(_, ticket_id, reason):
                s.execute(delete(TicketRoute).where(TicketRoute.ticket_id == ticket_id))
                return Written("ticket.unrouted", {"reason": reason})
    return NOTHING  # pragma: no cover - every order is matched


def _assign(s: Session, row: TicketRoute | None, tenant_id: int, ticket_id: int,
            user_id: int, now: datetime) -> Written:
    user = s.get(User, user_id)
    address = user.address if user is not None else f"user:{user_id}"
    viewer = Viewer(tenant_id, user_id, "agent", address, user_name(s, tenant_id, user_id))
    ticket = service.assign_if_free(s, viewer, ticket_id, acd=True)
    if ticket is None or row is None:
        return Written("ticket.assign_lost", {"user_id": user_id}, lost=True)
    row.state, row.user_id, row.offer_until, row.updated_at = "held", user_id, None, now
    return Written("ticket.assigned", {"user_id": user_id, "number": ticket.number})


def release(db: Factory, tenant_id: int, ticket_id: int, user_id: int) -> bool:
    """Agent ``user_id`` gives back the ticket the ACD gave them: unassigned (a history line,
    ``ticket.updated``); False when it is not theirs."""
    with transaction(db) as s:
        ticket = s.get(Ticket, ticket_id)
        row = s.get(TicketRoute, ticket_id)
        if (ticket is None or ticket.tenant_id != tenant_id or ticket.assignee_user_id != user_id
                or row is None or row.state != "held"):
            return False
        user = s.get(User, user_id)
        viewer = Viewer(tenant_id, user_id, "agent", user.address if user else "",
                        user_name(s, tenant_id, user_id))
        service.change(s, viewer, ticket, {"assignee_user_id": None})
        return True
