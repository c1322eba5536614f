"""Campaign setup from the panel and the API: every setting, the dialling order and retry
rules as fields checked by the dialer's own rules, field errors with JSON pointers, roles,
tenant isolation, and delete that archives a campaign already dialled."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models.acd import Queue
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
)
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
_n = itertools.count()


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def name() -> str:
    return f"setup-{next(_n)}-{time.time_ns()}"


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def errors_of(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e["field"]: e["pointer"] for e in resp.get_json()["error"]["details"]["errors"]}


def test_create_read_and_patch_every_setting(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    with transaction(store) as s:
        queue = Queue(tenant_id=world.demo_tenant, name=f"q-{next(_n)}-{time.time_ns()}")
        s.add(queue)
        s.flush()
        queue_id = queue.id
    body = {"name": name(), "mode": "preview", "queue_id": queue_id, "default_region": "pl",
            "default_timezone": "Europe/London", "caller_id_mode": "fixed",
            "fixed_caller_id": "22 100 00 99", "window_start": "08:30", "window_end": "19:00",
            "window_days": [6, 1, 2], "max_attempts": 4, "ring_timeout_s": 25,
            "target_abandon_rate": 0.02, "regulator": "us", "preview_batch_size": 5,
            "dialing_order": {"fresh": 50, "private": 40, "system": 10,
                              "recontact_order": "least_overdue", "private_grace_s": 600},
            "retry_rules": {"busy": {"max_attempts": 2, "interval_s": 300}}}
    resp = api(client, csrf, "POST", "/api/v1/campaigns", body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    got = resp.get_json()["campaign"]
    assert got["status"] == "draft"
    assert got["default_region"] == "PL" and got["fixed_caller_id"] == "+48221000099"
    assert got["window_days"] == [1, 2, 6] and got["window_start"] == "08:30"
    assert got["dialing_order"]["recontact_order"] == "least_overdue"
    assert got["retry_rules"] == {"busy": {"max_attempts": 2, "interval_s": 300}}
    cid = got["id"]
    # PATCH changes only what it names; a partial dialling order keeps the other keys.
    resp = api(client, csrf, "PATCH", f"/api/v1/campaigns/{cid}",
               {"mode": "progressive", "dialing_order": {"fresh": 60, "private": 30}})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    got = client.get(f"/api/v1/campaigns/{cid}").get_json()["campaign"]
    assert got["mode"] == "progressive" and got["regulator"] == "us"
    assert got["dialing_order"]["fresh"] == 60 and got["dialing_order"]["system"] == 10
    with store() as s:
        c = s.get(Campaign, cid)
        assert c.window_start.hour == 8 and c.target_abandon_rate == 0.02
        assert s.scalar(select(SecurityEvent.id).where(SecurityEvent.kind == "campaign.updated"))
    listed = client.get("/api/v1/campaigns").get_json()["campaigns"]
    assert cid in [c["id"] for c in listed]


def test_the_dialer_rules_name_their_field(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(client, csrf, "POST", "/api/v1/campaigns", {
        "name": name(), "dialing_order": {"fresh": 50, "private": 10, "system": 10},
        "window_start": "18:00", "window_end": "09:00", "caller_id_mode": "fixed",
        "queue_id": 999999})
    assert resp.status_code == 422
    found = errors_of(resp)
    assert found["dialing_order.fresh"] == "/dialing_order/fresh"
    assert "window_end" in found and "fixed_caller_id" in found and "queue_id" in found
    # Schema-level problems (types, bounds) are 400 with the field and pointer.
    resp = api(client, csrf, "POST", "/api/v1/campaigns",
               {"name": name(), "target_abandon_rate": 0.2,
                "retry_rules": {"busy": {"max_attempts": -1, "interval_s": 5}}})
    assert resp.status_code == 400
    assert {"/target_abandon_rate", "/retry_rules/busy/max_attempts"} <= set(
        errors_of(resp).values())
    resp = api(client, csrf, "POST", "/api/v1/campaigns", {"name": "x", "fixed_caller_id": "12"})
    assert resp.status_code == 422 and "fixed_caller_id" in errors_of(resp)
    # A name used already is refused by name.
    first = api(client, csrf, "POST", "/api/v1/campaigns", {"name": (n := name())})
    assert first.status_code == 201
    assert "name" in errors_of(api(client, csrf, "POST", "/api/v1/campaigns", {"name": n}))


def test_agents_are_refused(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(AGENT1)
    assert api(client, csrf, "POST", "/api/v1/campaigns", {"name": name()}).status_code == 403
    assert client.get("/campaigns/new").status_code == 403


def test_tenants_never_see_each_others_campaigns(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    cid = api(client, csrf, "POST", "/api/v1/campaigns", {"name": name()}).get_json()["campaign"]["id"]
    client.post("/logout", headers={"X-CSRF-Token": csrf(client)})
    login(ACME_ADMIN)
    assert client.get(f"/api/v1/campaigns/{cid}").status_code == 404
    assert api(client, csrf, "PATCH", f"/api/v1/campaigns/{cid}", {"mode": "preview"}).status_code == 404
    assert api(client, csrf, "DELETE", f"/api/v1/campaigns/{cid}").status_code == 404
    assert client.get(f"/campaigns/{cid}/edit").status_code == 404


def test_delete_archives_a_campaign_with_attempts(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    fresh = api(client, csrf, "POST", "/api/v1/campaigns", {"name": name()}).get_json()["campaign"]["id"]
    dialled = api(client, csrf, "POST", "/api/v1/campaigns", {"name": name()}).get_json()["campaign"]["id"]
    with transaction(store) as s:
        contact = Contact(tenant_id=world.demo_tenant, first_name="Archived")
        s.add(contact)
        s.flush()
        phone = ContactPhone(tenant_id=world.demo_tenant, contact_id=contact.id,
                             number=f"+4899{time.time_ns() % 10**7:07d}")
        s.add(phone)
        s.flush()
        rec = CampaignRecord(tenant_id=world.demo_tenant, campaign_id=dialled,
                             contact_id=contact.id, phone_id=phone.id, outcome_counts={})
        s.add(rec)
        s.flush()
        s.add(DialAttempt(tenant_id=world.demo_tenant, campaign_id=dialled, record_id=rec.id,
                          number=phone.number, mode="preview", dial_at=datetime.now(UTC),
                          outcome="busy"))
    assert api(client, csrf, "DELETE", f"/api/v1/campaigns/{fresh}").get_json()["result"] == "deleted"
    assert api(client, csrf, "DELETE", f"/api/v1/campaigns/{dialled}").get_json()["result"] == "archived"
    with store() as s:
        assert s.get(Campaign, fresh) is None
        c = s.get(Campaign, dialled)
        assert c.archived_at is not None and c.status == "finished"
    ids = [c["id"] for c in client.get("/api/v1/campaigns").get_json()["campaigns"]]
    assert dialled not in ids
    ids = [c["id"] for c in client.get("/api/v1/campaigns?archived=true").get_json()["campaigns"]]
    assert dialled in ids
    resp = api(client, csrf, "PATCH", f"/api/v1/campaigns/{dialled}", {"mode": "preview"})
    assert resp.status_code == 422


def _form(**over: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "name": name(), "mode": "progressive", "queue_id": "", "preview_batch_size": "10",
        "default_timezone": "Europe/Warsaw", "default_region": "PL", "window_start": "09:00",
        "window_end": "20:00", "window_days": ["1", "2", "3"], "caller_id_mode": "pool",
        "fixed_caller_id": "", "regulator": "uk", "ring_timeout_s": "20",
        "target_abandon_pct": "2,5", "max_attempts": "6", "dialing_order.fresh": "70",
        "dialing_order.private": "20", "dialing_order.system": "10",
        "dialing_order.recontact_order": "most_overdue", "dialing_order.private_grace_s": "",
        "retry_rules.no_answer.enabled": "1", "retry_rules.no_answer.max_attempts": "3",
        "retry_rules.no_answer.interval_s": "3600"}
    form.update(over)
    return form


def test_the_page_creates_edits_and_shows_errors_by_field(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    page = client.get("/campaigns/new")
    assert page.status_code == 200 and 'name="dialing_order.fresh"' in page.get_data(as_text=True)
    form = _form()
    resp = client.post("/campaigns/new", data={**form, "csrf_token": csrf(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    with store() as s:
        c = s.scalar(select(Campaign).where(Campaign.name == form["name"]))
        assert c is not None and c.target_abandon_rate == pytest.approx(0.025)
        assert c.window_days == [1, 2, 3] and c.dialing_order["fresh"] == 70
        assert c.retry_rules == {"no_answer": {"max_attempts": 3, "interval_s": 3600}}
    resp = client.post(f"/campaigns/{c.id}/edit",
                       data={**_form(name=form["name"], **{"dialing_order.fresh": "10",
                                                           "retry_rules.busy.enabled": "1",
                                                           "retry_rules.busy.max_attempts": "x"}),
                             "csrf_token": csrf(client)})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'data-error-for="dialing_order.fresh"' in html
    assert 'data-error-for="retry_rules.busy.max_attempts"' in html
    list_page = client.get("/campaigns").get_data(as_text=True)
    assert f"/campaigns/{c.id}/edit" in list_page


def test_the_form_reads_polish(client, login, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    html = client.get("/campaigns/new").get_data(as_text=True)
    assert "Nowa kampania" in html and "Kolejność wybierania" in html
