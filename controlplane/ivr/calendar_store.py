"""A tenant's holiday calendars (named sets of days), as IVR conditions take them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.models.ivr import HolidayCalendarDay


def calendars(session: Session, tenant_id: int) -> dict[str, frozenset[date]]:
    """The tenant's holiday calendars (name → days), as IVR conditions take them."""
    days: dict[str, set[date]] = {}
    for row in session.scalars(select(HolidayCalendarDay).where(
            HolidayCalendarDay.tenant_id == tenant_id)):
        days.setdefault(row.calendar, set()).add(row.day)
    return {name: frozenset(found) for name, found in days.items()}


def add_holiday(session: Session, tenant_id: int, calendar: str, day: date, label: str = "") -> None:
    """Add ``day`` to the tenant's ``calendar`` (idempotent)."""
    exists = session.scalar(select(HolidayCalendarDay).where(
        HolidayCalendarDay.tenant_id == tenant_id, HolidayCalendarDay.calendar == calendar,
        HolidayCalendarDay.day == day))
    if exists is None:
        session.add(HolidayCalendarDay(tenant_id=tenant_id, calendar=calendar, day=day, label=label))
        session.flush()
