"""Recontacts from the panel and the API: the list with contact, number, campaign and agent
(filters: campaign, agent, due window; paging), reschedule to a future time read in the
tenant's zone (history kept), cancel (the record closed), 4xx naming the field, tenant
isolation, roles, and the supervisors' page in Polish with local times."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.campaigns import store as campaign_store
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Tenant, User
from controlplane.models.campaigns import Campaign, CampaignRecord, Contact, ContactPhone, Recontact
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN
from tests.unit.web.conftest import do_login

SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def warsaw(store, world) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The demo tenant in Europe/Warsaw for one test (the shared fixtures keep it UTC)."""
    with transaction(store) as s:
        tenant = s.get(Tenant, world.demo_tenant)
        assert tenant is not None
        tenant.time_zone = "Europe/Warsaw"
    yield
    with transaction(store) as s:
        tenant = s.get(Tenant, world.demo_tenant)
        assert tenant is not None
        tenant.time_zone = "UTC"


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def scheduled(store, tenant: int, due: datetime, *, agent: str | None = "agent1",  # type: ignore[no-untyped-def]
              first: str = "Ewa", last: str = "Nowak") -> dict[str, int]:
    """A campaign with one contact and a recontact due at ``due`` (private to ``agent``)."""
    with transaction(store) as s:
        campaign = Campaign(tenant_id=tenant, name=f"rc-{uuid.uuid4().hex[:8]}")
        contact = Contact(tenant_id=tenant, first_name=first, last_name=last)
        s.add_all([campaign, contact])
        s.flush()
        phone = ContactPhone(tenant_id=tenant, contact_id=contact.id,
                             number=f"+4860{uuid.uuid4().int % 10**7:07d}")
        s.add(phone)
        s.flush()
        record = CampaignRecord(tenant_id=tenant, campaign_id=campaign.id,
                                contact_id=contact.id, phone_id=phone.id)
        s.add(record)
        s.flush()
        user = s.scalar(select(User.id).where(User.tenant_id == tenant, User.login == agent))
        row = campaign_store.schedule_recontact(s, tenant, record.id, due, user_id=user,
                                                note="after 15:00")
        return {"campaign": campaign.id, "record": record.id, "recontact": row.id,
                "user": user or 0}


def test_list_filters_and_fields(client, login, store, world) -> None:  # type: ignore[no-untyped-def]
    made = scheduled(store, world.demo_tenant, SOON)
    later = scheduled(store, world.demo_tenant, SOON + timedelta(days=2), agent=None,
                      first="Jan", last="Kowalski")
    login(SUPERVISOR)
    got = client.get(f"/api/v1/recontacts?campaign_id={made['campaign']}").get_json()
    assert got["total"] == 1
    [r] = got["recontacts"]
    assert (r["id"], r["contact_name"], r["campaign_id"], r["agent"], r["note"], r["status"]) == (
        made["recontact"], "Ewa Nowak", made["campaign"], "Agent1", "after 15:00", "scheduled")
    assert r["number"].startswith("+4860")
    assert datetime.fromisoformat(r["due_at"]) == SOON

    mine = client.get(f"/api/v1/recontacts?user_id={made['user']}&per_page=200").get_json()
    ids = [x["id"] for x in mine["recontacts"]]
    assert made["recontact"] in ids and later["recontact"] not in ids
    window = client.get("/api/v1/recontacts?due_after=" + (SOON + timedelta(days=1)).isoformat()
                        .replace("+", "%2B") + "&per_page=200").get_json()
    ids = [x["id"] for x in window["recontacts"]]
    assert later["recontact"] in ids and made["recontact"] not in ids
    # without an offset: the tenant's zone (UTC for the demo tenant here)
    naive = (SOON + timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert [x["id"] for x in client.get(f"/api/v1/recontacts?due_before={naive}&per_page=200")
            .get_json()["recontacts"]].count(later["recontact"]) == 0
    paged = client.get("/api/v1/recontacts?per_page=1&page=1").get_json()
    assert len(paged["recontacts"]) == 1 and paged["total"] >= 2


def test_reschedule_in_the_tenants_zone_keeps_the_history(client, login, csrf, store, world,  # type: ignore[no-untyped-def]
                                                          warsaw) -> None:
    made = scheduled(store, world.demo_tenant, SOON)
    login(SUPERVISOR)
    new_local = (SOON + timedelta(days=3)).replace(hour=14, minute=30, tzinfo=None)
    resp = api(client, csrf, "PUT", f"/api/v1/recontacts/{made['recontact']}",
               {"due_at": new_local.isoformat()})
    assert resp.status_code == 200, resp.get_json()
    new = resp.get_json()["recontact"]
    from zoneinfo import ZoneInfo
    assert datetime.fromisoformat(new["due_at"]) == new_local.replace(
        tzinfo=ZoneInfo("Europe/Warsaw"))
    assert (new["moved_from_id"], new["status"], new["agent"].lower()) == (
        made["recontact"], "scheduled", "agent1")
    with store() as s:
        old = s.get(Recontact, made["recontact"])
        record = s.get(CampaignRecord, made["record"])
        assert old is not None and record is not None
        assert old.status == "moved" and record.next_due_at == datetime.fromisoformat(
            new["due_at"])
        assert s.scalar(select(SecurityEvent.id).where(
            SecurityEvent.kind == "recontact.moved")) is not None
    # to anyone
    anyone = api(client, csrf, "PUT", f"/api/v1/recontacts/{new['id']}",
                 {"due_at": (SOON + timedelta(days=4)).isoformat(), "user_id": None})
    assert anyone.status_code == 200 and anyone.get_json()["recontact"]["agent"] is None


@pytest.mark.parametrize(("body", "field", "status"), [
    ({"due_at": "2001-01-01T10:00:00+00:00"}, "due_at", 400),
    ({"due_at": "tomorrow"}, "due_at", 400),
    ({}, "due_at", 400),
    ({"due_at": SOON.isoformat(), "user_id": "x"}, "user_id", 400),
    ({"due_at": SOON.isoformat(), "when": 1}, "when", 400),
])
def test_bad_reschedules_name_their_field(client, login, csrf, store, world, body, field,  # type: ignore[no-untyped-def]
                                          status) -> None:
    made = scheduled(store, world.demo_tenant, SOON)
    login(SUPERVISOR)
    resp = api(client, csrf, "PUT", f"/api/v1/recontacts/{made['recontact']}", body)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == field


def test_cancel_closes_the_record_and_only_once(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    made = scheduled(store, world.demo_tenant, SOON)
    login(ADMIN)
    resp = api(client, csrf, "DELETE", f"/api/v1/recontacts/{made['recontact']}")
    assert resp.status_code == 200
    assert resp.get_json()["recontact"]["status"] == "cancelled"
    with store() as s:
        record = s.get(CampaignRecord, made["record"])
        assert record is not None and record.state == "closed"
    again = api(client, csrf, "DELETE", f"/api/v1/recontacts/{made['recontact']}")
    assert again.status_code == 409
    moved = api(client, csrf, "PUT", f"/api/v1/recontacts/{made['recontact']}",
                {"due_at": SOON.isoformat()})
    assert moved.status_code == 409


def test_tenants_and_roles(client, login, csrf, app, store, world) -> None:  # type: ignore[no-untyped-def]
    made = scheduled(store, world.demo_tenant, SOON)
    other = app.test_client()
    assert do_login(other, ACME_ADMIN).status_code == 302
    assert other.get(f"/api/v1/recontacts/{made['recontact']}").status_code == 404
    assert made["recontact"] not in [r["id"] for r in other.get(
        "/api/v1/recontacts?per_page=200").get_json()["recontacts"]]
    assert api(other, csrf, "PUT", f"/api/v1/recontacts/{made['recontact']}",
               {"due_at": SOON.isoformat()}).status_code == 404
    assert api(other, csrf, "DELETE", f"/api/v1/recontacts/{made['recontact']}"
               ).status_code == 404
    login(AGENT)
    for method, path in (("GET", "/api/v1/recontacts"),
                         ("GET", f"/api/v1/recontacts/{made['recontact']}"),
                         ("PUT", f"/api/v1/recontacts/{made['recontact']}"),
                         ("DELETE", f"/api/v1/recontacts/{made['recontact']}"),
                         ("GET", "/recontacts")):
        assert api(client, csrf, method, path, {"due_at": SOON.isoformat()}
                   if method == "PUT" else None).status_code == 403, (method, path)
    assert app.test_client().get("/api/v1/recontacts").status_code == 401


def test_the_page_in_polish_with_local_times(client, login, csrf, store, world,  # type: ignore[no-untyped-def]
                                             demo_in_polish, warsaw) -> None:
    due = SOON.replace(hour=9, minute=15)
    made = scheduled(store, world.demo_tenant, due, first="Zofia", last="Wiśniewska")
    login(SUPERVISOR)
    page = client.get(f"/recontacts?campaign_id={made['campaign']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Ponowne kontakty" in text and "Termin" in text
    assert "Zofia Wiśniewska" in text and "Agent1" in text
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Warsaw"))
    assert f"{local:%H:%M}" in text and "data-confirm" in text
    new_local = (SOON + timedelta(days=5)).replace(hour=11, minute=0, second=0)
    moved = client.post(f"/recontacts/{made['recontact']}/move",
                        data={"due_at": new_local.strftime("%Y-%m-%dT%H:%M"),
                              "csrf_token": csrf(client)})
    assert moved.status_code == 302
    with store() as s:
        row = s.scalar(select(Recontact).where(Recontact.moved_from_id == made["recontact"]))
        assert row is not None
        from zoneinfo import ZoneInfo
        assert row.due_at == new_local.replace(tzinfo=None).replace(
            tzinfo=ZoneInfo("Europe/Warsaw"))
        new_id = row.id
    client.get("/recontacts")  # shows (and clears) the first notice
    past = client.post(f"/recontacts/{new_id}/move", data={
        "due_at": "2001-01-01T10:00", "csrf_token": csrf(client)})
    assert past.status_code == 302, past.get_data(as_text=True)
    past = client.get(past.headers["Location"])
    assert "Nie przełożono" in past.get_data(as_text=True), past.get_data(as_text=True)[-3000:]
    gone = client.post(f"/recontacts/{new_id}/cancel", data={"csrf_token": csrf(client)})
    assert gone.status_code == 302
    after = client.get(f"/recontacts?campaign_id={made['campaign']}").get_data(as_text=True)
    assert "Zofia" not in after
