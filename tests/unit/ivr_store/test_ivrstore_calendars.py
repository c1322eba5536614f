"""Tenant holiday calendars: stored per tenant, idempotent, handed to IVR conditions."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from controlplane import ivr_store
from controlplane.db import transaction


def test_calendars_are_per_tenant_and_idempotent(factory: sessionmaker[Session], tenants) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        ivr_store.add_holiday(s, tenants.a, "closures", date(2026, 12, 24), "Christmas Eve")
        ivr_store.add_holiday(s, tenants.a, "closures", date(2026, 12, 24))
        ivr_store.add_holiday(s, tenants.a, "stocktaking", date(2026, 7, 1))
        ivr_store.add_holiday(s, tenants.b, "closures", date(2026, 1, 2))
    with factory() as s:
        a = ivr_store.calendars(s, tenants.a)
        b = ivr_store.calendars(s, tenants.b)
    assert a == {"closures": frozenset({date(2026, 12, 24)}),
                 "stocktaking": frozenset({date(2026, 7, 1)})}
    assert b == {"closures": frozenset({date(2026, 1, 2)})}
