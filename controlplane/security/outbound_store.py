"""The toll-fraud guard's database side: policies, last hour's calls, the audit lines.

Synchronous functions of one session each (the daemon calls them in a thread, the panel
directly). What counts as a call *over a trunk* in the call records: a campaign call, or
any call whose other leg was dialled as ``PJSIP/<number>@<trunk>`` (a desk phone dialling
out, a preview call, an IVR transfer to a number); refused calls never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlplane.models import CallRecord, Trunk
from controlplane.models.outbound import OutboundPolicy
from controlplane.security import audit
from controlplane.security.destinations import DestClass
from controlplane.security.outbound_policy import POLICY_CLASSES, Policy, Verdict

HOUR = timedelta(hours=1)


def load_policy(s: Session, tenant_id: int) -> Policy:
    """The tenant's policy; the defaults when it never saved one."""
    row = s.get(OutboundPolicy, tenant_id)
    if row is None:
        return Policy()
    allowed = frozenset(DestClass(c) for c in row.allowed
                        if c in {p.value for p in POLICY_CLASSES})
    return Policy(region=row.region, allowed=allowed, max_concurrent=row.max_concurrent,
                  max_per_hour=row.max_per_hour)


def save_policy(s: Session, tenant_id: int, policy: Policy, actor: str) -> None:
    """Store the tenant's policy and audit the change (``outbound.policy``)."""
    row = s.get(OutboundPolicy, tenant_id)
    before = load_policy(s, tenant_id).to_json()
    if row is None:
        row = OutboundPolicy(tenant_id=tenant_id)
        s.add(row)
    row.region = policy.region
    row.allowed = [c.value for c in POLICY_CLASSES if c in policy.allowed]
    row.max_concurrent, row.max_per_hour = policy.max_concurrent, policy.max_per_hour
    row.updated_by = actor[:200]
    after = policy.to_json()
    changed = {k: {"from": before[k], "to": v} for k, v in after.items() if before[k] != v}
    audit.record(s, "outbound.policy", tenant_id=tenant_id, actor=actor,
                 detail={"changed": changed})


@dataclass(frozen=True)
class ActiveCall:
    """An unfinished call record, as the guard counts it."""

    call_id: str
    tenant_id: int | None
    direction: str
    trunk: str | None
    dial: str | None


@dataclass(frozen=True)
class Snapshot:
    """What the guard reads from the database before a decision."""

    policy: Policy
    channels: int  # the trunk's
    last_hour: frozenset[str]  # call ids over a trunk of the tenant, last hour
    active: tuple[ActiveCall, ...]  # unfinished, unrefused records of the tenant or the trunk


def snapshot(s: Session, tenant_id: int, trunk: str, now: datetime) -> Snapshot:
    rows = s.execute(select(CallRecord.call_id, CallRecord.tenant_id, CallRecord.direction,
                            CallRecord.trunk, CallRecord.dial_target).where(
        CallRecord.status == "active", CallRecord.refused_reason.is_(None),
        or_(CallRecord.tenant_id == tenant_id, CallRecord.trunk == trunk)))
    return Snapshot(load_policy(s, tenant_id), trunk_channels(s, trunk),
                    frozenset(calls_last_hour(s, tenant_id, now)),
                    tuple(ActiveCall(*row) for row in rows))


def trunk_channels(s: Session, trunk: str) -> int:
    """The trunk's channel count (0 for an unknown trunk: nothing may go out over it)."""
    return s.scalar(select(Trunk.channels).where(Trunk.name == trunk)) or 0


def calls_last_hour(s: Session, tenant_id: int, now: datetime) -> set[str]:
    """Call ids of the tenant's calls over a trunk that started within the hour before
    ``now`` (ended or not; refused ones excluded)."""
    return set(s.scalars(select(CallRecord.call_id).where(
        CallRecord.tenant_id == tenant_id, CallRecord.started_at > now - HOUR,
        CallRecord.refused_reason.is_(None),
        or_(CallRecord.direction == "campaign", CallRecord.dial_target.like("PJSIP/%@%")))))


def live_over_trunk(s: Session, tenant_id: int) -> int:
    """The tenant's unfinished calls over a trunk, from the records (the panel's view)."""
    ids = s.scalars(select(CallRecord.call_id).where(
        CallRecord.tenant_id == tenant_id, CallRecord.status == "active",
        CallRecord.refused_reason.is_(None),
        or_(CallRecord.direction == "campaign", CallRecord.dial_target.like("PJSIP/%@%"))))
    return len(list(ids))


def record_refusal(s: Session, tenant_id: int | None, verdict: Verdict, *, call_id: str,
                   kind: str, actor: str, trunk: str | None) -> None:
    """One ``tollfraud.refused`` line per refused call (severity warning)."""
    dest = verdict.destination
    audit.record(s, "tollfraud.refused", severity="warning", tenant_id=tenant_id, actor=actor,
                 detail={"call_id": call_id, "via": kind, "number": dest.number,
                         "class": dest.primary.value, "code": verdict.code,
                         "reason": verdict.reason, "trunk": trunk})


def record_cap_alert(s: Session, tenant_id: int | None, reason: str, *, actor: str) -> None:
    """The hourly cap was hit: an alert (once per tenant and hour, the caller decides)."""
    audit.record(s, "tollfraud.hourly_cap", severity="alert", tenant_id=tenant_id, actor=actor,
                 detail={"reason": reason})

