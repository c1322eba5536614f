"""Probe results feed the availability report (real database: SQLite and PostgreSQL).

Premium (24×7), December 2026 measured until 3 December 12:00 UTC: the platform's heartbeat
probe fails 10:00-10:30 on the 2nd (1800 s), the tenant's own login probe fails 11:00-11:10
(600 s); another tenant's failure and an operator-entered outage overlapping the first one
are not counted twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.models import Tenant
from controlplane.models.sla import SlaDowntime, SlaSettings
from controlplane.models.sla_probes import SlaProbeRun
from controlplane.sla import probe_store, service

DAY = datetime(2026, 12, 2, tzinfo=UTC)
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _series(probe: str, function: str, tenant: int | None, down: tuple[int, int]) -> list[SlaProbeRun]:
    """Every minute from 00:00 on the 2nd until NOW; failing in ``down`` (minutes of the 2nd)."""
    rows, minute = [], 0
    while DAY + timedelta(minutes=minute) < NOW:
        rows.append(SlaProbeRun(probe=probe, function=function, tenant_id=tenant,
                                started_at=DAY + timedelta(minutes=minute),
                                ok=not down[0] <= minute < down[1], duration_ms=5,
                                interval_s=60))
        minute += 1
    return rows


def test_probe_downtime_lowers_the_tenants_availability(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        firma = Tenant(domain="firma.example", name="Firma", time_zone="Europe/Warsaw")
        other = Tenant(domain="inna.example", name="Inna", time_zone="Europe/Warsaw")
        s.add_all([firma, other])
        s.flush()
        s.add(SlaSettings(tenant_id=firma.id, level="premium", monthly_fee=Decimal("1000")))
        probe_store.write(s, _series("controlplane", "inbound_call", None, (600, 630)))
        probe_store.write(s, _series("panel_login", "login", firma.id, (660, 670)))
        probe_store.write(s, _series("panel_login", "login", other.id, (0, 700)))
        s.add(SlaDowntime(tenant_id=None, function="inbound_call", source="operator",
                          started_at=DAY + timedelta(minutes=620),
                          ended_at=DAY + timedelta(minutes=640)))
    with factory() as s:
        _, st = service.report(s, "firma.example", "2026-12", now=NOW)
        assert st.downtime_by_function == {"inbound_call": 2400, "login": 600}
        assert st.availability.down == 3000
        assert probe_store.last_ok(s, "controlplane") is True
        assert probe_store.last_ok(s, "outbound_call") is None


def test_a_prober_that_stopped_reads_as_down(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        firma = Tenant(domain="firma.example", name="Firma", time_zone="Europe/Warsaw")
        s.add(firma)
        s.flush()
        s.add(SlaSettings(tenant_id=firma.id, level="premium", monthly_fee=Decimal("1000")))
        probe_store.write(s, [SlaProbeRun(probe="controlplane", function="ivr", tenant_id=None,
                                          started_at=DAY, ok=True, interval_s=60)])
    with factory() as s:
        _, st = service.report(s, "firma.example", "2026-12", now=DAY + timedelta(hours=1))
        assert st.downtime_by_function == {"ivr": 3540}  # vouched for the first minute only
