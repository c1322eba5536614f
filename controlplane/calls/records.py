"""Call records in the database: upsert from a machine snapshot, load the unfinished ones.

Every write is keyed by ``call_id`` (unique), so writing the same snapshot twice,
or again after a restart, never creates a second record.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls.machine import CallState, Phase, carrier_billsec
from controlplane.db import transaction
from controlplane.models import CallRecord
from controlplane.models.recordings import CallRecording


def save(factory: sessionmaker[Session], state: CallState, recordings_dir: Path) -> None:
    with transaction(factory) as s:
        row = s.scalar(select(CallRecord).where(CallRecord.call_id == state.call_id))
        if row is None:
            row = CallRecord(call_id=state.call_id, caller_channel=state.call_id,
                             direction=state.direction, started_at=state.started_at)
            s.add(row)
        row.tenant_id = state.tenant_id
        row.caller, row.callee = state.caller, state.callee
        row.did, row.trunk, row.agent_endpoint = state.did, state.trunk, state.agent_endpoint
        row.agent_channel = state.agent_channel if state.dial or state.agent_endpoint else None
        row.bridge_id = state.bridge_id if state.answered_at else None
        row.platform_answered_at = state.platform_answered_at
        row.answered_at = state.answered_at
        row.ended_at = state.ended_at
        row.hangup_cause, row.hangup_cause_txt = state.hangup_cause, state.hangup_cause_txt
        row.hangup_by = state.hangup_by
        row.end_estimated = state.end_estimated
        if state.recording:
            row.recording_path = str(recordings_dir / f"{state.recording}.wav")
        if state.ended_at is not None:
            row.duration_s = round((state.ended_at - state.started_at).total_seconds(), 3)
            row.billsec_s = (round((state.ended_at - state.answered_at).total_seconds(), 3)
                             if state.answered_at else 0.0)  # the agent's talk time
            row.carrier_billsec_s = carrier_billsec(state)
        row.phase, row.dial_target, row.queue = state.phase.value, state.dial, state.queue
        row.refused_reason = state.refused_reason
        row.status = "ended" if state.phase == Phase.ENDED else "active"
        s.flush()  # the call record exists before its recording rows point at it
        _recording_rows(s, state, recordings_dir)


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
    )


def _attempt(agent_channel: str | None) -> int:
    """``<call>-agent`` → 0, ``<call>-agent3`` → 3."""
    tail = (agent_channel or "").rpartition("-agent")[2]
    return int(tail) if tail.isdigit() else 0
