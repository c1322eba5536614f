"""Tenant holiday calendars: stored per tenant, idempotent, handed to IVR conditions."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.ivr import calendar_store


def test_calendars_are_per_tenant_and_idempotent(factory: sessionmaker[Session], tenants) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        calendar_store.add_holiday(s, tenants.a, "closures", date(2026, 12, 24), "Christmas Eve")
        calendar_store.add_holiday(s, tenants.a, "closures", date(2026, 12, 24))
        calendar_store.add_holiday(s, tenants.a, "stocktaking", date(2026, 7, 1))
        calendar_store.add_holiday(s, tenants.b, "closures", date(2026, 1, 2))
    with factory() as s:
        a = calendar_store.calendars(s, tenants.a)
        b = calendar_store.calendars(s, tenants.b)
    assert a == {"closures": frozenset({date(2026, 12, 24)}),
                 "stocktaking": frozenset({date(2026, 7, 1)})}
    assert b == {"closures": frozenset({date(2026, 1, 2)})}
