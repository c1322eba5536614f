"""Webhooks: subscriptions, the event outbox, deliveries and their attempts.

- ``webhook_subscription``: a tenant's target URL, the event types it wants, its signing
  secret (kept readable: it signs every attempt; shown to admins on demand, never logged),
  an active flag and the failure streak that auto-disables it.
- ``webhook_event``: the outbox. One row per event, inserted in the SAME transaction as the
  change it reports; ``event_id`` (uuid) is unique, so an event written twice (a restarted
  daemon writing a call's record again) is one event. ``fanned_out_at`` None: not yet
  turned into deliveries (the daemon's dispatcher does it).
- ``webhook_delivery``: one event to one subscription; its state (``pending``,
  ``delivered``, ``dead``), the attempts so far and when the next is due
  (``next_attempt_at``): retries are rows, so no retry is lost with a worker.
- ``webhook_attempt``: the delivery log, one row per POST.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscription"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # failed attempts in a row, and since when (reset by any 2xx); see webhooks.events
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")


class WebhookEvent(Base):
    __tablename__ = "webhook_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           index=True)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    fanned_out_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True,
                                                           index=True)


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("event_id", "subscription_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_event.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscription.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    # start of the current retry window (creation, or the last replay): dead 24 h after it
    retry_since: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True,
                                                             index=True)
    # queued to RQ until then; a job lost with its worker is queued again after it
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_delivery.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str] = mapped_column(String(300), default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
