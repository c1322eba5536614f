"""The caller-ID pool from the panel and the API: numbers normalised to E.164, campaign or
every campaign, tainted and daily cap, today's use from the dialer's counter, duplicates
409, tenant isolation, roles, audit, and the dialer's plan picking the change up."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.dialer import store as dialer_store
from controlplane.models.campaigns import CallerIdNumber, CallerIdUsage, Campaign
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN
from tests.unit.web.conftest import do_login

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
_rng = random.Random()


def landline() -> str:
    """A fresh valid Warsaw number, national form ("22 123 45 67")."""
    d = f"{_rng.randrange(10**7):07d}"
    return f"22 {d[:3]} {d[3:5]} {d[5:]}"


def e164(national: str) -> str:
    return "+48" + national.replace(" ", "")


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def campaign_of(store, tenant: int) -> int:  # type: ignore[no-untyped-def]
    with transaction(store) as s:
        c = Campaign(tenant_id=tenant, name=f"cid-{uuid.uuid4().hex[:8]}")
        s.add(c)
        s.flush()
        return c.id


def test_add_read_update_and_delete_a_number(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    campaign = campaign_of(store, world.demo_tenant)
    national = landline()
    resp = api(client, csrf, "POST", "/api/v1/caller-ids",
               {"number": national, "campaign_id": campaign, "daily_cap": 100})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()["caller_id"]
    assert (made["number"], made["country"], made["campaign_id"], made["tainted"],
            made["daily_cap"], made["used_today"], made["left_today"]) == (
        e164(national), "PL", campaign, False, 100, 0, 100)
    assert made["region"] == "Warsaw"

    with transaction(store) as s:  # the dialer counted 7 calls today
        s.add(CallerIdUsage(number_id=made["id"], day=datetime.now(UTC).date(), count=7))
    shown = client.get(f"/api/v1/caller-ids/{made['id']}").get_json()["caller_id"]
    assert (shown["used_today"], shown["left_today"]) == (7, 93)
    listed = client.get(f"/api/v1/caller-ids?campaign_id={campaign}").get_json()
    assert made["id"] in [n["id"] for n in listed["caller_ids"]]
    assert listed["total"] >= 1

    upd = api(client, csrf, "PUT", f"/api/v1/caller-ids/{made['id']}",
              {"tainted": True, "campaign_id": None})
    assert upd.status_code == 200, upd.get_json()
    after = upd.get_json()["caller_id"]
    assert (after["tainted"], after["campaign_id"], after["daily_cap"], after["left_today"]) == (
        True, None, 100, 0)
    with store() as s:
        kinds = [e.kind for e in s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind.like("caller_id.%"))) if e.detail.get("id") == made["id"]]
    assert kinds == ["caller_id.added", "caller_id.updated"]

    assert api(client, csrf, "DELETE", f"/api/v1/caller-ids/{made['id']}").status_code == 200
    assert client.get(f"/api/v1/caller-ids/{made['id']}").status_code == 404


def test_a_number_listed_twice_is_a_409(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    national = landline()
    first = api(client, csrf, "POST", "/api/v1/caller-ids", {"number": national})
    assert first.status_code == 201
    again = api(client, csrf, "POST", "/api/v1/caller-ids", {"number": e164(national)})
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert e164(national) in error["message"] and "already" in error["message"]
    assert error["id"] == "conflict"
    api(client, csrf, "DELETE", f"/api/v1/caller-ids/{first.get_json()['caller_id']['id']}")


@pytest.mark.parametrize(("body", "field"), [
    ({}, "number"),
    ({"number": "123"}, "number"),
    ({"number": "22 100 00 01", "daily_cap": 0}, "daily_cap"),
    ({"number": "22 100 00 01", "daily_cap": "ten"}, "daily_cap"),
    ({"number": "22 100 00 01", "campaign_id": 2_000_000_000}, "campaign_id"),
    ({"number": "22 100 00 01", "tainted": "yes"}, "tainted"),
    ({"number": "22 100 00 01", "colour": 1}, "colour"),
])
def test_bad_input_names_its_field(client, login, csrf, body, field) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = api(client, csrf, "POST", "/api/v1/caller-ids", body)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == field


def test_tenants_and_roles(client, login, csrf, app, store, world) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    made = api(client, csrf, "POST", "/api/v1/caller-ids",
               {"number": landline()}).get_json()["caller_id"]
    other = app.test_client()
    assert do_login(other, ACME_ADMIN).status_code == 302
    assert other.get(f"/api/v1/caller-ids/{made['id']}").status_code == 404
    assert api(other, csrf, "PUT", f"/api/v1/caller-ids/{made['id']}",
               {"tainted": True}).status_code == 404
    assert api(other, csrf, "DELETE", f"/api/v1/caller-ids/{made['id']}").status_code == 404
    assert made["id"] not in [n["id"] for n in other.get(
        "/api/v1/caller-ids?per_page=200").get_json()["caller_ids"]]
    acme_campaign = campaign_of(store, world.acme_tenant)
    moved = api(client, csrf, "PUT", f"/api/v1/caller-ids/{made['id']}",
                {"campaign_id": acme_campaign})
    assert moved.status_code == 400 and moved.get_json()["error"]["details"]["field"] == (
        "campaign_id")

    agent = app.test_client()
    assert do_login(agent, AGENT).status_code == 302
    for method, path in (("GET", "/api/v1/caller-ids"), ("POST", "/api/v1/caller-ids"),
                         ("GET", f"/api/v1/caller-ids/{made['id']}"),
                         ("PUT", f"/api/v1/caller-ids/{made['id']}"),
                         ("DELETE", f"/api/v1/caller-ids/{made['id']}"), ("GET", "/caller-ids")):
        assert api(agent, csrf, method, path, {} if method in ("POST", "PUT") else None
                   ).status_code == 403, (method, path)
    assert app.test_client().get("/api/v1/caller-ids").status_code == 401
    api(client, csrf, "DELETE", f"/api/v1/caller-ids/{made['id']}")


def test_the_dialer_presents_what_the_pool_says(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    campaign = campaign_of(store, world.demo_tenant)
    made = api(client, csrf, "POST", "/api/v1/caller-ids",
               {"number": landline(), "campaign_id": campaign, "tainted": True}).get_json()
    with store() as s:
        c = s.get(Campaign, campaign)
        policy = dialer_store._caller_ids(s, c)
    assert policy is not None
    assert made["caller_id"]["number"] in {p.number for p in policy.pool}
    assert made["caller_id"]["number"] in policy.tainted
    api(client, csrf, "DELETE", f"/api/v1/caller-ids/{made['caller_id']['id']}")


def test_the_pages_list_add_edit_and_delete(client, login, csrf, store, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    assert "Numery prezentowane" in client.get("/caller-ids").get_data(as_text=True)
    national = landline()
    resp = client.post("/caller-ids", data={"number": national, "daily_cap": "50",
                                            "campaign_id": "", "csrf_token": csrf(client)})
    assert resp.status_code == 302
    with store() as s:
        row = s.scalar(select(CallerIdNumber).where(CallerIdNumber.number == e164(national)))
        assert row is not None and row.daily_cap == 50
        number_id = row.id
    page = client.get("/caller-ids").get_data(as_text=True)
    assert e164(national) in page and "Wszystkie kampanie" in page and 'data-used="0"' in page
    dup = client.post("/caller-ids", data={"number": national, "csrf_token": csrf(client)})
    assert dup.status_code == 422 and 'data-error-for="number"' in dup.get_data(as_text=True)
    assert "już jest w puli" in dup.get_data(as_text=True)
    short = client.post("/caller-ids", data={"number": "22 1", "csrf_token": csrf(client)})
    assert short.status_code == 422 and "za krótki" in short.get_data(as_text=True)
    bad = client.post(f"/caller-ids/{number_id}", data={"daily_cap": "-3",
                                                         "csrf_token": csrf(client)})
    assert bad.status_code == 422 and 'data-error-for="daily_cap"' in bad.get_data(as_text=True)
    ok = client.post(f"/caller-ids/{number_id}", data={"daily_cap": "", "tainted": "on",
                                                       "csrf_token": csrf(client)})
    assert ok.status_code == 302
    with store() as s:
        row = s.get(CallerIdNumber, number_id)
        assert row is not None and (row.daily_cap, row.tainted) == (None, True)
    assert client.post(f"/caller-ids/{number_id}/delete",
                       data={"csrf_token": csrf(client)}).status_code == 302
    with store() as s:
        assert s.get(CallerIdNumber, number_id) is None
