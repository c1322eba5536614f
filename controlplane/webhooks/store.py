"""The webhooks' SQL: subscriptions (tenant-scoped), fan-out, due deliveries, the log.

Every function takes the session of its caller's transaction. Panel reads and writes are
scoped by ``tenant_id`` (a subscription or delivery of another tenant is "not found");
the dispatcher and the job work across tenants by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from controlplane.models.tenancy import Tenant
from controlplane.models.webhooks import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from controlplane.webhooks.events import new_secret
from controlplane.webhooks.exceptions import DeliveryNotFound, SubscriptionNotFound

STATES = ("pending", "delivered", "dead")
FAN_OUT_BATCH = 500
DUE_BATCH = 200


# ---- subscriptions (panel and API) ----

def subscriptions(s: Session, tenant_id: int) -> list[WebhookSubscription]:
    return list(s.scalars(select(WebhookSubscription)
                          .where(WebhookSubscription.tenant_id == tenant_id)
                          .order_by(WebhookSubscription.id)))


def subscription(s: Session, tenant_id: int, sub_id: int) -> WebhookSubscription:
    sub = s.scalar(select(WebhookSubscription).where(WebhookSubscription.id == sub_id,
                                                     WebhookSubscription.tenant_id == tenant_id))
    if sub is None:
        raise SubscriptionNotFound(f"no webhook {sub_id} in your tenant")
    return sub


def create(s: Session, tenant_id: int, url: str, events: Sequence[str], description: str,
           active: bool) -> WebhookSubscription:
    sub = WebhookSubscription(tenant_id=tenant_id, url=url, events=list(events),
                              description=description, active=active, secret=new_secret(),
                              consecutive_failures=0, disabled_reason="")
    s.add(sub)
    s.flush()
    return sub


def update_subscription(sub: WebhookSubscription, values: dict[str, Any]) -> None:
    for name in ("url", "description"):
        if name in values:
            setattr(sub, name, values[name])
    if "events" in values:
        sub.events = list(values["events"])
    if "active" in values and values["active"] != sub.active:
        sub.active = bool(values["active"])
        if sub.active:  # re-enabled by an admin: a fresh start
            sub.consecutive_failures, sub.failing_since = 0, None
            sub.disabled_at, sub.disabled_reason = None, ""


def regenerate_secret(sub: WebhookSubscription) -> str:
    sub.secret = new_secret()
    return sub.secret


# ---- deliveries: the log, replay ----

@dataclass(frozen=True)
class DeliveryRow:
    delivery: WebhookDelivery
    event_type: str
    event_uuid: str


def deliveries(s: Session, tenant_id: int, sub_id: int, state: str | None = None,
               limit: int = 50, before_id: int | None = None) -> list[DeliveryRow]:
    q = (select(WebhookDelivery, WebhookEvent.type, WebhookEvent.event_id)
         .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
         .where(WebhookDelivery.tenant_id == tenant_id,
                WebhookDelivery.subscription_id == sub_id))
    if state:
        q = q.where(WebhookDelivery.state == state)
    if before_id:
        q = q.where(WebhookDelivery.id < before_id)
    rows = s.execute(q.order_by(WebhookDelivery.id.desc()).limit(limit)).all()
    return [DeliveryRow(d, t, e) for d, t, e in rows]


def counts(s: Session, tenant_id: int) -> dict[tuple[int, str], int]:
    rows = s.execute(select(WebhookDelivery.subscription_id, WebhookDelivery.state,
                            func.count()).where(WebhookDelivery.tenant_id == tenant_id)
                     .group_by(WebhookDelivery.subscription_id, WebhookDelivery.state)).all()
    return {(sub, state): n for sub, state, n in rows}


def delivery(s: Session, tenant_id: int, delivery_id: int) -> WebhookDelivery:
    d = s.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                               WebhookDelivery.tenant_id == tenant_id))
    if d is None:
        raise DeliveryNotFound(f"no webhook delivery {delivery_id} in your tenant")
    return d


def delivery_row(s: Session, tenant_id: int, delivery_id: int) -> DeliveryRow:
    d = delivery(s, tenant_id, delivery_id)
    event = s.get(WebhookEvent, d.event_id)
    assert event is not None
    return DeliveryRow(d, event.type, event.event_id)


def attempts(s: Session, delivery_id: int) -> list[WebhookAttempt]:
    return list(s.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
                          .order_by(WebhookAttempt.number)))


def replay(d: WebhookDelivery, now: datetime) -> None:
    """Deliver again now, with a fresh 24-h retry window (the log keeps the old attempts)."""
    d.state, d.next_attempt_at, d.leased_until = "pending", now, None
    d.retry_since, d.delivered_at = now, None


# ---- the dispatcher ----

def fan_out(s: Session, now: datetime, batch: int = FAN_OUT_BATCH) -> int:
    """Turn new events into one delivery per active subscription wanting them; returns
    the number of deliveries made. Reads only the events' ids, tenants and types (not their
    payloads) and marks them with one UPDATE: most events of a busy contact center go to
    no subscription at all."""
    events = s.execute(select(WebhookEvent.id, WebhookEvent.tenant_id, WebhookEvent.type)
                       .where(WebhookEvent.fanned_out_at.is_(None))
                       .order_by(WebhookEvent.id).limit(batch)).all()
    if not events:
        return 0
    tenants = {e.tenant_id for e in events}
    subs = s.execute(select(WebhookSubscription.id, WebhookSubscription.tenant_id,
                            WebhookSubscription.events)
                     .where(WebhookSubscription.tenant_id.in_(tenants),
                            WebhookSubscription.active.is_(True))).all()
    deliveries = [{"tenant_id": sub.tenant_id, "event_id": event.id, "subscription_id": sub.id,
                   "state": "pending", "attempts": 0, "created_at": now, "retry_since": now,
                   "next_attempt_at": now, "last_error": ""}
                  for event in events for sub in subs
                  if sub.tenant_id == event.tenant_id and event.type in (sub.events or [])]
    if deliveries:
        s.execute(insert(cast(Table, WebhookDelivery.__table__)), deliveries)
    s.execute(update(WebhookEvent).where(WebhookEvent.id.in_([e.id for e in events]))
              .values(fanned_out_at=now).execution_options(synchronize_session=False))
    return len(deliveries)


def lease_due(s: Session, now: datetime, lease: timedelta,
              batch: int = DUE_BATCH) -> list[tuple[int, int]]:
    """Deliveries due now (of active subscriptions, not leased): leased until
    ``now + lease``; returns ``(delivery id, attempts so far)`` to queue."""
    due = list(s.scalars(
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at <= now,
               WebhookSubscription.active.is_(True),
               or_(WebhookDelivery.leased_until.is_(None),
                   WebhookDelivery.leased_until <= now))
        .order_by(WebhookDelivery.next_attempt_at).limit(batch)))
    for d in due:
        d.leased_until = now + lease
    return [(d.id, d.attempts) for d in due]


def prune(s: Session, before: datetime, batch: int = FAN_OUT_BATCH) -> int:
    """Forget events fanned out before ``before`` with no pending delivery (their deliveries
    and attempts go with them, ON DELETE CASCADE); returns how many."""
    pending = select(WebhookDelivery.event_id).where(WebhookDelivery.state == "pending")
    ids = list(s.scalars(select(WebhookEvent.id).where(WebhookEvent.fanned_out_at < before,
                                                       WebhookEvent.id.not_in(pending))
                         .order_by(WebhookEvent.id).limit(batch)))
    if ids:
        s.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(ids)))
    return len(ids)


@dataclass(frozen=True)
class Work:
    """What the delivery job needs, read in one go."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str
    event_uuid: str
    event_type: str
    created_at: datetime
    tenant: str
    data: dict[str, Any]


def work(s: Session, delivery_id: int, attempt: int) -> Work | None:
    """The delivery's work if it still wants attempt number ``attempt + 1``."""
    row = s.execute(
        select(WebhookDelivery, WebhookSubscription, WebhookEvent, Tenant.domain)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .join(Tenant, Tenant.id == WebhookDelivery.tenant_id)
        .where(WebhookDelivery.id == delivery_id)).first()
    if row is None:
        return None
    d, sub, event, domain = row
    if d.state != "pending" or d.attempts != attempt or not sub.active:
        return None
    return Work(d.id, sub.id, sub.url, sub.secret, event.event_id, event.type,
                event.created_at, domain, dict(event.payload))


def claim_result(s: Session, delivery_id: int, attempt: int) -> WebhookDelivery | None:
    """The delivery, if this job's attempt is still the current one (compare-and-set)."""
    res = s.execute(update(WebhookDelivery)
                    .where(and_(WebhookDelivery.id == delivery_id,
                                WebhookDelivery.attempts == attempt,
                                WebhookDelivery.state == "pending"))
                    .values(attempts=attempt + 1))
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return s.get(WebhookDelivery, delivery_id)


def log_attempt(s: Session, delivery_id: int, number: int, at: datetime, status: int | None,
                error: str, duration_ms: int, excerpt: str) -> None:
    s.add(WebhookAttempt(delivery_id=delivery_id, number=number, at=at, status_code=status,
                         error=error[:300], duration_ms=duration_ms, response_excerpt=excerpt))
