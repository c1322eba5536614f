"""Webhook events written in the transaction of the change they report (the outbox).

Every producer (the call-record writer, the recording job, the ACD's status log, the
dialer's attempt store) calls :func:`add` with the session of ITS transaction: the event
row commits or rolls back with the change, so no event is lost between commit and queue
and none reports a change that did not happen. The daemon's dispatcher
(:mod:`controlplane.webhooks.dispatch`) later turns each event into deliveries.

Event ids are deterministic where the change has a natural key (:func:`events.event_id`,
e.g. ``("call.ended", call_id)``) and ``INSERT … ON CONFLICT DO NOTHING`` keeps the first:
a change written twice (a restarted daemon writing a call again) is one event.

:func:`call_events` says which call events a record snapshot reaches (pure).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from controlplane.calls.machine import CallState, Phase
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
    table = cast(Table, WebhookEvent.__table__)
    stmt = (sqlite_insert(table) if s.get_bind().dialect.name == "sqlite"
            else pg_insert(table))
    s.execute(stmt.on_conflict_do_nothing(index_elements=["event_id"]), rows)


def emit(s: Session, type_: str, tenant_id: int | None, data: Mapping[str, Any], *,
         key: Sequence[object] = ()) -> None:
    """One event in ``s``'s transaction (a tenant-less change reports nothing)."""
    if tenant_id is not None:
        add(s, [row(type_, tenant_id, data, key=key)])


# ---- calls ----

def call_kinds(state: CallState) -> list[str]:
    """The call events a snapshot has reached: every snapshot means the call started,
    an agent's answer means answered, ENDED means ended."""
    kinds = ["call.started"]
    if state.answered_at is not None:
        kinds.append("call.answered")
    if state.phase == Phase.ENDED:
        kinds.append("call.ended")
    return kinds


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def call_data(state: CallState) -> dict[str, Any]:
    """A call event's ``data``: what the record says at that moment."""
    data: dict[str, Any] = {
        "call_id": state.call_id, "direction": state.direction, "caller": state.caller,
        "callee": state.callee, "did": state.did, "queue": state.queue,
        "phase": state.phase.value, "started_at": _iso(state.started_at),
        "answered_at": _iso(state.answered_at), "agent_endpoint": state.agent_endpoint,
    }
    if state.phase == Phase.ENDED:
        ended = state.ended_at
        data.update({
            "ended_at": _iso(ended),
            "duration_s": (round((ended - state.started_at).total_seconds(), 3)
                           if ended else None),
            "talk_s": (round((ended - state.answered_at).total_seconds(), 3)
                       if ended and state.answered_at else 0.0),
            "hangup_cause": state.hangup_cause, "hangup_by": state.hangup_by,
            "recorded": bool(state.recording),
        })
    return data


def call_rows(state: CallState, done: set[str]) -> list[Row]:
    """Rows for the call events ``state`` reaches that are not in ``done`` (updated)."""
    out: list[Row] = []
    if state.tenant_id is None:
        return out
    for kind in call_kinds(state):
        if kind not in done:
            done.add(kind)
            out.append(row(kind, state.tenant_id, call_data(state), key=(state.call_id,)))
    return out
