"""Done means (issue 15): the control plane stopped for a measured interval inside service hours
is recorded by the probes, lowers the period's availability by that interval (to the probes'
resolution) and opens a Critical incident with its clocks running.

The prober runs as its own process (``centrala sla prober``, here every 2 s) next to the
panel (its login probe needs one) and the session's control plane; the demo tenant is set to
Premium (24×7: every second is inside service hours). The "outside service hours changes
nothing" half is a pure test (tests/unit/sla/test_sla_downtime.py). Leaves the platform as
found: the prober and a panel it started are stopped, the SLA rows it made deleted.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from helpers import until
from sqlalchemy import delete, select

from controlplane import stack
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.health import check_ari
from controlplane.models import Tenant
from controlplane.models.sla import SlaIncident, SlaSettings
from controlplane.models.sla_probes import SlaProbeRun
from controlplane.procs.programs import centrala
from controlplane.seed import DEMO_DOMAIN
from controlplane.sla import service, terms
from controlplane.sla.calendar import Level
from controlplane.sla.probes import HEARTBEAT_STALE_S
from controlplane.sla.store import incident_facts

pytestmark = pytest.mark.integration

EVERY_S = 2
OUTAGE_S = 12.0


@pytest.fixture
def probed(platform, monkeypatch):  # type: ignore[no-untyped-def]
    settings = platform.settings
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        assert tenant is not None
        tenant_id = tenant.id
        had_settings = s.get(SlaSettings, tenant_id) is not None
        if not had_settings:
            s.add(SlaSettings(tenant_id=tenant_id, level=Level.PREMIUM.value,
                              monthly_fee=Decimal("1000.00"), support_email=""))
        else:
            s.get(SlaSettings, tenant_id).level = Level.PREMIUM.value
    started_web = stack.pid_alive(settings, "web") is None
    if started_web:
        stack.spawn(settings, "web", centrala("web"))
    stack.stop_process(settings, "prober")  # one a supervisor left, at the default interval
    monkeypatch.setenv("CENTRALA_SLA_PROBE_INTERVAL_S", str(EVERY_S))
    # the call probes (off by default; test_sla_call_probes_live) take longer than 2 s rounds
    monkeypatch.setenv("CENTRALA_SLA_CALL_PROBES", "0")
    stack.spawn(settings, "prober", centrala("sla", "prober"))
    try:
        yield factory, tenant_id
    finally:
        stack.stop_process(settings, "prober")
        if started_web:
            stack.stop_process(settings, "web")
        with transaction(factory) as s:
            s.execute(delete(SlaProbeRun))
            s.execute(delete(SlaIncident).where(SlaIncident.source == "probe"))
            if not had_settings:
                s.execute(delete(SlaSettings).where(SlaSettings.tenant_id == tenant_id))
        engine.dispose()


def _last_ok(factory, probe: str, after: datetime) -> bool | None:  # type: ignore[no-untyped-def]
    with factory() as s:
        return s.scalar(select(SlaProbeRun.ok).where(
            SlaProbeRun.probe == probe, SlaProbeRun.started_at > after)
            .order_by(SlaProbeRun.started_at.desc()).limit(1))


def _ari_ok(settings) -> bool:  # type: ignore[no-untyped-def]
    try:
        return check_ari(settings).ok
    except Exception:  # noqa: BLE001 - not back yet
        return False


def _down_s(factory, function: str, now: datetime) -> int:  # type: ignore[no-untyped-def]
    with factory() as s:
        _, st = service.report(s, DEMO_DOMAIN, now.strftime("%Y-%m"), now=now)
    return st.downtime_by_function.get(function, 0)


def test_a_stopped_control_plane_is_measured_and_opens_a_critical_incident(
        platform, probed) -> None:  # type: ignore[no-untyped-def]
    factory, tenant_id = probed
    start = datetime.now(UTC)
    until(lambda: _last_ok(factory, "controlplane", start) is True
          and _last_ok(factory, "panel_login", start) is True,
          timeout=40, what="both probes passing (panel login and control plane)")
    before = datetime.now(UTC)
    down_before = _down_s(factory, "inbound_call", before)
    login_before = _down_s(factory, "login", before)

    killed = datetime.now(UTC)
    t_kill = time.monotonic()
    platform.kill_controlplane()
    until(lambda: _last_ok(factory, "controlplane", killed) is False, timeout=15,
          what="the prober to record the control plane down")
    # the outage lasts OUTAGE_S: a measured interval, not a wait for a state
    time.sleep(max(0.0, t_kill + OUTAGE_S - time.monotonic()))
    platform.start_controlplane()
    until(lambda: _ari_ok(platform.settings), timeout=30,
          what="the control plane back on ARI")
    measured = time.monotonic() - t_kill
    back = datetime.now(UTC)
    until(lambda: _last_ok(factory, "controlplane", back) is True, timeout=10,
          what="the prober to record the control plane up")

    now = datetime.now(UTC)
    drop = _down_s(factory, "inbound_call", now) - down_before
    # detection lags by the heartbeat's staleness and one round; recovery by one round
    assert measured - HEARTBEAT_STALE_S - 2 * EVERY_S - 1 <= drop <= measured + 2 * EVERY_S, (
        drop, measured)
    # the panel never went down: its login probe's downtime did not move
    assert _down_s(factory, "login", now) == login_before
    with factory() as s:
        _, st = service.report(s, DEMO_DOMAIN, now.strftime("%Y-%m"), now=now)
        assert st.availability.ratio < 1

        incident = s.scalar(select(SlaIncident).where(
            SlaIncident.tenant_id == tenant_id, SlaIncident.source == "probe",
            SlaIncident.opened_at >= killed))
        assert incident is not None, "no incident opened by the probe"
        assert (incident.priority, incident.status, incident.reported_by) == (
            "critical", "open", "probe:controlplane")
        facts, events = incident_facts(s, incident, now)
        zone = s.get(Tenant, tenant_id).time_zone
        clocks = terms.clocks(Level.PREMIUM, facts, zone)
        assert events == [] and facts.opened_at < now < clocks.reaction_due  # running
    print(f"outage measured {measured:.1f} s, availability dropped by {drop} s "
          f"(probe interval {EVERY_S} s)")
