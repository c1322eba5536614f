"""Incidents in the panel and ``/api/v1/sla``: reported by any user of a tenant (presets of
the seed's table), deadlines in service hours in the tenant's zone, the operator's clock
events (pausing moves the repair deadline), audit and the mail in the outbox, tenant
isolation and roles, bad input named by field."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import Tenant, User
from controlplane.models.base import utcnow
from controlplane.models.outbox import JobOutbox
from controlplane.models.security import SecurityEvent
from controlplane.models.sla import SlaIncident, SlaSettings
from controlplane.passwords import hash_password
from controlplane.sla import calendar, incidents, notify
from controlplane.tenants import service as tenants

from .conftest import POLSKA_DOMAIN

PW = "operator password 123"
WARSAW = ZoneInfo("Europe/Warsaw")


@pytest.fixture
def operator(app: Flask) -> str:
    created = tenants.create_operator(app.extensions["centrala"].sessions,
                                      f"op-{uuid.uuid4().hex[:6]}@centrala.example",
                                      by="test", now=utcnow())
    with transaction(app.extensions["centrala"].sessions) as s:
        user = s.get(User, created.user_id)
        assert user is not None
        user.password_hash = hash_password(PW)
    return created.address


def friday_evening(start: datetime) -> datetime:
    """The first Friday 17:30 (Warsaw) after ``start`` whose Friday and Monday both are
    working days: the Critical incident of the examples."""
    day = start.astimezone(WARSAW).date() + timedelta(days=1)
    while not (day.weekday() == 4 and calendar.is_working_day(day)
               and calendar.is_working_day(day + timedelta(days=3))):
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 17, 30, tzinfo=WARSAW)


@pytest.fixture
def polska(app: Flask, clock: Any, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The Polish tenant at the level the test's ``level`` marker names (Premium when none),
    its admin and agent with e-mail addresses; now is a Friday 17:30 in Warsaw."""
    marker = request.node.get_closest_marker("level")
    level = marker.args[0] if marker else "premium"
    clock.now = friday_evening(clock.now)
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == POLSKA_DOMAIN))
        s.add(SlaSettings(tenant_id=tenant.id, level=level, monthly_fee=Decimal("1000"),
                          support_email="bok@centrala.example"))
        for user in s.scalars(select(User).where(User.tenant_id == tenant.id)):
            user.email = f"{user.login}@mail.polska.example"
        tid = tenant.id
    yield {"tenant_id": tid, "now": clock.now}
    with transaction(factory) as s:
        s.execute(delete(SlaIncident).where(SlaIncident.tenant_id == tid))
        s.execute(delete(SlaSettings).where(SlaSettings.tenant_id == tid))
        for user in s.scalars(select(User).where(User.tenant_id == tid)):
            user.email = None


def _report(client: Any, csrf: Any, **body: Any) -> Any:
    return client.post("/api/v1/sla/incidents", json=body,
                       headers={"X-CSRF-Token": csrf(client)})


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.parametrize(("level", "reaction", "repair"), [
    # Standard 10×5: 30 min left on Friday, 3.5 h on Monday; repair by the next working day
    ("standard", (3, 11, 30), (3, 18, 0)),
    # Premium 24×7: half an hour and two hours, the same evening
    ("premium", (0, 18, 0), (0, 19, 30)),
])
def test_critical_on_a_friday_evening(app: Flask, client: Any, login: Any, csrf: Any,
                                      clock: Any, level: str, reaction: tuple[int, int, int],
                                      repair: tuple[int, int, int]) -> None:
    factory = app.extensions["centrala"].sessions
    clock.now = friday_evening(clock.now)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == POLSKA_DOMAIN))
        s.add(SlaSettings(tenant_id=tenant.id, level=level, monthly_fee=Decimal("1000")))
        tid = tenant.id
    try:
        login("agentka@polska.example")
        resp = _report(client, csrf, preset="no_calls", description="Nikt nie dzwoni")
        assert resp.status_code == 201, resp.get_json()
        got = resp.get_json()
        assert got["priority"] == "critical" and got["status"] == "open"
        assert got["title"] == "Brak połączeń przychodzących i wychodzących"  # the seed's words
        friday = clock.now

        def at(days: int, hour: int, minute: int) -> datetime:
            return (friday + timedelta(days=days)).replace(hour=hour, minute=minute)

        assert _utc(got["reaction_due"]) == at(*reaction)
        assert _utc(got["repair_due"]) == at(*repair)
        html = client.get(f"/sla/incidents/{got['id']}").get_data(as_text=True)
        assert "Termin reakcji" in html and "Krytyczny" in html
        assert f"{at(*reaction):%H:%M}" in html and f"{at(*repair):%H:%M}" in html
    finally:
        with transaction(factory) as s:
            s.execute(delete(SlaIncident).where(SlaIncident.tenant_id == tid))
            s.execute(delete(SlaSettings).where(SlaSettings.tenant_id == tid))


def test_operator_events_pause_moves_the_repair_deadline_audited_and_mailed(
        app: Flask, client: Any, login: Any, csrf: Any, clock: Any, polska: dict[str, Any],
        operator: str) -> None:
    factory = app.extensions["centrala"].sessions
    with factory() as s:  # incident ids come back after a delete: tell the new mails apart
        old = set(s.scalars(select(JobOutbox.job_id)))
    login("agentka@polska.example")
    incident = _report(client, csrf, preset="routing_down").get_json()
    iid = incident["id"]
    # the agent may not drive the clocks
    assert client.post(f"/api/v1/sla/incidents/{iid}/events", json={"kind": "reacted"},
                       headers={"X-CSRF-Token": csrf(client)}).status_code == 403
    client.post("/logout")
    login(operator, PW)
    hdr = {"X-CSRF-Token": csrf(client)}

    def event(kind: str) -> Any:
        return client.post(f"/api/v1/sla/incidents/{iid}/events", json={"kind": kind,
                                                                       "note": "ok"},
                           headers=hdr)

    clock.advance(minutes=10)
    reacted = event("reacted").get_json()
    assert reacted["status"] == "reacted"
    start = polska["now"] + timedelta(minutes=10)
    assert _utc(reacted["repair_due"]) == start + timedelta(hours=2)  # Premium: 2 h
    clock.advance(minutes=20)
    assert event("paused").get_json()["status"] == "waiting"
    clock.advance(minutes=30)  # the customer answers after half an hour
    resumed = event("resumed").get_json()
    assert resumed["status"] == "reacted"
    assert _utc(resumed["repair_due"]) == start + timedelta(hours=2, minutes=30)
    bad = event("resumed")  # not waiting any more
    assert bad.status_code == 409
    assert bad.get_json()["error"]["details"]["field"] == "kind"
    assert event("repaired").get_json()["status"] == "repaired"
    assert [e["kind"] for e in client.get(f"/api/v1/sla/incidents/{iid}").get_json()
            ["events"]] == ["reacted", "paused", "resumed", "repaired"]
    with factory() as s:
        kinds = set(s.scalars(select(SecurityEvent.kind).where(
            SecurityEvent.tenant_id == polska["tenant_id"],
            SecurityEvent.kind.like("sla.incident.%"),
            SecurityEvent.detail["incident"].as_integer() == iid)))
        jobs = list(s.scalars(select(JobOutbox).where(JobOutbox.func == incidents.MAIL_JOB,
                                                      JobOutbox.job_id.like(f"sla-mail-{iid}-%"),
                                                      JobOutbox.job_id.not_in(old))))
    assert kinds >= {"sla.incident.reported", "sla.incident.reacted", "sla.incident.paused",
                     "sla.incident.resumed", "sla.incident.repaired"}
    assert sorted(j.args[1] for j in jobs) == ["paused", "reacted", "repaired", "reported",
                                               "resumed"]
    # the job mails the tenant's admins and the reporter, in Polish (the tenant's language)
    sent: list[tuple[str, str, str]] = []
    settings = app.extensions["centrala"].settings
    assert notify.deliver(settings, factory, iid, "reacted",
                          send=lambda _s, to, subj, body: sent.append((to, subj, body))) == 2
    assert {to for to, _, _ in sent} == {"szef@mail.polska.example",
                                         "agentka@mail.polska.example"}
    assert "awaria zakwalifikowana" in sent[0][1] and "Krytyczny" in sent[0][2]
    assert f"/sla/incidents/{iid}" in sent[0][2]
    sent.clear()  # a new report also reaches the support address
    notify.deliver(settings, factory, iid, "reported",
                   send=lambda _s, to, subj, body: sent.append((to, subj, body)))
    assert "bok@centrala.example" in {to for to, _, _ in sent}


def test_isolation_and_who_sees_what(client: Any, login: Any, csrf: Any,
                                     polska: dict[str, Any], operator: str) -> None:
    login("agentka@polska.example")
    mine = _report(client, csrf, preset="typos").get_json()["id"]
    client.post("/logout")
    login("szef@polska.example")
    admins = _report(client, csrf, priority="high", title="Coś innego",
                     preset="other").get_json()["id"]
    listed = {i["id"] for i in client.get("/api/v1/sla/incidents").get_json()["incidents"]}
    assert {mine, admins} <= listed  # the admin sees the tenant's
    assert "Literówki w interfejsie" in client.get("/sla/incidents").get_data(as_text=True)
    client.post("/logout")
    login("agentka@polska.example")
    listed = {i["id"] for i in client.get("/api/v1/sla/incidents").get_json()["incidents"]}
    assert mine in listed and admins not in listed  # an agent sees their own
    assert client.get(f"/api/v1/sla/incidents/{admins}").status_code == 404
    client.post("/logout")
    login("admin@demo.centrala.local")  # another tenant
    assert client.get(f"/api/v1/sla/incidents/{mine}").status_code == 404
    assert client.get(f"/sla/incidents/{mine}").status_code == 404
    assert mine not in {i["id"] for i in
                        client.get("/api/v1/sla/incidents").get_json()["incidents"]}
    client.post("/logout")
    login(operator, PW)
    assert client.get(f"/api/v1/sla/incidents/{mine}").get_json()["tenant"] == POLSKA_DOMAIN


def test_logged_out_is_401(client: Any) -> None:
    assert client.get("/api/v1/sla/incidents").status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({"preset": "nope"}, "preset"),
    ({"description": "x"}, "priority"),
    ({"priority": "urgent", "title": "x"}, "priority"),
    ({"priority": "low"}, "title"),
    ({"preset": "typos", "title": "x" * 201}, "title"),
    ({"preset": "typos", "extra": 1}, "extra"),
])
def test_bad_reports_name_the_field(client: Any, login: Any, csrf: Any, polska: dict[str, Any],
                                    body: dict[str, Any], field: str) -> None:
    login("agentka@polska.example")
    resp = _report(client, csrf, **body)
    assert resp.status_code == 400
    assert field in {p["field"] for p in resp.get_json()["error"]["details"]["errors"]}


def test_the_form_reports_with_a_preset_in_polish(client: Any, login: Any, csrf: Any,
                                                  polska: dict[str, Any]) -> None:
    login("agentka@polska.example")
    form = client.get("/sla/incidents/new").get_data(as_text=True)
    assert "Zgłoś awarię" in form and "Brak połączeń przychodzących i wychodzących" in form
    resp = client.post("/sla/incidents/new", data={"csrf_token": csrf(client),
                                                   "preset": "login_page_down",
                                                   "description": "biała strona"})
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Nie ładuje się strona logowania" in page and "Krytyczny" in page
    bad = client.post("/sla/incidents/new", data={"csrf_token": csrf(client), "preset": "other"})
    assert bad.status_code == 422 and 'data-error-for="priority"' in bad.get_data(as_text=True)
