"""What the webhook pages and API share: the blueprint, the writes (validated, audited,
tenant-scoped) and the JSON shapes. The secret is never logged nor audited; the API and
the page show it only when asked (and once on creation)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import Blueprint
from sqlalchemy.orm import Session

from controlplane.db import transaction
from controlplane.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription
from controlplane.security import audit
from controlplane.webhooks import store
from controlplane.webhooks.transport import resolve_target
from web.auth import client_address, current_user
from web.services import services
from web.session_cookie import clock

bp = Blueprint("webhooks", __name__)


def check_url(url: str) -> None:
    """422 ``invalid_target`` (field ``url``) unless webhooks may go there."""
    resolve_target(url, services().settings.webhooks_allow_private)


def _audit(s: Session, kind: str, sub: WebhookSubscription, **detail: object) -> None:
    me = current_user()
    audit.record(s, kind, tenant_id=me.tenant_id, actor=me.address, source=client_address(),
                 detail={"webhook": sub.id, "url": sub.url, **detail})


def create(url: str, events: Sequence[str], description: str, active: bool) -> dict[str, Any]:
    check_url(url)
    with transaction(services().sessions) as s:
        sub = store.create(s, current_user().tenant_id, url, events, description, active)
        _audit(s, "webhook.created", sub, events=list(events))
        return sub_json(s, sub, secret=True)


def update(sub_id: int, values: dict[str, Any]) -> dict[str, Any]:
    if values.get("url") is not None:
        check_url(values["url"])
    values = {k: v for k, v in values.items() if v is not None}
    with transaction(services().sessions) as s:
        sub = store.subscription(s, current_user().tenant_id, sub_id)
        store.update_subscription(sub, values)
        _audit(s, "webhook.updated", sub, fields=sorted(values))
        return sub_json(s, sub)


def delete(sub_id: int) -> None:
    with transaction(services().sessions) as s:
        sub = store.subscription(s, current_user().tenant_id, sub_id)
        _audit(s, "webhook.deleted", sub)
        s.delete(sub)


def secret(sub_id: int, regenerate: bool) -> str:
    with transaction(services().sessions) as s:
        sub = store.subscription(s, current_user().tenant_id, sub_id)
        if regenerate:
            store.regenerate_secret(sub)
        _audit(s, "webhook.secret_regenerated" if regenerate else "webhook.secret_shown", sub)
        return sub.secret


def replay(delivery_id: int) -> WebhookDelivery:
    with transaction(services().sessions) as s:
        d = store.delivery(s, current_user().tenant_id, delivery_id)
        store.replay(d, clock_now())
        sub = s.get(WebhookSubscription, d.subscription_id)
        assert sub is not None
        _audit(s, "webhook.replayed", sub, delivery=d.id)
        return d


def clock_now() -> datetime:
    from flask import current_app

    return clock(current_app)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def sub_json(s: Session, sub: WebhookSubscription, *, secret: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": sub.id, "url": sub.url, "events": list(sub.events or []),
        "description": sub.description, "active": sub.active,
        "created_at": _iso(sub.created_at), "consecutive_failures": sub.consecutive_failures,
        "failing_since": _iso(sub.failing_since), "disabled_at": _iso(sub.disabled_at),
        "disabled_reason": sub.disabled_reason or None,
    }
    if secret:
        doc["secret"] = sub.secret
    return doc


def delivery_json(row: store.DeliveryRow | WebhookDelivery, event_type: str = "",
                  event_uuid: str = "",
                  attempts: list[WebhookAttempt] | None = None) -> dict[str, Any]:
    if isinstance(row, store.DeliveryRow):
        d, event_type, event_uuid = row.delivery, row.event_type, row.event_uuid
    else:
        d = row
    doc: dict[str, Any] = {
        "id": d.id, "subscription_id": d.subscription_id, "event_id": event_uuid,
        "event_type": event_type, "state": d.state, "attempts": d.attempts,
        "created_at": _iso(d.created_at), "next_attempt_at": _iso(d.next_attempt_at),
        "delivered_at": _iso(d.delivered_at), "last_status": d.last_status,
        "last_error": d.last_error or None,
    }
    if attempts is not None:
        doc["log"] = [{"number": a.number, "at": _iso(a.at), "status_code": a.status_code,
                       "error": a.error or None, "duration_ms": a.duration_ms,
                       "response_excerpt": a.response_excerpt} for a in attempts]
    return doc
