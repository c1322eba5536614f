"""``/sla``: the tenant's availability this month and its incidents, admins only, in Polish
and English, one tenant's rows only (platform-wide downtime counts for everyone)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import Tenant
from controlplane.models.sla import SlaDowntime, SlaIncident, SlaIncidentEvent, SlaSettings

from .conftest import POLSKA_DOMAIN


@pytest.fixture
def polska_sla(app, world, clock):  # type: ignore[no-untyped-def]
    """Premium for the Polish tenant; now is the 15th at noon (Warsaw) of the clock's month;
    a 90 min platform-wide outage and a 30 min one of the acme tenant on the 10th; one
    Critical incident reported on the 10th, reacted at once, not repaired."""
    zone = ZoneInfo("Europe/Warsaw")
    local = clock.now.astimezone(zone).replace(day=15, hour=12, minute=0, second=0,
                                               microsecond=0)
    clock.now = local
    tenth = local.replace(day=10, hour=9)
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        polska = s.scalar(select(Tenant).where(Tenant.domain == POLSKA_DOMAIN))
        s.add(SlaSettings(tenant_id=polska.id, level="premium", monthly_fee=Decimal("1000"),
                          support_email="it@polska.example"))
        s.add_all([
            SlaDowntime(tenant_id=None, function="inbound_call", started_at=tenth,
                        ended_at=tenth + timedelta(minutes=90)),
            SlaDowntime(tenant_id=world.acme_tenant, function="login", started_at=tenth,
                        ended_at=tenth + timedelta(minutes=30)),
        ])
        incident = SlaIncident(tenant_id=polska.id, priority="critical",
                               title="Brak połączeń przychodzących", opened_at=tenth,
                               reported_by="szef@polska.example", status="reacted")
        s.add(incident)
        s.flush()
        s.add(SlaIncidentEvent(incident_id=incident.id, kind="reacted", at=tenth))
        tenant_id = polska.id
    yield local
    with transaction(factory) as s:
        s.execute(delete(SlaIncident).where(SlaIncident.tenant_id == tenant_id))
        s.execute(delete(SlaDowntime).where(SlaDowntime.started_at == tenth))
        s.execute(delete(SlaSettings).where(SlaSettings.tenant_id == tenant_id))


def test_without_settings_the_page_says_so_in_polish(login, client) -> None:  # type: ignore[no-untyped-def]
    login("szef@polska.example")
    page = client.get("/sla")
    assert page.status_code == 200
    assert "Poziom SLA nie jest jeszcze ustawiony" in page.get_data(as_text=True)


def test_polish_admin_sees_availability_downtime_and_incidents(
        login, client, polska_sla) -> None:  # type: ignore[no-untyped-def]
    login("szef@polska.example")
    html = client.get("/sla").get_data(as_text=True)
    # Premium, 14.5 days so far = 348 h of service; 1.5 h down: 346.5 / 348 = 99.569 %
    assert "Premium (24 h × 7 dni)" in html and "gwarantowana dostępność 99,9 %" in html
    assert "99,569 %" in html
    assert "Połączenia przychodzące" in html and "1 h 30 min" in html
    assert "Logowanie do panelu" in html  # listed, with 0 (acme's outage is not ours)
    assert "5 % opłaty" in html and "wymaga zgłoszenia awarii" in html
    assert "Brak połączeń przychodzących" in html and "Krytyczny" in html
    assert 'class="alert"' in html  # 2 h repair time long gone, not repaired
    # the chart: 15 days so far, the 10th red (22.5 h of 24: 93.750 %), the others full
    chart = html[html.index('id="sla-chart"'):html.index("</figure>")]
    assert chart.count("<rect") == 15 and chart.count('class="bad"') == 1
    assert "10 " in chart and ": 93,750 %, niedostępność 1 h 30 min" in chart


def test_english_and_roles(login, client, polska_sla) -> None:  # type: ignore[no-untyped-def]
    login("admin@demo.centrala.local")  # an English tenant without settings
    assert "No service level is set" in client.get("/sla").get_data(as_text=True)
    client.post("/logout")
    login("agentka@polska.example")
    assert client.get("/sla").status_code in (302, 403)
