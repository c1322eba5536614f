"""The SQL of campaign calls: may an attempt be placed, and its AMD verdicts on the record."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls.campaign_progress import _Progress
from controlplane.db import transaction
from controlplane.dialer.live import PlaceCall
from controlplane.models import CallRecord, Trunk


def refusal(db: sessionmaker[Session], place: PlaceCall) -> str | None:
    """Why ``place`` cannot be dialled (no such trunk, placed before), or None."""
    with db() as s:
        trunk = s.scalar(select(Trunk.id).where(Trunk.tenant_id == place.tenant_id,
                                                Trunk.name == place.trunk))
        if trunk is None:
            return (f"attempt {place.attempt_id!r}: tenant {place.tenant_id} "
                    f"has no trunk {place.trunk!r}")
        if s.scalar(select(CallRecord.id).where(CallRecord.call_id == place.call_id)):
            return f"attempt {place.attempt_id!r} was placed before (call {place.call_id})"
    return None


def save_amd(db: sessionmaker[Session], call_id: str, prog: _Progress) -> None:
    """Both AMD verdicts (ours and Asterisk's ``AMD()``) on the call record."""
    app = prog.app_amd or (None, None, None)
    with transaction(db) as s:
        s.execute(update(CallRecord).where(CallRecord.call_id == call_id).values(
            amd_verdict=prog.amd_verdict, amd_cause=(prog.amd_cause or "")[:64] or None,
            amd_decision_ms=prog.amd_decision_ms, app_amd_status=app[0],
            app_amd_cause=(app[1] or "")[:64] or None, app_amd_ms=app[2]))
