"""SIP bans in the panel and the API: admins only, every tenant's admin sees the platform's
bans but never the account names tried nor another tenant's people; lifts are stored and
audited; bad addresses get a 400 that names the parameter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Role
from controlplane.models.security import SecurityEvent
from controlplane.models.sip_bans import SipBan
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
SECRET_ACCOUNT = "acme-2001"  # a phone of the acme tenant, tried by the attacker


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def new_address() -> str:
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"


def add_ban(store, address: str, *, expires_in: float = 3600, lifted_by: str = "") -> int:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with transaction(store) as s:
        row = SipBan(address=address, reason="12 failed SIP authentications", failures=12,
                     offence=1, accounts=[SECRET_ACCOUNT], created_at=now - timedelta(seconds=5),
                     expires_at=now + timedelta(seconds=expires_in),
                     lifted_at=now if lifted_by else None, lifted_by=lifted_by)
        s.add(row)
        s.flush()
        return row.id


def api(client, csrf, method: str, path: str) -> Any:  # type: ignore[no-untyped-def]
    return client.open(path, method=method, headers={"X-CSRF-Token": csrf(client)})


def test_only_admins(app) -> None:  # type: ignore[no-untyped-def]
    roles = {e: getattr(v, "centrala_roles", None) for e, v in app.view_functions.items()}
    for endpoint in ("security.page", "security.lift_form", "security.api_list",
                     "security.api_lift"):
        assert roles[endpoint] == {Role.ADMIN}, endpoint


@pytest.mark.parametrize("who", [SUPERVISOR, f"agent1@{DEMO_DOMAIN}"])
def test_others_are_refused(client, login, who: str) -> None:  # type: ignore[no-untyped-def]
    login(who)
    assert client.get("/api/v1/sip-bans").status_code == 403
    assert client.get("/security/sip-bans").status_code == 403


@pytest.mark.parametrize("who", [ADMIN, ACME_ADMIN])
def test_any_tenants_admin_sees_bans_without_account_names(client, login, store, who: str,  # type: ignore[no-untyped-def]
                                                           ) -> None:
    active, old = new_address(), new_address()
    add_ban(store, active)
    add_ban(store, old, expires_in=-60)
    login(who)
    body = client.get("/api/v1/sip-bans").get_json()
    mine = [b for b in body["active"] if b["address"] == active]
    assert len(mine) == 1 and mine[0]["failures"] == 12 and mine[0]["active"] is True
    assert set(mine[0]) == {"id", "address", "failures", "offence", "created_at", "expires_at",
                            "lifted_at", "lifted_by", "active"}
    assert old in [b["address"] for b in body["recent"]]
    assert old not in [b["address"] for b in body["active"]]
    page = client.get("/security/sip-bans").get_data(as_text=True)
    assert active in page and old in page
    for text in (str(body), page):
        assert SECRET_ACCOUNT not in text


def test_lift_from_the_page_is_stored_and_audited(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    address = new_address()
    ban_id = add_ban(store, address)
    login(ADMIN)
    resp = client.post("/security/sip-bans/lift",
                       data={"address": address, "csrf_token": csrf(client)})
    assert resp.status_code == 302
    with store() as s:
        row = s.get(SipBan, ban_id)
        assert row.lifted_at is not None and row.lifted_by == f"panel:{ADMIN}"
        event = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "sip.unban",
                                                      SecurityEvent.source == address)).one()
        assert event.actor == f"panel:{ADMIN}"
    assert "lifted" in client.get("/security/sip-bans").get_data(as_text=True)


def test_lift_needs_the_csrf_token(client, login, store) -> None:  # type: ignore[no-untyped-def]
    address = new_address()
    add_ban(store, address)
    login(ADMIN)
    assert client.post("/security/sip-bans/lift", data={"address": address}).status_code == 400
    assert client.delete(f"/api/v1/sip-bans/{address}").status_code == 400
    with store() as s:
        assert s.scalars(select(SipBan).where(SipBan.address == address)).one().lifted_at is None


def test_api_lift_and_who_lifted_is_shown_to_own_tenant_only(client, login, csrf, store  # type: ignore[no-untyped-def]
                                                             ) -> None:
    address = new_address()
    add_ban(store, address)
    login(ADMIN)
    resp = api(client, csrf, "DELETE", f"/api/v1/sip-bans/{address}")
    assert resp.status_code == 200 and resp.get_json()["lifted"] == address
    recent = {b["address"]: b for b in client.get("/api/v1/sip-bans").get_json()["recent"]}
    assert recent[address]["lifted_by"] == f"panel:{ADMIN}"
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME_ADMIN)
    recent = {b["address"]: b for b in client.get("/api/v1/sip-bans").get_json()["recent"]}
    assert recent[address]["lifted_by"] == "panel"  # not the demo admin's login


@pytest.mark.parametrize(("address", "status", "error_id"), [
    ("203.0.113.250", 404, "not_found"),  # not banned
    ("300.1.2.3", 400, "bad_parameter"),
    ("evil", 400, "bad_parameter"),
])
def test_api_lift_errors(client, login, csrf, address: str, status: int, error_id: str,  # type: ignore[no-untyped-def]
                         ) -> None:
    login(ADMIN)
    resp = api(client, csrf, "DELETE", f"/api/v1/sip-bans/{address}")
    assert resp.status_code == status
    err = resp.get_json()["error"]
    assert err["id"] == error_id
    if status == 400:
        assert err["details"]["parameter"] == "address" and address in err["message"]


def test_unknown_input_is_refused_by_name(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    address = new_address()
    add_ban(store, address)
    login(ADMIN)
    resp = client.get("/api/v1/sip-bans?active=1")
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["parameter"] == "active"
    resp = client.delete(f"/api/v1/sip-bans/{address}", json={"forever": True},
                         headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["field"] == "forever"
    for form, message in (({"address": address, "why": "x"}, "parameter &#39;why&#39;: unknown"),
                          ({}, "parameter &#39;address&#39;: required")):
        resp = client.post("/security/sip-bans/lift", data={**form, "csrf_token": csrf(client)})
        assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    with store() as s:  # none of those lifted it
        assert s.scalars(select(SipBan).where(SipBan.address == address)).one().lifted_at is None


def test_the_address_is_lifted_as_stored(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    add_ban(store, "2001:db8::7")
    login(ADMIN)
    resp = api(client, csrf, "DELETE", "/api/v1/sip-bans/2001:DB8:0::7")
    assert resp.status_code == 200 and resp.get_json()["lifted"] == "2001:db8::7"
