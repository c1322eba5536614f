"""The SLA contract: the operator sets a tenant's terms (page and API, audited; tenants
cannot), the tenant's admin claims the last closed month's credit within 30 days (the page's
button and the API; too early, too late and twice are refused with a reason), the operator
grants or refuses it once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import SecurityEvent, Tenant
from controlplane.models.sla import SlaClaim, SlaSettings

from .conftest import POLSKA_DOMAIN
from .test_web_sla_incidents import PW, operator  # noqa: F401 (a fixture)

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def polska(app: Flask) -> Iterator[int]:
    factory = app.extensions["centrala"].sessions
    with factory() as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.domain == POLSKA_DOMAIN))
    assert tid is not None
    yield tid
    with transaction(factory) as s:
        s.execute(delete(SlaClaim).where(SlaClaim.tenant_id == tid))
        s.execute(delete(SlaSettings).where(SlaSettings.tenant_id == tid))


def _api(client: Any, csrf: Any, method: str, url: str, **body: Any) -> Any:
    return client.open(url, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def test_terms_are_the_operators(client: Any, login: Any, csrf: Any, app: Flask, polska: int,
                                 operator: str) -> None:  # noqa: F811
    login("szef@polska.example")
    assert 'id="sla-not-set"' in client.get("/sla").get_data(as_text=True)  # no terms yet
    assert _api(client, csrf, "PUT", f"/api/v1/tenants/{polska}/sla-terms", level="premium",
                monthly_fee="100").status_code == 403
    client.post("/logout")

    login(operator, PW)
    bad = _api(client, csrf, "PUT", f"/api/v1/tenants/{polska}/sla-terms", level="gold",
               monthly_fee="12,5,0")
    assert bad.status_code == 400
    assert {p["field"] for p in bad.get_json()["error"]["details"]["errors"]} \
        == {"level", "monthly_fee"}
    page = client.post(f"/sla/contract/{polska}", data={
        "csrf_token": csrf(client), "level": "progres_plus", "monthly_fee": "abc"})
    assert page.status_code == 422 and 'data-error-for="monthly_fee"' in page.get_data(True)
    ok = client.post(f"/sla/contract/{polska}", data={
        "csrf_token": csrf(client), "level": "progres_plus", "monthly_fee": "1200,50",
        "support_email": "bok@centrala.example"})
    assert ok.status_code == 302
    got = client.get(f"/api/v1/tenants/{polska}/sla-terms").get_json()
    assert got == {"tenant": POLSKA_DOMAIN, "level": "progres_plus", "monthly_fee": "1200.50",
                   "support_email": "bok@centrala.example"}
    assert client.get(f"/api/v1/tenants/{polska + 10_000}/sla-terms").status_code == 404
    with app.extensions["centrala"].sessions() as s:
        assert s.scalar(select(SecurityEvent.id).where(
            SecurityEvent.kind == "sla.terms.changed", SecurityEvent.tenant_id == polska))
    client.post("/logout")
    login("szef@polska.example")
    assert client.get("/api/v1/sla/terms").get_json()["level"] == "progres_plus"
    assert "Progres+" in client.get("/sla").get_data(as_text=True)


def test_a_claim_within_30_days_once_then_decided(client: Any, login: Any, csrf: Any,
                                                  app: Flask, clock: Any, polska: int,
                                                  operator: str) -> None:  # noqa: F811
    login(operator, PW)
    assert _api(client, csrf, "PUT", f"/api/v1/tenants/{polska}/sla-terms", level="premium",
                monthly_fee="1000").status_code == 200
    client.post("/logout")
    # The 10th of a month, Warsaw: last month is closed and its window open.
    local = clock.now.astimezone(WARSAW)
    clock.now = datetime(local.year, local.month, 10, 12, tzinfo=WARSAW).astimezone(UTC)
    this = f"{local.year:04d}-{local.month:02d}"
    last_day = datetime(local.year, local.month, 1, tzinfo=WARSAW) - timedelta(days=1)
    last = f"{last_day.year:04d}-{last_day.month:02d}"

    login("szef@polska.example")
    page = client.get("/sla").get_data(as_text=True)
    assert 'id="sla-claim"' in page and f'value="{last}"' in page
    early = _api(client, csrf, "POST", "/api/v1/sla/claims", period=this)
    assert early.status_code == 409 and "not over" in early.get_json()["error"]["message"]
    filed = client.post("/sla/claims", data={"csrf_token": csrf(client), "period": last})
    assert filed.status_code == 302
    page = client.get("/sla").get_data(as_text=True)
    assert 'id="sla-claim"' not in page and "Oczekuje" in page  # listed, pending
    twice = _api(client, csrf, "POST", "/api/v1/sla/claims", period=last)
    assert twice.status_code == 409 and "already" in twice.get_json()["error"]["message"]
    mine = client.get("/api/v1/sla/claims").get_json()["claims"]
    assert [(c["period"], c["status"]) for c in mine] == [(last, "pending")]
    assert _api(client, csrf, "PATCH", f"/api/v1/sla/claims/{mine[0]['id']}",
                status="granted").status_code == 403
    statement = client.get(f"/api/v1/sla/statement?period={last}").get_json()
    assert statement["tenant"] == POLSKA_DOMAIN
    client.post("/logout")

    login(operator, PW)
    page = client.get(f"/sla/contract/{polska}").get_data(as_text=True)
    assert f'data-claim="{mine[0]["id"]}"' in page
    granted = _api(client, csrf, "PATCH", f"/api/v1/sla/claims/{mine[0]['id']}",
                   status="granted", note="ok")
    assert granted.status_code == 200 and granted.get_json()["status"] == "granted"
    again = _api(client, csrf, "PATCH", f"/api/v1/sla/claims/{mine[0]['id']}", status="refused")
    assert again.status_code == 409
    assert _api(client, csrf, "PATCH", "/api/v1/sla/claims/999999",
                status="refused").status_code == 404
    client.post("/logout")

    # The month before last ended 38 days or more ago: its window is closed.
    before_last = datetime(last_day.year, last_day.month, 1, tzinfo=WARSAW) - timedelta(days=1)
    login("szef@polska.example")
    late = _api(client, csrf, "POST", "/api/v1/sla/claims",
                period=f"{before_last.year:04d}-{before_last.month:02d}")
    assert late.status_code == 409 and "closed" in late.get_json()["error"]["message"]


def test_periods_outside_the_calendar_are_refused(client: Any, login: Any, csrf: Any,
                                                  polska: int) -> None:
    """Year 0 or 9999 matches YYYY-MM but has no month around it (found by the fuzzer)."""
    login("szef@polska.example")
    for period in ("0000-01", "9999-12"):
        got = _api(client, csrf, "POST", "/api/v1/sla/claims", period=period)
        assert got.status_code == 400 and got.get_json()["error"]["id"] == "bad_period", period
        stmt = client.get(f"/api/v1/sla/statement?period={period}")
        assert stmt.status_code in (400, 404), period  # 404: no terms set for this tenant


def test_the_operator_reads_a_tenants_month_and_admins_browse_past_months(
        client: Any, login: Any, csrf: Any, clock: Any, polska: int,
        operator: str) -> None:  # noqa: F811
    login(operator, PW)
    assert _api(client, csrf, "PUT", f"/api/v1/tenants/{polska}/sla-terms", level="progres",
                monthly_fee="500").status_code == 200
    local = clock.now.astimezone(WARSAW)
    this = f"{local.year:04d}-{local.month:02d}"
    page = client.get(f"/sla?tenant={POLSKA_DOMAIN}")
    assert page.status_code == 200 and POLSKA_DOMAIN in page.get_data(as_text=True)
    assert 'id="sla-chart"' in page.get_data(as_text=True)
    assert 'id="sla-claim"' not in page.get_data(as_text=True)  # claiming is the tenant's
    assert client.get("/sla?tenant=nobody.example").status_code == 404
    assert client.get("/sla").status_code == 302  # which tenant? the tenants list
    got = client.get(f"/api/v1/sla/statement?period={this}&tenant={POLSKA_DOMAIN}")
    assert got.status_code == 200 and got.get_json()["tenant"] == POLSKA_DOMAIN
    assert client.get(f"/api/v1/sla/statement?period={this}").status_code == 400
    client.post("/logout")

    login("szef@polska.example")
    assert client.get(f"/api/v1/sla/statement?period={this}&tenant=demo.centrala.local"
                      ).status_code == 400  # another tenant: refused
    last_day = datetime(local.year, local.month, 1, tzinfo=WARSAW) - timedelta(days=1)
    last = f"{last_day.year:04d}-{last_day.month:02d}"
    html = client.get(f"/sla?period={last}").get_data(as_text=True)
    assert 'rel="next"' in html and "Dostępność w miesiącu" in html
    days = client.get(f"/api/v1/sla/statement?period={last}").get_json()["days"]
    assert len(days) == last_day.day and days[0]["date"].endswith("-01")
    html = client.get("/sla?period=2999-01").get_data(as_text=True)  # the future: this month
    assert 'rel="next"' not in html and "Dostępność w tym miesiącu" in html
