"""Call records in the database: upsert from machine snapshots, load the unfinished ones.

Every write is keyed by ``call_id`` (unique), so writing the same snapshot twice,
or again after a restart, never creates a second record. The daemon writes through
:class:`~controlplane.calls.record_writer.RecordWriter` (behind the calls, in batches);
:func:`save` is the one-call, write-now form.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls.machine import (
    CallState,
    Phase,
    carrier_billsec,
    transfer_carrier_billsec,
)
from controlplane.db import transaction
from controlplane.models import CallRecord
from controlplane.models.recordings import CallRecording


def save(factory: sessionmaker[Session], state: CallState, recordings_dir: Path) -> None:
    """Write one call's snapshot now (one transaction); see :func:`write`."""
    with transaction(factory) as s:
        write(s, [state], recordings_dir)


def write(s: Session, states: Sequence[CallState], recordings_dir: Path) -> None:
    """Upsert the records of ``states`` (at most one per call: the newest) in ``s``'s
    transaction: one ``INSERT … ON CONFLICT (call_id) DO UPDATE`` for all of them (SQLite
    and PostgreSQL), no SELECT and no ORM instance per row, then their recording rows.

    Columns written only at creation: ``direction``, ``started_at``, ``caller_channel``.
    Columns a snapshot may not know (the recording's path, the durations before the end)
    keep what the record holds; the AMD columns are never touched here."""
    if not states:
        return
    rows = [_row(state, recordings_dir) for state in states]
    s.execute(_upsert(s.get_bind().dialect.name, tuple(rows[0])), rows)
    for state in states:
        _recording_rows(s, state, recordings_dir)


_CREATION_ONLY = frozenset({"call_id", "caller_channel", "direction", "started_at"})
_KEPT = frozenset({"recording_path", "duration_s", "billsec_s", "carrier_billsec_s"})


@functools.cache
def _upsert(dialect: str, columns: tuple[str, ...]) -> Any:
    """The upsert statement of :func:`write`, built once per dialect (building it and its
    cache key for every write cost more CPU than running it)."""
    table = cast(Table, CallRecord.__table__)
    stmt = sqlite_insert(table) if dialect == "sqlite" else pg_insert(table)
    update = {name: (func.coalesce(stmt.excluded[name], table.c[name]) if name in _KEPT
                     else stmt.excluded[name])
              for name in columns if name not in _CREATION_ONLY}
    return stmt.on_conflict_do_update(index_elements=["call_id"], set_=update)


def _row(state: CallState, recordings_dir: Path) -> dict[str, Any]:
    ended = state.ended_at
    return {
        "call_id": state.call_id, "caller_channel": state.call_id,
        "direction": state.direction, "started_at": state.started_at,
        "tenant_id": state.tenant_id, "caller": state.caller, "callee": state.callee,
        "did": state.did, "trunk": state.trunk, "agent_endpoint": state.agent_endpoint,
        "agent_channel": state.agent_channel if state.dial or state.agent_endpoint else None,
        "bridge_id": state.bridge_id if state.answered_at else None,
        "platform_answered_at": state.platform_answered_at,
        "answered_at": state.answered_at, "ended_at": ended,
        "hangup_cause": state.hangup_cause, "hangup_cause_txt": state.hangup_cause_txt,
        "hangup_by": state.hangup_by, "end_estimated": state.end_estimated,
        "recording_path": (str(recordings_dir / f"{state.recording}.wav")
                           if state.recording else None),
        "duration_s": (round((ended - state.started_at).total_seconds(), 3)
                       if ended is not None else None),
        "billsec_s": ((round((ended - state.answered_at).total_seconds(), 3)
                       if state.answered_at else 0.0)  # the agent's talk time
                      if ended is not None else None),
        "carrier_billsec_s": carrier_billsec(state) if ended is not None else None,
        "transfer_answered_at": state.number_answered_at,
        "transfer_carrier_billsec_s": transfer_carrier_billsec(state),
        "phase": state.phase.value, "dial_target": state.dial, "queue": state.queue,
        "refused_reason": state.refused_reason,
        "status": "ended" if state.phase == Phase.ENDED else "active",
    }


def _recording_rows(s: Session, state: CallState, recordings_dir: Path) -> None:
    """Recording metadata: a row when the recording starts (unless the on-demand path wrote
    it already), closed when the call ends."""
    if not state.recording:
        return
    rec = s.scalar(select(CallRecording).where(CallRecording.call_id == state.call_id,
                                               CallRecording.name == state.recording))
    if rec is None:
        rec = CallRecording(tenant_id=state.tenant_id, call_id=state.call_id,
                            name=state.recording,
                            path=str(recordings_dir / f"{state.recording}.wav"),
                            policy="always" if state.queue else "direct", queue=state.queue,
                            started_at=state.answered_at or state.started_at)
        s.add(rec)
    if state.phase == Phase.ENDED and rec.status == "recording":
        rec.status, rec.ended_at = "done", state.ended_at
        if state.ended_at is not None:
            rec.duration_s = round((state.ended_at - rec.started_at).total_seconds(), 3)


def start_on_demand(factory: sessionmaker[Session], state: CallState, recordings_dir: Path,
                    started_by: str, at: datetime) -> None:
    """The agent asked for the recording of a call whose queue records on demand."""
    with transaction(factory) as s:
        exists = s.scalar(select(CallRecording.id).where(CallRecording.call_id == state.call_id,
                                                         CallRecording.name == state.call_id))
        if exists is None:
            s.add(CallRecording(tenant_id=state.tenant_id, call_id=state.call_id,
                                name=state.call_id,
                                path=str(recordings_dir / f"{state.call_id}.wav"),
                                policy="on_demand", started_by=started_by[:80],
                                queue=state.queue, started_at=at))


def active(factory: sessionmaker[Session]) -> list[CallRecord]:
    with factory() as s:
        return list(s.scalars(select(CallRecord).where(CallRecord.status == "active")))


def recorded(factory: sessionmaker[Session], call_ids: Sequence[str]) -> set[str]:
    """Which of ``call_ids`` have a record, whatever its status."""
    if not call_ids:
        return set()
    with factory() as s:
        return set(s.scalars(select(CallRecord.call_id).where(CallRecord.call_id.in_(call_ids))))


def state_from_record(row: CallRecord) -> CallState:
    """Rebuild a machine state from a stored record (after a restart)."""
    phase = Phase(row.phase)
    return CallState(
        call_id=row.call_id, phase=phase, tenant_id=row.tenant_id, direction=row.direction,
        caller=row.caller, callee=row.callee, did=row.did, trunk=row.trunk,
        agent_endpoint=row.agent_endpoint, started_at=row.started_at, prompt=None,
        dial=row.dial_target, caller_alive=True, agent_alive=row.answered_at is not None,
        agent_dialed=phase == Phase.DIALING,
        answered_at=row.answered_at, platform_answered_at=row.platform_answered_at,
        ended_at=row.ended_at, hangup_cause=row.hangup_cause,
        hangup_cause_txt=row.hangup_cause_txt, hangup_by=row.hangup_by,
        recording=row.call_id if row.recording_path else None,
        queue=row.queue, attempt=_attempt(row.agent_channel), refused_reason=row.refused_reason,
        # an active record holds the number legs already ended; the one up is metered on
        number_answered_at=row.transfer_answered_at,
        number_billsec=row.transfer_carrier_billsec_s or 0.0,
    )


def _attempt(agent_channel: str | None) -> int:
    """``<call>-agent`` → 0, ``<call>-agent3`` → 3."""
    tail = (agent_channel or "").rpartition("-agent")[2]
    return int(tail) if tail.isdigit() else 0
