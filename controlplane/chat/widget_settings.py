"""A tenant's chat widgets: save, list, find by public key, and what a visitor is shown.

A widget is created with a random public ``key`` (in the site's ``<script data-key>``) and
a random ``identity_secret`` (the site signs known customers with it: :func:`identified`).
:func:`save` checks what the schema cannot (the queue is the tenant's, hours make sense)
and raises ``InvalidFields`` naming each field, as every admin form. :func:`public_config`
is what the widget loads: looks, the greeting for this visitor's kind, the pre-chat
fields, open or not now, the survey; never the secret, the queue or the origins.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.admin.exceptions import FieldIssue, InvalidFields
from controlplane.chat import hours as opening
from controlplane.chat.exceptions import ChatNotFound
from controlplane.ivr.calendar_store import calendars
from controlplane.models import Tenant
from controlplane.models.acd import Queue
from controlplane.models.chat_widgets import FORM_FIELDS, ChatWidget

DEFAULT_FIELDS = {"name": "optional", "email": "optional", "phone": "off"}


def new_key() -> str:
    return "cw_" + secrets.token_urlsafe(18)


def widgets(s: Session, tenant_id: int) -> list[ChatWidget]:
    return list(s.scalars(select(ChatWidget).where(ChatWidget.tenant_id == tenant_id)
                          .order_by(ChatWidget.id)))


def widget(s: Session, tenant_id: int, widget_id: int) -> ChatWidget:
    row = s.get(ChatWidget, widget_id)
    if row is None or row.tenant_id != tenant_id:
        raise ChatNotFound(f"chat widget {widget_id} not found")
    return row


def by_key(s: Session, key: str) -> ChatWidget:
    """The active widget whose public key is ``key`` (any tenant: the key says which)."""
    row = s.scalar(select(ChatWidget).where(ChatWidget.key == key))
    if row is None or not row.active:
        raise ChatNotFound("no such chat widget")
    return row


def save(s: Session, tenant_id: int, row: ChatWidget | None, values: dict[str, Any]) -> ChatWidget:
    """Create (``row`` None) or change a widget from the given ``values`` (schema-checked)."""
    issues: list[FieldIssue] = []
    if row is None:
        row = ChatWidget(tenant_id=tenant_id, key=new_key(),
                         identity_secret=secrets.token_hex(32), name="", origins=[],
                         greetings={}, form_fields=dict(DEFAULT_FIELDS), hours=None)
        if not values.get("name"):
            issues.append(FieldIssue("name", "required"))
    if "queue_id" in values and values["queue_id"] is not None:
        queue = s.get(Queue, values["queue_id"])
        if queue is None or queue.tenant_id != tenant_id:
            issues.append(FieldIssue("queue_id", "no such queue in this tenant"))
    hours = values.get("hours")
    if hours:
        issues += [FieldIssue(f, m) for f, m in opening.problems(hours)]
    if issues:
        raise InvalidFields(issues)
    for name in ("name", "queue_id", "title", "color", "survey", "active"):
        if name in values and (values[name] is not None or name == "queue_id"):
            setattr(row, name, values[name])
    if values.get("origins") is not None:
        row.origins = sorted({o.rstrip("/").lower() for o in values["origins"]})
    if values.get("greetings") is not None:
        row.greetings = {k: v for k, v in values["greetings"].items() if v}
    if values.get("form_fields") is not None:
        row.form_fields = {k: values["form_fields"].get(k, DEFAULT_FIELDS[k]) for k in FORM_FIELDS}
    if "hours" in values:
        row.hours = dict(hours) if hours else None
    s.add(row)
    s.flush()
    return row


def as_json(row: ChatWidget, *, secret: bool = False) -> dict[str, Any]:
    """A widget for the admin API (the identity secret only when asked: it is shown once
    in the page that created it and on demand)."""
    out = {"id": row.id, "key": row.key, "name": row.name, "queue_id": row.queue_id,
           "origins": list(row.origins), "title": row.title, "color": row.color,
           "greetings": dict(row.greetings), "form_fields": {**DEFAULT_FIELDS, **row.form_fields},
           "hours": row.hours, "survey": row.survey, "active": row.active}
    if secret:
        out["identity_secret"] = row.identity_secret
    return out


def origin_allowed(row: ChatWidget, origin: str | None) -> bool:
    """A browser's ``Origin`` is one of the widget's sites (none sent: not a cross-site
    browser request, nothing for CORS to protect)."""
    if not origin:
        return True
    return origin.rstrip("/").lower() in row.origins


def sign(secret: str, customer_id: str) -> str:
    """What the website puts in ``identity.hash`` (documented on the admin page)."""
    return hmac.new(secret.encode(), customer_id.encode(), hashlib.sha256).hexdigest()


def identified(row: ChatWidget, customer_id: str, given_hash: str) -> bool:
    return hmac.compare_digest(sign(row.identity_secret, customer_id), given_hash)


def is_open(s: Session, row: ChatWidget, now: datetime) -> bool:
    if not row.hours:
        return True
    tenant = s.get_one(Tenant, row.tenant_id)
    return opening.is_open(row.hours, now, tenant.time_zone,
                           calendars(s, row.tenant_id) if row.hours.get("calendars") else {})


def public_config(s: Session, row: ChatWidget, kind: str, now: datetime) -> dict[str, Any]:
    """What the widget on a website loads (no secrets, no queue, no origins)."""
    return {"title": row.title or row.name, "color": row.color,
            "greeting": row.greetings.get(kind, ""), "kind": kind,
            "fields": {**DEFAULT_FIELDS, **row.form_fields}, "open": is_open(s, row, now),
            "survey": row.survey}
