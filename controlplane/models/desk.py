"""The desk's working tables around a ticket (:mod:`controlplane.models.tickets` holds the
ticket and its messages).

* ``ticket_event``: a ticket's history, one row per change (status, priority, category,
  assignee, queue, merge, time logged, a rule's action), with who made it (``actor``: a
  user's address, ``rule:<name>`` or ``system``) and the old and new value as people read
  them. Append-only; the ticket page shows it next to the messages.
* ``ticket_time``: minutes an agent logged on a ticket (time tracking; the total is a sum).
* ``ticket_template``: a tenant's response templates, Jinja text rendered in a sandbox with
  the ticket's parameters (``{{ requester_name }}``, ``{{ ticket_number }}``…).
* ``ticket_view``: a user's saved list view, a name and a filter set (the list's query).
* ``ticket_rule``: a business rule: ``trigger`` (``created``, ``updated``, ``message`` — an
  event — or ``time``), ``conditions`` and ``actions`` (JSON lists, the shapes of
  :mod:`controlplane.desk.rules`), in ``position`` order.
* ``ticket_rule_usage``: rule runs per tenant per month (``YYYY-MM``), the quota's count.
* ``ticket_rule_fired``: when a time rule last acted on a ticket, and the ticket's
  ``updated_at`` after it did: the rule acts again only once the ticket changed since.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

RULE_TRIGGERS = ("created", "updated", "message", "time")


class TicketEvent(Base):
    __tablename__ = "ticket_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(320), default="")
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    old: Mapped[str] = mapped_column(String(300), default="")
    new: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TicketTime(Base):
    __tablename__ = "ticket_time"
    __table_args__ = (CheckConstraint("minutes > 0", name="minutes"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    minutes: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TicketTemplate(Base):
    __tablename__ = "ticket_template"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TicketView(Base):
    __tablename__ = "ticket_view"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TicketRule(Base):
    __tablename__ = "ticket_rule"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint(one_of("trigger", RULE_TRIGGERS), name="trigger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(16))
    conditions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    actions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class TicketRuleUsage(Base):
    __tablename__ = "ticket_rule_usage"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, default=0)


class TicketRuleFired(Base):
    __tablename__ = "ticket_rule_fired"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_rule.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    ticket_updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
