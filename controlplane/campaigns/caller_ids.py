"""The caller-ID pool as people keep it: numbers a tenant may present on outbound calls.

A number serves one campaign or every campaign of the tenant (no campaign); ``tainted``
numbers (flagged as spam by carriers or called-party apps) stay listed but are never
presented; ``daily_cap`` limits the calls presented with it per UTC day, counted by the
dialer in ``CallerIdUsage`` (:func:`controlplane.dialer.store.count_usage`), which is
where "today's use" comes from. The dialer reads the pool on every tick
(:func:`controlplane.dialer.store.running_campaigns`), so a change applies at once.

Numbers are typed as people write them and stored in E.164 with their country and the
geocoder's region (English, as contact numbers are: local presence compares the two),
read in the campaign's region or the tenant's. A number is listed once per tenant (the
table's unique key): adding it again is a :class:`Conflict` naming the entry. Nothing
here commits.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from controlplane.admin.store import Page, paged
from controlplane.campaigns import numbers
from controlplane.campaigns.blacklist import campaign_of, region_for
from controlplane.campaigns.exceptions import Conflict, InvalidField, InvalidNumber, NotFound
from controlplane.models.campaigns import CallerIdNumber, CallerIdUsage, Campaign


def _used(s: Session, ids: list[int], day: date) -> dict[int, int]:
    if not ids:
        return {}
    rows = s.execute(select(CallerIdUsage.number_id, CallerIdUsage.count).where(
        CallerIdUsage.number_id.in_(ids), CallerIdUsage.day == day)).all()
    return {number_id: count for number_id, count in rows}


def listing(s: Session, tenant: int, day: date, *, campaign_id: int | None = None,
            q: str | None = None, page: int = 1,
            per_page: int = 50) -> tuple[list[dict[str, Any]], Page]:
    """The tenant's pool, by number, each with its campaign's name and its use on ``day``
    (UTC). ``campaign_id`` picks the numbers serving that campaign (its own and the
    tenant-wide ones)."""
    stmt = (select(CallerIdNumber, Campaign.name)
            .outerjoin(Campaign, Campaign.id == CallerIdNumber.campaign_id)
            .where(CallerIdNumber.tenant_id == tenant))
    if campaign_id is not None:
        stmt = stmt.where(or_(CallerIdNumber.campaign_id.is_(None),
                              CallerIdNumber.campaign_id == campaign_id))
    if q and q.strip():
        digits = "".join(ch for ch in q if ch.isdigit()).lstrip("0")
        like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds: list[ColumnElement[bool]] = [CallerIdNumber.region.ilike(like, escape="\\")]
        if digits:
            conds.append(CallerIdNumber.number.contains(digits))
        stmt = stmt.where(or_(*conds))
    found = paged(s, stmt.order_by(CallerIdNumber.number), page, per_page)
    used = _used(s, [row.id for row, _name in found.rows], day)
    return [to_json(row, name, used.get(row.id, 0)) for row, name in found.rows], found


def number(s: Session, tenant: int, number_id: int) -> CallerIdNumber:
    """The tenant's caller-ID number ``number_id``; :class:`NotFound` otherwise."""
    row = s.get(CallerIdNumber, number_id)
    if row is None or row.tenant_id != tenant:
        raise NotFound(f"no caller-ID number #{number_id} in this tenant")
    return row


def save(s: Session, tenant: int, number_id: int | None, given: dict[str, Any]) -> CallerIdNumber:
    """Create (``number_id`` None: ``number`` required) or change a number: only the
    fields in ``given`` change. :class:`InvalidField` naming the field, :class:`Conflict`
    for a number listed already."""
    row = number(s, tenant, number_id) if number_id is not None else None
    if row is None and not given.get("number"):
        raise InvalidField("number", "required")
    campaign_id = given.get("campaign_id", row.campaign_id if row is not None else None)
    campaign = campaign_of(s, tenant, campaign_id)
    if given.get("number") is not None:
        try:
            found = numbers.normalise(given["number"], region_for(s, tenant, campaign))
        except InvalidNumber as err:
            raise InvalidField("number", err.reason) from err
        same = s.scalar(select(CallerIdNumber).where(CallerIdNumber.tenant_id == tenant,
                                                     CallerIdNumber.number == found.e164))
        if same is not None and same is not row:
            raise Conflict(f"{found.e164} is in the caller-ID pool already (entry #{same.id}): "
                           f"edit that entry instead", details={"field": "number", "id": same.id})
        if row is None:
            row = CallerIdNumber(tenant_id=tenant, number=found.e164)
            s.add(row)
        row.number, row.country, row.region = found.e164, found.country, found.region
    assert row is not None
    row.campaign_id = campaign_id
    if "tainted" in given and given["tainted"] is not None:
        row.tainted = bool(given["tainted"])
    if "daily_cap" in given:
        cap = given["daily_cap"]
        if cap is not None and (not isinstance(cap, int) or cap < 1):
            raise InvalidField("daily_cap", "a whole number of calls, at least 1, or none")
        row.daily_cap = cap
    s.flush()
    return row


def delete(s: Session, tenant: int, number_id: int) -> CallerIdNumber:
    row = number(s, tenant, number_id)
    s.delete(row)
    s.flush()
    return row


def used_today(s: Session, row: CallerIdNumber, day: date) -> int:
    return _used(s, [row.id], day).get(row.id, 0)


def campaign_name(s: Session, row: CallerIdNumber) -> str | None:
    found = s.get(Campaign, row.campaign_id) if row.campaign_id is not None else None
    return found.name if found is not None else None


def to_json(row: CallerIdNumber, campaign: str | None, used: int) -> dict[str, Any]:
    """A number as the API shows it; ``left_today``: calls it may still present today
    (None: no cap; 0 for a tainted number, never presented)."""
    left = None if row.daily_cap is None else max(0, row.daily_cap - used)
    if row.tainted:
        left = 0
    return {"id": row.id, "number": row.number, "country": row.country, "region": row.region,
            "campaign_id": row.campaign_id, "campaign": campaign, "tainted": row.tainted,
            "daily_cap": row.daily_cap, "used_today": used, "left_today": left}
