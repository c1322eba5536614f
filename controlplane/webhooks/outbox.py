"""Webhook events written in the transaction of the change they report (the outbox).

Every producer (the call-record writer, the recording job, the ACD's status log, the
dialer's attempt store) calls :func:`add` with the session of ITS transaction: the event
row commits or rolls back with the change, so no event is lost between commit and queue
and none reports a change that did not happen. The daemon's dispatcher
(:mod:`controlplane.webhooks.dispatch`) later turns each event into deliveries.

Event ids are deterministic where the change has a natural key (:func:`events.event_id`,
e.g. ``("call.ended", call_id)``) and ``INSERT … ON CONFLICT DO NOTHING`` keeps the first:
a change written twice (a restarted daemon writing a call again) is one event.

:mod:`.call_events` says which call events a record snapshot reaches (kept apart: it
knows the call machine, which the panel must not import).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from controlplane.models.base import utcnow
from controlplane.models.webhooks import WebhookEvent
from controlplane.webhooks.events import EVENT_TYPES, event_id

Row = dict[str, Any]


def row(type_: str, tenant_id: int, data: Mapping[str, Any], *, key: Sequence[object] = (),
        at: datetime | None = None) -> Row:
    """An event row; ``key`` (the changed object's natural key) makes its id deterministic."""
    assert type_ in EVENT_TYPES, type_
    return {"event_id": event_id(type_, *key) if key else str(uuid.uuid4()),
            "tenant_id": tenant_id, "type": type_, "payload": dict(data),
            "created_at": at or utcnow(), "fanned_out_at": None}


def add(s: Session, rows: Iterable[Row]) -> None:
    """Insert ``rows`` in ``s``'s transaction; an event id already stored is kept as it is."""
    rows = [r for r in rows if r.get("tenant_id") is not None]
    if not rows:
        return
    s.execute(_insert(s.get_bind().dialect.name), rows)


@functools.cache
def _insert(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (event_id) DO NOTHING``, built once per dialect."""
    table = cast(Table, WebhookEvent.__table__)
    stmt = sqlite_insert(table) if dialect == "sqlite" else pg_insert(table)
    return stmt.on_conflict_do_nothing(index_elements=["event_id"])


def emit(s: Session, type_: str, tenant_id: int | None, data: Mapping[str, Any], *,
         key: Sequence[object] = ()) -> None:
    """One event in ``s``'s transaction (a tenant-less change reports nothing)."""
    if tenant_id is not None:
        add(s, [row(type_, tenant_id, data, key=key)])
