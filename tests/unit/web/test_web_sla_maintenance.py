"""Maintenance windows: the operator announces one at least the notice ahead (48 h by
default), for one tenant or the platform; the tenant sees it on ``/sla``, in the API and in
a banner on every page once it begins within 48 h; another tenant does not. And the
statement ``GET /api/v1/sla/statement?period=YYYY-MM`` (what ``centrala sla report --json``
prints), admins only, the period named when wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import Tenant
from controlplane.models.sla import SlaMaintenance, SlaSettings

from .conftest import POLSKA_DOMAIN
from .test_web_sla_incidents import PW, operator  # noqa: F401 (a fixture)

WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def windows(app: Flask) -> Iterator[None]:
    yield
    with transaction(app.extensions["centrala"].sessions) as s:
        s.execute(delete(SlaMaintenance).where(SlaMaintenance.reason.like("test:%")))


def _announce(client: Any, csrf: Any, **body: Any) -> Any:
    return client.post("/api/v1/sla/maintenance", json=body,
                       headers={"X-CSRF-Token": csrf(client)})


def test_announce_see_and_banner(client: Any, login: Any, csrf: Any, clock: Any,
                                 operator: str, windows: None) -> None:  # noqa: F811
    now = clock.now.astimezone(WARSAW).replace(hour=12, minute=0, second=0, microsecond=0)
    clock.now = now
    login(operator, PW)
    soon = now + timedelta(hours=10)
    late = _announce(client, csrf, starts_at=soon.isoformat(),
                     ends_at=(soon + timedelta(hours=2)).isoformat(), reason="test:late",
                     tenant=POLSKA_DOMAIN)
    assert late.status_code == 400
    assert late.get_json()["error"]["details"]["field"] == "starts_at"
    naive = _announce(client, csrf, starts_at="2100-06-01T22:00", ends_at="2100-06-01T23:00",
                      reason="test:naive")
    assert naive.status_code == 400 and "starts_at" in naive.get_json()["error"]["message"]
    start = now + timedelta(hours=60)
    ok = _announce(client, csrf, starts_at=start.isoformat(),
                   ends_at=(start + timedelta(hours=2)).isoformat(),
                   reason="test:aktualizacja", tenant=POLSKA_DOMAIN)
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["tenant"] == POLSKA_DOMAIN
    backwards = _announce(client, csrf, starts_at=start.isoformat(),
                          ends_at=(start - timedelta(hours=1)).isoformat(), reason="test:x")
    assert backwards.get_json()["error"]["details"]["field"] == "ends_at"
    client.post("/logout")

    login("szef@polska.example")
    listed = client.get("/api/v1/sla/maintenance").get_json()
    assert listed["notice_hours"] == 48
    assert [w["reason"] for w in listed["windows"]] == ["test:aktualizacja"]
    assert "test:aktualizacja" in client.get("/sla").get_data(as_text=True)
    assert "Zapowiedziane prace serwisowe" not in client.get("/sla").get_data(as_text=True)
    clock.advance(hours=13)  # now it begins within 48 h: the banner on every page
    login("szef@polska.example")  # (the session idled out meanwhile)
    for page in ("/sla", "/sla/incidents", "/agent"):
        html = client.get(page).get_data(as_text=True)
        assert "Zapowiedziane prace serwisowe" in html, page
    assert client.post("/api/v1/sla/maintenance", json={},
                       headers={"X-CSRF-Token": csrf(client)}).status_code == 403
    client.post("/logout")

    login("boss@acme.example")
    assert client.get("/api/v1/sla/maintenance").get_json()["windows"] == []
    assert "test:aktualizacja" not in client.get("/sla").get_data(as_text=True)


def test_the_operator_announces_from_the_page(client: Any, login: Any, csrf: Any, clock: Any,
                                              operator: str, windows: None) -> None:  # noqa: F811
    login(operator, PW)
    page = client.get("/sla/maintenance").get_data(as_text=True)
    assert "Zapowiedz prace serwisowe" in page
    start = (clock.now + timedelta(days=3)).astimezone(WARSAW)
    resp = client.post("/sla/maintenance", data={
        "csrf_token": csrf(client), "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "test:strona", "tenant": ""})
    assert resp.status_code == 302
    assert "test:strona" in client.get("/sla/maintenance").get_data(as_text=True)
    bad = client.post("/sla/maintenance", data={
        "csrf_token": csrf(client), "starts_at": "jutro", "ends_at": "pojutrze",
        "reason": "test:bad"})
    assert bad.status_code == 400


@pytest.fixture
def polska_premium(app: Flask) -> Iterator[None]:
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.domain == POLSKA_DOMAIN))
        s.add(SlaSettings(tenant_id=tid, level="premium", monthly_fee=Decimal("1000")))
    yield
    with transaction(factory) as s:
        s.execute(delete(SlaSettings).where(SlaSettings.tenant_id == tid))


def test_statement(client: Any, login: Any, clock: Any, polska_premium: None) -> None:
    login("szef@polska.example")
    bad = client.get("/api/v1/sla/statement?period=2100-13")
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["parameter"] == "period"
    assert client.get("/api/v1/sla/statement").status_code == 400
    month = clock.now.astimezone(WARSAW)
    got = client.get(f"/api/v1/sla/statement?period={month:%Y-%m}")
    assert got.status_code == 200
    body = got.get_json()
    assert body["tenant"] == POLSKA_DOMAIN and body["level"] == "premium"
    assert body["guaranteed_percent"] == "99.9" and body["credit"]["percent"] == 0
    client.post("/logout")
    login("agentka@polska.example")
    assert client.get(f"/api/v1/sla/statement?period={month:%Y-%m}").status_code == 403
    client.post("/logout")
    login("boss@acme.example")  # no SLA settings: a 404 saying so
    assert client.get(f"/api/v1/sla/statement?period={month:%Y-%m}").get_json()[
        "error"]["id"] == "sla_not_configured"
