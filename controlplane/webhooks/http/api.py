"""``/api/v1/webhooks``: subscriptions (CRUD), their secret, deliveries, replay. Admins only.

* ``GET    /api/v1/webhooks`` — the tenant's subscriptions (no secrets);
* ``POST   /api/v1/webhooks`` — create (201; the answer holds the generated ``secret``);
* ``GET|PATCH|DELETE /api/v1/webhooks/<id>``;
* ``GET    /api/v1/webhooks/<id>/secret`` — show it; ``POST`` — a new one (the old stops);
* ``GET    /api/v1/webhooks/<id>/deliveries?state=dead&limit=50&before=<id>`` — the log;
* ``GET    /api/v1/webhooks/deliveries/<id>`` — one delivery with its attempts;
* ``POST   /api/v1/webhooks/deliveries/<id>/replay`` — deliver again now (any state).

A target URL that may not receive webhooks is 422 ``invalid_target`` (field ``url``).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify

from controlplane.models import Role
from controlplane.webhooks import store
from controlplane.webhooks.events import EVENT_TYPES
from controlplane.webhooks.http import subscriptions as subs
from controlplane.webhooks.http.subscriptions import bp
from controlplane.webhooks.schemas import DeliveriesQuery, WebhookCreate, WebhookUpdate
from web.auth import current_user, login_required
from web.services import services
from web.validation import validated


@bp.get("/api/v1/webhooks")
@login_required(Role.ADMIN)
@validated()
def api_list() -> Any:
    with services().sessions() as s:
        rows = store.subscriptions(s, current_user().tenant_id)
        return jsonify({"webhooks": [subs.sub_json(s, r) for r in rows],
                        "event_types": list(EVENT_TYPES)})


@bp.post("/api/v1/webhooks")
@login_required(Role.ADMIN)
@validated(body=WebhookCreate)
def api_create(body: WebhookCreate) -> Any:
    doc = subs.create(body.url, body.events, body.description, body.active)
    return jsonify(doc), 201


@bp.get("/api/v1/webhooks/<int:sub_id>")
@login_required(Role.ADMIN)
@validated()
def api_read(sub_id: int) -> Any:
    with services().sessions() as s:
        return jsonify(subs.sub_json(s, store.subscription(s, current_user().tenant_id, sub_id)))


@bp.patch("/api/v1/webhooks/<int:sub_id>")
@login_required(Role.ADMIN)
@validated(body=WebhookUpdate)
def api_update(sub_id: int, body: WebhookUpdate) -> Any:
    return jsonify(subs.update(sub_id, body.given()))


@bp.delete("/api/v1/webhooks/<int:sub_id>")
@login_required(Role.ADMIN)
@validated()
def api_delete(sub_id: int) -> Any:
    subs.delete(sub_id)
    return jsonify({"deleted": sub_id})


@bp.get("/api/v1/webhooks/<int:sub_id>/secret")
@login_required(Role.ADMIN)
@validated()
def api_secret(sub_id: int) -> Any:
    return jsonify({"secret": subs.secret(sub_id, regenerate=False)})


@bp.post("/api/v1/webhooks/<int:sub_id>/secret")
@login_required(Role.ADMIN)
@validated()
def api_regenerate(sub_id: int) -> Any:
    return jsonify({"secret": subs.secret(sub_id, regenerate=True)})


@bp.get("/api/v1/webhooks/<int:sub_id>/deliveries")
@login_required(Role.ADMIN)
@validated(query=DeliveriesQuery)
def api_deliveries(sub_id: int, query: DeliveriesQuery) -> Any:
    tid = current_user().tenant_id
    with services().sessions() as s:
        store.subscription(s, tid, sub_id)  # 404 for another tenant's
        rows = store.deliveries(s, tid, sub_id, query.state, query.limit, query.before)
        return jsonify({"deliveries": [subs.delivery_json(r) for r in rows]})


@bp.get("/api/v1/webhooks/deliveries/<int:delivery_id>")
@login_required(Role.ADMIN)
@validated()
def api_delivery(delivery_id: int) -> Any:
    with services().sessions() as s:
        row = store.delivery_row(s, current_user().tenant_id, delivery_id)
        return jsonify(subs.delivery_json(row, attempts=store.attempts(s, delivery_id)))


@bp.post("/api/v1/webhooks/deliveries/<int:delivery_id>/replay")
@login_required(Role.ADMIN)
@validated()
def api_replay(delivery_id: int) -> Any:
    d = subs.replay(delivery_id)
    return jsonify({"id": d.id, "state": d.state,
                    "next_attempt_at": d.next_attempt_at.isoformat()
                    if d.next_attempt_at else None})
