"""The store reads a period for a tenant and ``centrala sla report`` prints its statement
(real database: SQLite and PostgreSQL).

November 2026, Progres+ (6-22 every day but public holidays: 1 and 11 November), fee
2000.00: service time A = 28 × 16 h = 448 h. The tenant's 4 h outage on 11 November (a
holiday) is outside service hours; the platform's 4 h outage on Sunday 15 November counts
(B = 4 h); the announced window on Friday 20 November 20:00-23:00 is C = 2 h (22-23 is
outside service hours) and the outage inside it is not B. Availability 442/446 = 99.103 %:
below 99.5 %, a 5 % credit (100.00), claimed on 1 December. The Critical incident of the
15th (reacted 10:30, due 15:30, repaired 18:00) is 2 full hours late: 2 × 1 % = 40.00.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from controlplane.cli import main
from controlplane.db import transaction
from controlplane.models import Tenant
from controlplane.models.sla import (
    SlaClaim,
    SlaDowntime,
    SlaIncident,
    SlaIncidentEvent,
    SlaMaintenance,
    SlaSettings,
)
from controlplane.sla import service, store, terms

W = ZoneInfo("Europe/Warsaw")
NOV = terms.month_period(2026, 11, "Europe/Warsaw")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=W)  # type: ignore[misc]


@pytest.fixture
def filled(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(factory) as s:
        firma = Tenant(domain="firma.example", name="Firma", time_zone="Europe/Warsaw")
        other = Tenant(domain="inna.example", name="Inna", time_zone="Europe/Warsaw")
        s.add_all([firma, other])
        s.flush()
        s.add(SlaSettings(tenant_id=firma.id, level="progres_plus",
                          monthly_fee=Decimal("2000.00"), support_email="it@firma.example"))
        s.add_all([
            SlaDowntime(tenant_id=firma.id, function="inbound_call",
                        started_at=at(2026, 11, 11, 10), ended_at=at(2026, 11, 11, 14)),
            SlaDowntime(tenant_id=None, function="outbound_call",
                        started_at=at(2026, 11, 15, 10), ended_at=at(2026, 11, 15, 14)),
            SlaDowntime(tenant_id=other.id, function="login",
                        started_at=at(2026, 11, 16, 10), ended_at=at(2026, 11, 16, 20)),
            SlaDowntime(tenant_id=firma.id, function="login",
                        started_at=at(2026, 11, 20, 21), ended_at=at(2026, 11, 20, 21, 30)),
            SlaMaintenance(tenant_id=None, announced_at=at(2026, 11, 13, 12),
                           starts_at=at(2026, 11, 20, 20), ends_at=at(2026, 11, 20, 23),
                           reason="upgrade"),
            # "announced" after it began: excludes nothing (and nothing was down then)
            SlaMaintenance(tenant_id=firma.id, announced_at=at(2026, 11, 25, 12),
                           starts_at=at(2026, 11, 25, 10), ends_at=at(2026, 11, 25, 11)),
        ])
        incident = SlaIncident(tenant_id=firma.id, priority="critical", title="No outbound calls",
                               opened_at=at(2026, 11, 15, 10, 5), reported_by="jan@firma.example",
                               source="user", status="repaired")
        s.add(incident)
        s.flush()
        s.add_all([
            SlaIncidentEvent(incident_id=incident.id, kind="reacted", at=at(2026, 11, 15, 10, 30)),
            SlaIncidentEvent(incident_id=incident.id, kind="repaired", at=at(2026, 11, 15, 18)),
            SlaClaim(tenant_id=firma.id, period="2026-11", claimed_at=at(2026, 12, 1, 9),
                     claimed_by="jan@firma.example"),
        ])
    return factory


def test_store_reads_the_tenants_and_the_platforms_intervals(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        tenant_id = s.query(Tenant.id).filter_by(domain="firma.example").scalar()
        down = store.downtime(s, tenant_id, NOV, NOV[1])
        assert set(down) == {"inbound_call", "outbound_call", "login"}  # not the other's
        assert store.maintenance(s, tenant_id, NOV) == [(at(2026, 11, 20, 20),
                                                         at(2026, 11, 20, 23))]
        [incident] = store.incidents(s, tenant_id, NOV, NOV[1])
        assert incident.reacted_at == at(2026, 11, 15, 10, 30)
        assert store.failure_reported(s, tenant_id, NOV)
        assert store.claimed_at(s, tenant_id, "2026-11") == at(2026, 12, 1, 9)


def test_statement_of_the_period(filled: sessionmaker[Session]) -> None:
    with filled() as s:
        _tenant, st = service.report(s, "firma.example", "2026-11", at(2026, 12, 4, 12))
    a = st.availability
    assert (a.service, a.down, a.maintenance) == (448 * 3600, 4 * 3600, 2 * 3600)
    assert a.percent == Decimal("99.103")
    assert st.downtime_by_function == {"inbound_call": 0, "login": 0,
                                       "outbound_call": 4 * 3600}
    assert (st.credit_percent, st.credit_eligible, st.credit) == (5, True, Decimal("100.00"))
    assert [p.amount for p in st.penalties] == [Decimal("20.00") * 2]
    assert st.penalties_total == Decimal("40.00")


@pytest.fixture
def env(filled: sessionmaker[Session], db_url: str, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setenv("CENTRALA_DATABASE_URL", db_url)
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(tmp_path / "runtime"))


@pytest.mark.usefixtures("env")
def test_cli_prints_the_statement_as_json_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sla", "report", "--tenant", "firma.example", "--period", "2026-11",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["availability_percent"] == "99.103" and data["guaranteed_percent"] == "99.5"
    assert data["downtime_by_function"]["outbound_call"] == 4 * 3600
    assert data["credit"] == {"percent": 5, "eligible": True, "amount": "100.00"}
    assert data["penalties_total"] == "40.00"
    assert data["penalties"][0]["repair_due"] == "2026-11-15T15:30:00+01:00"
    assert main(["sla", "report", "--tenant", "firma.example", "--period", "2026-11"]) == 0
    out = capsys.readouterr().out
    assert "availability: 99.103 % (guaranteed 99.5 %)" in out
    assert "outbound_call: 4.00 h down" in out and "penalties: 40.00" in out


@pytest.mark.usefixtures("env")
def test_cli_refuses_unknown_tenants_unset_levels_and_bad_periods(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sla", "report", "--tenant", "nowhere.example", "--period", "2026-11"]) == 2
    assert "no tenant 'nowhere.example'" in capsys.readouterr().err
    assert main(["sla", "report", "--tenant", "inna.example", "--period", "2026-11"]) == 2
    assert "has no SLA settings" in capsys.readouterr().err
    assert main(["sla", "report", "--tenant", "firma.example", "--period", "2026-13"]) == 2
    assert "period must be YYYY-MM" in capsys.readouterr().err
