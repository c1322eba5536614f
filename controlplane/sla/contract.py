"""A tenant's SLA contract in the panel: its terms and its credit claims.

The terms (service level, monthly fee, the support address that also receives incident
reports) are the platform operator's to set: they come from the signed agreement, not from
the tenant. Without them a tenant has no statement (:class:`SlaNotConfigured`).

A credit is owed only when the customer claims it within 30 days of the period's end
(:data:`controlplane.sla.terms.CLAIM_DAYS`, seed §9). A tenant's admin files the claim for
a closed period; the operator grants or refuses it once (a refused claim cannot be filed
again: one claim per tenant and period, the table's unique key). Every change is audited.
Periods are the tenant's calendar months in its own time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.models.sla import SlaClaim, SlaSettings
from controlplane.models.tenancy import Tenant
from controlplane.security import audit
from controlplane.sla import terms
from controlplane.sla.calendar import Level
from controlplane.sla.exceptions import SlaError
from controlplane.sla.service import parse_period


class ClaimRefused(SlaError):
    """A claim that cannot be filed (period not over, window closed, already claimed)."""

    status = 409
    error_id = "claim_refused"


class ClaimDecided(SlaError):
    status = 409
    error_id = "claim_already_decided"


class UnknownClaim(SlaError):
    status = 404
    error_id = "claim_not_found"


def set_terms(s: Session, tenant: Tenant, *, level: Level, monthly_fee: Decimal,
              support_email: str, actor: str, source: str) -> SlaSettings:
    """Create or change the tenant's SLA terms (the operator)."""
    row = s.get(SlaSettings, tenant.id)
    before = None if row is None else {"level": row.level, "monthly_fee": str(row.monthly_fee),
                                        "support_email": row.support_email}
    if row is None:
        row = SlaSettings(tenant_id=tenant.id)
        s.add(row)
    row.level, row.monthly_fee, row.support_email = str(level), monthly_fee, support_email
    after = {"level": row.level, "monthly_fee": str(monthly_fee), "support_email": support_email}
    audit.record(s, "sla.terms.changed", tenant_id=tenant.id, actor=actor, source=source,
                 detail={"before": before, "after": after})
    s.flush()
    return row


def claim_window(label: str, tz: str) -> tuple[datetime, datetime]:
    """When a claim for period ``label`` may be filed: from its end, for 30 days (UTC)."""
    year, month = parse_period(label)
    end = terms.month_period(year, month, tz)[1]
    return end, end + timedelta(days=terms.CLAIM_DAYS)


def file_claim(s: Session, tenant: Tenant, label: str, *, actor: str, source: str,
               now: datetime) -> SlaClaim:
    """A tenant's admin claims the credit of period ``label``."""
    opens, closes = claim_window(label, tenant.time_zone)
    if now < opens:
        raise ClaimRefused(f"period {label} is not over yet: a claim can be filed from its end")
    if now > closes:
        raise ClaimRefused(f"the claim window of period {label} closed "
                           f"{terms.CLAIM_DAYS} days after its end")
    if s.scalar(select(SlaClaim.id).where(SlaClaim.tenant_id == tenant.id,
                                          SlaClaim.period == label)) is not None:
        raise ClaimRefused(f"the credit of period {label} was already claimed")
    row = SlaClaim(tenant_id=tenant.id, period=label, claimed_at=now, claimed_by=actor)
    s.add(row)
    s.flush()
    audit.record(s, "sla.claim.filed", tenant_id=tenant.id, actor=actor, source=source,
                 detail={"claim": row.id, "period": label})
    return row


def decide(s: Session, claim_id: int, status: str, note: str, *, actor: str,
           source: str) -> SlaClaim:
    """The operator grants or refuses a pending claim."""
    row = s.get(SlaClaim, claim_id)
    if row is None:
        raise UnknownClaim(f"no claim {claim_id}")
    if row.status != "pending":
        raise ClaimDecided(f"claim {claim_id} was already {row.status}")
    row.status, row.note = status, note
    audit.record(s, f"sla.claim.{status}", tenant_id=row.tenant_id, actor=actor,
                 source=source, detail={"claim": row.id, "period": row.period})
    s.flush()
    return row


def claims(s: Session, tenant_id: int | None) -> list[SlaClaim]:
    """A tenant's claims (None: every tenant's, for the operator), newest period first."""
    query = select(SlaClaim).order_by(SlaClaim.period.desc(), SlaClaim.id.desc())
    if tenant_id is not None:
        query = query.where(SlaClaim.tenant_id == tenant_id)
    return list(s.scalars(query))
