"""The call events of webhooks (``call.started``, ``call.answered``, ``call.ended``) from
the call-record writer's snapshots (:mod:`controlplane.calls.record_writer`).

Apart from :mod:`.outbox` because it knows the call machine's state, which the panel's
modules (importing the outbox through the domain stores) must not import.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controlplane.calls.machine import CallState, Phase, carrier_billsec, transfer_carrier_billsec
from controlplane.webhooks.outbox import Row, row


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
            # what the carrier bills: the caller's leg, and the numbers a transfer reached
            "carrier_billsec_s": carrier_billsec(state),
            "transfer_carrier_billsec_s": transfer_carrier_billsec(state),
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
