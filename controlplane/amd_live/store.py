"""The live AMD room's SQL: a probe call kept as a call record with both detectors' verdicts.

Campaign calls keep their AMD verdicts through the campaign store
(:mod:`controlplane.calls.campaign_store`); this is for the probe calls of
:mod:`controlplane.amd_live.probe` (``bench/amd_live.py``, the integration tests).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.amd_live.result import LiveAmdResult
from controlplane.calls.machine import Phase
from controlplane.db import transaction
from controlplane.models import CallRecord


def save_probe(factory: sessionmaker[Session], call_id: str, tenant_id: int | None,
                   number: str, trunk: str, answered_at: datetime, ended_at: datetime,
                   result: LiveAmdResult) -> None:
    """Record an outbound AMD call with both detectors' verdicts (idempotent by call id)."""
    with transaction(factory) as s:
        row = s.scalar(select(CallRecord).where(CallRecord.call_id == call_id))
        if row is None:
            row = CallRecord(call_id=call_id, caller_channel=call_id, direction="outbound",
                             started_at=answered_at)
            s.add(row)
        row.tenant_id, row.callee, row.trunk = tenant_id, number, trunk
        row.platform_answered_at = row.answered_at = answered_at
        row.ended_at = ended_at
        row.duration_s = row.billsec_s = row.carrier_billsec_s = round(
            (ended_at - answered_at).total_seconds(), 3)
        row.hangup_by, row.hangup_cause, row.hangup_cause_txt = "system", 16, "Normal Clearing"
        row.phase, row.status = Phase.ENDED.value, "ended"
        row.amd_verdict, row.amd_cause = result.centrala.value, result.cause
        row.amd_decision_ms = result.decision_ms
        row.app_amd_status, row.app_amd_cause = result.app_amd_status, result.app_amd_cause
        row.app_amd_ms = result.app_amd_ms
