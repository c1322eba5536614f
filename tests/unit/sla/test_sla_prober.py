"""The prober's round (each probe bounded by its own timeout, a result whatever happens) and
its record (rows per covered function; a probe failing twice in a row opens one Critical
incident per tenant with SLA settings, none while one is open). Real database; the probes are stand-ins."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import load_settings
from controlplane.db import transaction
from controlplane.models import Tenant, User
from controlplane.models.outbox import JobOutbox
from controlplane.models.sla import SlaIncident, SlaSettings
from controlplane.models.sla_probes import SlaProbeRun
from controlplane.seed import seed_probes
from controlplane.sla import prober
from controlplane.sla.probes import LOGIN_FILE, PROBE_DOMAIN, Probe, probe_login


def _ok(_settings: object) -> str:
    return "fine"


def _boom(_settings: object) -> str:
    raise RuntimeError("connection refused")


def _hang(_settings: object) -> str:
    time.sleep(2)
    return "too late"


OK = Probe("controlplane", ("inbound_call", "ivr"), 1.0, _ok)
BOOM = Probe("controlplane", ("inbound_call", "ivr"), 1.0, _boom)
HANG = Probe("panel_login", ("login",), 0.3, _hang)


def test_a_round_bounds_each_probe_and_keeps_every_failure(tmp_path: Path) -> None:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    with ThreadPoolExecutor(4) as pool:
        t0 = time.monotonic()
        out = prober.run_round(settings, pool, (BOOM, HANG))
        assert time.monotonic() - t0 < 1.5  # the hanging probe's own 0.3 s, not its 2 s
    assert [(o.probe.name, o.ok) for o in out] == [("controlplane", False), ("panel_login", False)]
    assert out[0].detail == "RuntimeError: connection refused"
    assert out[1].detail == "no answer in 0.3 s" and out[1].duration_ms == 300
    with ThreadPoolExecutor(4) as pool:
        slow_then_fast = prober.run_round(settings, pool, (
            Probe("panel_login", ("login",), 2.0, lambda _s: time.sleep(0.5) or "slow"), OK))
    # each probe's own duration: the fast one did not wait for the slow one
    assert slow_then_fast[0].duration_ms >= 450 and slow_then_fast[1].duration_ms < 300


def test_record_writes_rows_and_opens_one_incident_per_outage(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    with transaction(factory) as s:
        firma = Tenant(domain="firma.example", name="Firma")
        bare = Tenant(domain="bare.example", name="Bez SLA")
        s.add_all([firma, bare])
        s.flush()
        s.add(SlaSettings(tenant_id=firma.id, level="premium", monthly_fee=Decimal("10")))
        firma_id = firma.id
    with ThreadPoolExecutor(2) as pool:
        for n, probe in enumerate((OK, BOOM, OK, BOOM, BOOM, BOOM, OK, BOOM, BOOM)):
            prober.record(factory, prober.run_round(settings, pool, (probe,)), 5)
            if n == 3:  # a failure alone (twice, apart) opened nothing
                with factory() as s:
                    assert s.scalars(select(SlaIncident)).all() == []
    with factory() as s:
        rows = s.scalars(select(SlaProbeRun).order_by(SlaProbeRun.id)).all()
        assert len(rows) == 18 and {r.function for r in rows} == {"inbound_call", "ivr"}
        assert [r.ok for r in rows[::2]] == [True, False, True, False, False, False, True,
                                             False, False]
        assert all(r.interval_s == 5 and r.tenant_id is None for r in rows)
        found = s.scalars(select(SlaIncident)).all()
        # the second failure in a row opened one; the third did not, nor the next outage
        # while that one is still open (not repaired by the operator)
        assert [(i.tenant_id, i.priority, i.source, i.preset, i.reported_by)
                for i in found] == [(firma_id, "critical", "probe", "no_calls",
                                     "probe:controlplane")]
        assert s.scalar(select(JobOutbox.func)) == "controlplane.sla.notify.send_incident_mail"


def test_run_stops_on_the_event(factory: sessionmaker[Session], db_url: str, tmp_path: Path,
                                monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CENTRALA_SLA_PROBE_INTERVAL_S", "1")
    monkeypatch.setattr(prober, "PROBES", (OK,))
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path),
                              "CENTRALA_DATABASE_URL": db_url})
    stop = threading.Event()
    worker = threading.Thread(target=prober.run, args=(settings, stop))
    worker.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with factory() as s:
            if len(s.scalars(select(SlaProbeRun)).all()) >= 4:
                break
        time.sleep(0.1)
    stop.set()
    worker.join(5)
    assert not worker.is_alive()
    with factory() as s:
        assert len(s.scalars(select(SlaProbeRun)).all()) >= 4


def test_seed_probes_is_idempotent_and_keeps_its_password_file(
        factory: sessionmaker[Session], tmp_path: Path) -> None:
    seed_probes(factory, tmp_path)
    first = probe_login(tmp_path)
    assert first[0] == f"probe@{PROBE_DOMAIN}"
    assert (tmp_path / LOGIN_FILE).stat().st_mode & 0o777 == 0o600
    seed_probes(factory, tmp_path)
    assert probe_login(tmp_path) == first
    (tmp_path / LOGIN_FILE).unlink()
    seed_probes(factory, tmp_path)  # a lost file: a new password, the same user
    with factory() as s:
        users = s.scalars(select(User).join(Tenant).where(Tenant.domain == PROBE_DOMAIN)).all()
        assert [(u.login, u.role.value if hasattr(u.role, "value") else u.role)
                for u in users] == [("probe", "agent")]
