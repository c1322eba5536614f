"""The blacklist from the panel and the API: numbers typed nationally stored in E.164,
duplicates refused, tenant isolation, roles, platform entries read-only to tenants and
kept by the operator, the file upload's report (and nothing written for a malformed file),
audit, and -- the point of it all -- the dialer's own selection refusing a number added
here."""

from __future__ import annotations

import io
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from datetime import time as dtime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.dialer import attempt_store
from controlplane.dialer import store as dialer_store
from controlplane.models.acd import Queue
from controlplane.models.base import utcnow
from controlplane.models.campaigns import (
    BlacklistEntry,
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
)
from controlplane.models.security import SecurityEvent
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from controlplane.tenants import service as tenant_service

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
OPERATOR_PW = "operator password 123"
_rng = random.Random()


def mobile() -> str:
    """A fresh valid Polish mobile number, national form with spaces ("600 123 456")."""
    digits = f"{_rng.randrange(10**7):07d}"
    return f"60{digits[0]} {digits[1:4]} {digits[4:]}"


def e164(national: str) -> str:
    return "+48" + national.replace(" ", "")


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def operator(app: Flask) -> Iterator[str]:
    created = tenant_service.create_operator(
        app.extensions["centrala"].sessions, f"op-{uuid.uuid4().hex[:6]}@centrala.example",
        by="test", now=utcnow())
    from controlplane.models import User
    with transaction(app.extensions["centrala"].sessions) as s:
        user = s.get(User, created.user_id)
        assert user is not None
        user.password_hash = hash_password(OPERATOR_PW)
    yield created.address


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def upload(client, csrf, data: bytes, **fields: str):  # type: ignore[no-untyped-def]
    form: dict[str, Any] = {"file": (io.BytesIO(data), "numbers.csv"), **fields}
    return client.post("/api/v1/blacklists/upload", data=form, content_type="multipart/form-data",
                       headers={"X-CSRF-Token": csrf(client)})


def campaign_of(store, tenant: int, *, running: bool = False) -> int:  # type: ignore[no-untyped-def]
    with transaction(store) as s:
        queue = Queue(tenant_id=tenant, name=f"bl-{uuid.uuid4().hex[:8]}")
        s.add(queue)
        s.flush()
        c = Campaign(tenant_id=tenant, name=f"bl-{uuid.uuid4().hex[:8]}", queue_id=queue.id,
                     status="running" if running else "draft", caller_id_mode="fixed",
                     fixed_caller_id="+48221000099", window_start=dtime(0, 0),
                     window_end=dtime(23, 59, 59), window_days=[1, 2, 3, 4, 5, 6, 7])
        s.add(c)
        s.flush()
        return c.id


def audits(store, kind: str, pattern: str) -> int:  # type: ignore[no-untyped-def]
    with store() as s:
        rows = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)).all()
        return sum(1 for r in rows if r.detail.get("pattern") == pattern)


def test_add_read_search_and_delete_an_entry(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    national = mobile()
    resp = api(client, csrf, "POST", "/api/v1/blacklists",
               {"pattern": national, "reason": "asked not to be called"})
    assert resp.status_code == 201, resp.get_json()
    entry = resp.get_json()["entry"]
    assert (entry["pattern"], entry["is_prefix"], entry["scope"], entry["editable"]) == (
        e164(national), False, "tenant", True)
    assert audits(store, "blacklist.added", e164(national)) == 1

    found = client.get(f"/api/v1/blacklists?q={national.replace(' ', '')}").get_json()
    assert [e["id"] for e in found["entries"]] == [entry["id"]]
    assert found["total"] == 1 and found["page"] == 1
    by_reason = client.get("/api/v1/blacklists?q=asked+not&per_page=200").get_json()
    assert entry["id"] in [e["id"] for e in by_reason["entries"]]
    assert client.get(f"/api/v1/blacklists/{entry['id']}").get_json()["entry"] == entry

    # the same number written internationally is the same entry: 409, saying which
    dup = api(client, csrf, "POST", "/api/v1/blacklists", {"pattern": e164(national)})
    assert dup.status_code == 409
    assert str(entry["id"]) in dup.get_json()["error"]["message"]

    assert api(client, csrf, "DELETE", f"/api/v1/blacklists/{entry['id']}").status_code == 200
    assert client.get(f"/api/v1/blacklists/{entry['id']}").status_code == 404
    assert audits(store, "blacklist.deleted", e164(national)) == 1


def test_prefixes_national_or_international(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(client, csrf, "POST", "/api/v1/blacklists",
               {"pattern": "+48 7019", "is_prefix": True})
    assert resp.get_json()["entry"]["pattern"] == "+487019"
    national = api(client, csrf, "POST", "/api/v1/blacklists",
                   {"pattern": "7018", "is_prefix": True})
    assert national.get_json()["entry"]["pattern"] == "+487018"
    for e in (resp, national):
        api(client, csrf, "DELETE", f"/api/v1/blacklists/{e.get_json()['entry']['id']}")


@pytest.mark.parametrize(("body", "field"), [
    ({"pattern": "12"}, "pattern"),
    ({"pattern": "not a number"}, "pattern"),
    ({"pattern": "+48x", "is_prefix": True}, "pattern"),
    ({"pattern": ""}, "pattern"),
    ({"pattern": "600100200", "campaign_id": 2_000_000_000}, "campaign_id"),
    ({"pattern": "600100200", "colour": "red"}, "colour"),
    ({"pattern": "600100200", "reason": "x" * 201}, "reason"),
])
def test_bad_input_names_its_field(client, login, csrf, body, field) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = api(client, csrf, "POST", "/api/v1/blacklists", body)
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == field


def test_tenants_never_see_each_others_entries(client, login, csrf, app, store, world) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    national = mobile()
    entry = api(client, csrf, "POST", "/api/v1/blacklists", {"pattern": national}).get_json()
    acme_campaign = campaign_of(store, world.acme_tenant)
    other = app.test_client()
    login_other(other, ACME_ADMIN)
    assert other.get(f"/api/v1/blacklists/{entry['entry']['id']}").status_code == 404
    listed = other.get("/api/v1/blacklists?per_page=200").get_json()["entries"]
    assert entry["entry"]["id"] not in [e["id"] for e in listed]
    assert api(other, csrf, "DELETE",
               f"/api/v1/blacklists/{entry['entry']['id']}").status_code == 404
    # a campaign of another tenant cannot be named
    resp = api(client, csrf, "POST", "/api/v1/blacklists",
               {"pattern": mobile(), "campaign_id": acme_campaign})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["field"] == "campaign_id"


def login_other(c, address: str, password: str = "correct horse battery staple") -> None:  # type: ignore[no-untyped-def]
    from tests.unit.web.conftest import do_login
    assert do_login(c, address, password).status_code == 302


def test_agents_and_strangers_have_no_access(client, login, csrf, app) -> None:  # type: ignore[no-untyped-def]
    anon = app.test_client()
    assert anon.get("/api/v1/blacklists").status_code == 401
    login(AGENT)
    for method, path in (("GET", "/api/v1/blacklists"), ("POST", "/api/v1/blacklists"),
                         ("GET", "/api/v1/blacklists/1"), ("DELETE", "/api/v1/blacklists/1"),
                         ("POST", "/api/v1/blacklists/upload"), ("GET", "/blacklist")):
        assert api(client, csrf, method, path, {"pattern": "600100200"}
                   if method == "POST" else None).status_code == 403, (method, path)


def test_platform_entries_are_the_operators(client, login, csrf, app, operator, store) -> None:  # type: ignore[no-untyped-def]
    login(operator, OPERATOR_PW)
    national = mobile()
    resp = api(client, csrf, "POST", "/api/v1/blacklists", {"pattern": national,
                                                             "reason": "regulator list"})
    assert resp.status_code == 201, resp.get_json()
    entry = resp.get_json()["entry"]
    assert (entry["scope"], entry["editable"]) == ("platform", True)
    with store() as s:
        row = s.get(BlacklistEntry, entry["id"])
        assert row is not None and row.tenant_id is None
    # the operator names no campaign: the platform's list has none
    assert api(client, csrf, "POST", "/api/v1/blacklists",
               {"pattern": mobile(), "campaign_id": 1}).status_code == 400

    tenant = app.test_client()
    login_other(tenant, SUPERVISOR)
    seen = tenant.get(f"/api/v1/blacklists/{entry['id']}").get_json()["entry"]
    assert (seen["scope"], seen["editable"]) == ("platform", False)
    refused = api(tenant, csrf, "DELETE", f"/api/v1/blacklists/{entry['id']}")
    assert (refused.status_code, refused.get_json()["error"]["id"]) == (403, "read_only")
    page = tenant.get("/blacklist").get_data(as_text=True)
    # shown, without a delete button (the page's language may be the operator's: the
    # `with` test client keeps its request context, so flask-babel's cached locale leaks)
    assert e164(national) in page and f"/blacklist/{entry['id']}/delete" not in page

    own = client.get("/blacklist").get_data(as_text=True)  # the operator's page: editable
    assert f"/blacklist/{entry['id']}/delete" in own and 'name="campaign_id"' not in own
    assert api(client, csrf, "DELETE", f"/api/v1/blacklists/{entry['id']}").status_code == 200


def test_upload_reports_every_line(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    campaign = campaign_of(store, world.demo_tenant)
    a, b = mobile(), mobile()
    data = (f"number;reason\n{a};complaint\n\n# a comment\n12345\n+48 {b}\n{a}\n"
            f"+4870*;premium\nhello\n").encode()
    resp = upload(client, csrf, data, campaign_id=str(campaign), reason="file")
    assert resp.status_code == 200, resp.get_json()
    report = resp.get_json()
    assert (report["added"], report["already_listed"], report["accepted"]) == (3, 1, 4)
    assert [(r["line"], r["text"]) for r in report["rejected"]] == [(5, "12345"), (9, "hello")]
    assert all(r["reason"] for r in report["rejected"])
    with store() as s:
        rows = {r.pattern: (r.is_prefix, r.reason) for r in s.scalars(
            select(BlacklistEntry).where(BlacklistEntry.campaign_id == campaign))}
    assert rows == {e164(a): (False, "complaint"), e164(b): (False, "file"),
                    "+4870": (True, "premium")}


@pytest.mark.parametrize("data", [b"600100200\n\xff\xfe bad bytes\n", b"600\x00100\n",
                                  b"1\n" * 50_001])
def test_a_malformed_file_writes_nothing(client, login, csrf, store, world, data) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    campaign = campaign_of(store, world.demo_tenant)
    resp = upload(client, csrf, b"600 100 201\n" + data, campaign_id=str(campaign))
    assert resp.status_code == 400, resp.get_json()
    assert resp.get_json()["error"]["details"]["field"] == "file"
    with store() as s:
        assert s.scalar(select(func.count()).select_from(BlacklistEntry).where(
            BlacklistEntry.campaign_id == campaign)) == 0


def test_upload_needs_a_file(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = client.post("/api/v1/blacklists/upload", data={"reason": "x"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["field"] == "file"


def test_an_added_number_is_refused_by_the_dialer(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    """The dialer's own path (plan, blacklists, selection, reserve) skips the number."""
    cid = campaign_of(store, world.demo_tenant, running=True)
    blocked, free = mobile(), mobile()
    with transaction(store) as s:
        for n in (blocked, free):
            contact = Contact(tenant_id=world.demo_tenant)
            s.add(contact)
            s.flush()
            phone = ContactPhone(tenant_id=world.demo_tenant, contact_id=contact.id,
                                 number=e164(n))
            s.add(phone)
            s.flush()
            s.add(CampaignRecord(tenant_id=world.demo_tenant, campaign_id=cid,
                                 contact_id=contact.id, phone_id=phone.id))
    login(SUPERVISOR)
    resp = api(client, csrf, "POST", "/api/v1/blacklists",
               {"pattern": blocked, "campaign_id": cid, "reason": "do not call"})
    assert resp.status_code == 201
    try:
        [plan] = [p for p in dialer_store.running_campaigns(store) if p.id == cid]
        now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp()
        taken = attempt_store.reserve(store, plan, 10, now, guaranteed=True,
                                      rng=random.Random(1))
        assert [r.number for r in taken] == [e164(free)]
        with store() as s:
            states = {p.number: r.state for r, p in s.execute(
                select(CampaignRecord, ContactPhone)
                .join(ContactPhone, ContactPhone.id == CampaignRecord.phone_id)
                .where(CampaignRecord.campaign_id == cid))}
        assert states[e164(blocked)] == "fresh"  # never reserved
    finally:
        with transaction(store) as s:
            c = s.get(Campaign, cid)
            assert c is not None
            c.status = "paused"


def test_the_page_adds_searches_uploads_and_deletes(client, login, csrf, store, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    page = client.get("/blacklist")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Czarna lista" in text and 'lang="pl"' in text
    national = mobile()
    resp = client.post("/blacklist", data={"pattern": national, "reason": "skarga",
                                           "csrf_token": csrf(client)})
    assert resp.status_code == 302
    listed = client.get(f"/blacklist?q={national.replace(' ', '')}").get_data(as_text=True)
    assert e164(national) in listed and "skarga" in listed and "data-confirm" in listed
    bad = client.post("/blacklist", data={"pattern": "12", "csrf_token": csrf(client)})
    assert bad.status_code == 422
    assert 'data-error-for="pattern"' in bad.get_data(as_text=True)
    assert "za krótki dla +48" in bad.get_data(as_text=True)
    again = client.post("/blacklist", data={"pattern": e164(national),
                                            "csrf_token": csrf(client)})
    assert again.status_code == 422 and "już jest na tej liście" in again.get_data(as_text=True)
    empty = client.post("/blacklist", data={"pattern": "", "campaign_id": "x",
                                            "csrf_token": csrf(client)})
    assert empty.status_code == 422
    assert 'data-error-for="pattern"' in empty.get_data(as_text=True)
    assert 'data-error-for="campaign_id"' in empty.get_data(as_text=True)
    up = client.post("/blacklist/upload", data={
        "file": (io.BytesIO(f"{mobile()}\nnope\n".encode()), "x.txt"), "campaign_id": "",
        "reason": "", "csrf_token": csrf(client)}, content_type="multipart/form-data")
    assert up.status_code == 200
    assert 'data-line="2"' in up.get_data(as_text=True)
    assert "to nie jest numer telefonu (brak cyfr)" in up.get_data(as_text=True)
    with store() as s:
        entry_id = s.scalar(select(BlacklistEntry.id).where(
            BlacklistEntry.pattern == e164(national)))
    gone = client.post(f"/blacklist/{entry_id}/delete", data={"csrf_token": csrf(client)})
    assert gone.status_code == 302
    with store() as s:
        assert s.get(BlacklistEntry, entry_id) is None
