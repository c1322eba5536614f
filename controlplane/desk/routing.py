"""What the panel reads of the ACD's ticket routing (the ``ticket_route`` rows the daemon's
ticket connector writes, :mod:`controlplane.models.ticket_routes`).

* :func:`mine`: the offers waiting for one agent (with the seconds left: the page counts
  down from ``offer_until``) and the tickets the ACD gave them that they still hold;
* :func:`holder`: who holds a ticket through the ACD (the ticket page's "release");
* :func:`held_by_agent`: the tickets each agent holds (the supervisors' agents board).

Pure reads; the writes are the daemon's alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.models.acd import Queue
from controlplane.models.ticket_routes import TicketRoute
from controlplane.models.tickets import Ticket


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def mine(s: Session, tenant_id: int, user_id: int, now: datetime) -> dict[str, Any]:
    """``{"offers": [...], "held": [...]}`` of agent ``user_id`` (offers still open)."""
    rows = s.execute(
        select(TicketRoute, Ticket.number, Ticket.subject, Ticket.channel, Ticket.requester,
               Queue.name)
        .join(Ticket, Ticket.id == TicketRoute.ticket_id)
        .outerjoin(Queue, Queue.id == TicketRoute.queue_id)
        .where(TicketRoute.tenant_id == tenant_id, TicketRoute.user_id == user_id)
        .order_by(TicketRoute.entered_at, TicketRoute.ticket_id)).all()
    offers, held = [], []
    for r, number, subject, channel, requester, queue in rows:
        doc = {"ticket_id": r.ticket_id, "number": number, "subject": subject,
               "channel": channel, "requester": requester, "queue": queue or ""}
        if r.state == "held":
            held.append(doc)
        elif r.state == "offered" and r.offer_until is not None:
            left = (_aware(r.offer_until) - now).total_seconds()
            if left > 0:
                offers.append({**doc, "offer_until": _aware(r.offer_until).isoformat(),
                               "seconds_left": int(left + 0.999)})
    return {"offers": offers, "held": held}


def holder(s: Session, tenant_id: int, ticket_id: int) -> int | None:
    """The agent who holds ticket ``ticket_id`` through the ACD (None: nobody)."""
    return s.scalar(select(TicketRoute.user_id).where(
        TicketRoute.tenant_id == tenant_id, TicketRoute.ticket_id == ticket_id,
        TicketRoute.state == "held"))


def held_by_agent(s: Session, tenant_id: int) -> dict[int, list[dict[str, Any]]]:
    """Agent user id → the tickets they hold through the ACD (number, subject)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for uid, tid, number, subject in s.execute(
            select(TicketRoute.user_id, Ticket.id, Ticket.number, Ticket.subject)
            .join(Ticket, Ticket.id == TicketRoute.ticket_id)
            .where(TicketRoute.tenant_id == tenant_id, TicketRoute.state == "held",
                   TicketRoute.user_id.is_not(None))
            .order_by(Ticket.number)):
        out.setdefault(int(uid), []).append({"ticket_id": tid, "number": number,
                                             "subject": subject})
    return out
