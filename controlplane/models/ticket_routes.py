"""Tickets the live ACD routes (issue 14: one router for calls, chats and e-mails).

``ticket_route``: one row per ticket in the ACD's hands, written only by the daemon's ticket
connector (:mod:`controlplane.desk.acd`) as it carries out the ACD's ticket orders. ``state``
``waiting`` (in ``queue_id``), ``offered`` (to ``user_id`` until ``offer_until``) or ``held``
(accepted by ``user_id``: it counts in their e-mail load). A restart gives the rows back to
the ACD; the panel reads them for the agent's offers and the supervisors' boards. A ticket
that left routing (taken with "next ticket", assigned by hand, merged, solved, closed) has
no row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

ROUTE_STATES = ("waiting", "offered", "held")


class TicketRoute(Base):
    __tablename__ = "ticket_route"
    __table_args__ = (CheckConstraint(one_of("state", ROUTE_STATES), name="state"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"),
                                           primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    queue_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="waiting")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True)
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    offer_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
