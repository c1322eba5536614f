"""Seats, one workstation and the IP allow-list at login (issue 12 items 5 and 6).

Each test gets a tenant of its own (``seats.<uuid>.example``, two licences, the policy at
its defaults: one workstation on, every address allowed), so licences and sessions
counted here are only the test's. Two test clients are two workstations (each gets its
own known-device cookie); ``environ_base`` sets a client's address.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import PanelSession, Role, SecurityEvent, Tenant, TenantAccess, User
from controlplane.passwords import hash_password

from .conftest import PASSWORD, csrf_of, do_login


@dataclass(frozen=True)
class Seats:
    tenant_id: int
    domain: str

    def address(self, login: str) -> str:
        return f"{login}@{self.domain}"


@pytest.fixture
def seats(app: Flask) -> Iterator[Seats]:
    domain = f"seats-{uuid.uuid4().hex[:8]}.example"
    factory = app.extensions["centrala"].sessions
    pw = hash_password(PASSWORD)
    with transaction(factory) as s:
        tenant = Tenant(domain=domain, name="Seats", licences=2)
        s.add(tenant)
        s.flush()
        s.add_all([User(tenant_id=tenant.id, login=login, role=role, password_hash=pw)
                   for login, role in (("boss", Role.ADMIN), ("sup", Role.SUPERVISOR),
                                       ("a1", Role.AGENT), ("a2", Role.AGENT))])
        tid = tenant.id
    yield Seats(tid, domain)
    with transaction(factory) as s:
        s.execute(delete(Tenant).where(Tenant.id == tid))


def _client(app: Flask, address: str = "127.0.0.1", language: str = "en") -> FlaskClient:
    c = app.test_client()
    c.environ_base.update({"REMOTE_ADDR": address, "HTTP_ACCEPT_LANGUAGE": language})
    return c


def _logged_in(client: FlaskClient) -> bool:
    return client.get("/api/v1/calls/live").status_code == 200


def _events(app: Flask, tenant_id: int, kind: str) -> list[SecurityEvent]:
    with app.extensions["centrala"].sessions() as s:
        return list(s.scalars(select(SecurityEvent).where(
            SecurityEvent.tenant_id == tenant_id, SecurityEvent.kind == kind)
            .order_by(SecurityEvent.id)))


def _set_policy(app: Flask, tenant_id: int, **values: object) -> None:
    with transaction(app.extensions["centrala"].sessions) as s:
        row = s.get(TenantAccess, tenant_id) or TenantAccess(tenant_id=tenant_id)
        for k, v in values.items():
            setattr(row, k, v)
        s.add(row)


def _logout(client: FlaskClient) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_of(client)}).status_code == 302


# --- licences -----------------------------------------------------------------------


def test_licences_cap_agents_and_supervisors_with_a_clear_message(app, seats):
    a1, sup, a2, boss = (_client(app) for _ in range(4))
    assert do_login(a1, seats.address("a1")).status_code == 302
    assert do_login(sup, seats.address("sup")).status_code == 302
    resp = do_login(a2, seats.address("a2"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 403
    assert "All 2 licences of Seats are in use: 2 agents and supervisors are logged in" in body
    assert not _logged_in(a2)
    refused = _events(app, seats.tenant_id, "login.refused")
    assert [(e.actor, e.detail["reason"], e.detail["in_use"]) for e in refused] == [
        (seats.address("a2"), "licences", 2)]
    # The administrator is never locked out (to end a session or buy licences).
    assert do_login(boss, seats.address("boss")).status_code == 302
    # A second browser tab of a user holding a seat takes no new seat...
    again = do_login(a1, seats.address("a1"))
    assert again.status_code == 302
    # ...and a seat freed by logging out lets the next agent in.
    _logout(sup)
    assert do_login(a2, seats.address("a2")).status_code == 302
    assert _logged_in(a2) and _logged_in(a1)


def test_licence_refusal_is_polish_for_polish_browsers(app, seats):
    for login in ("a1", "sup"):
        assert do_login(_client(app, language="pl"), seats.address(login)).status_code == 302
    resp = do_login(_client(app, language="pl"), seats.address("a2"))
    assert resp.status_code == 403
    assert "Wszystkie licencje (2) najemcy Seats są w użyciu" in resp.get_data(as_text=True)


# --- one user, one workstation ------------------------------------------------------


def test_second_workstation_is_asked_to_take_over_and_the_first_is_told_why(app, seats):
    first, second = _client(app, "10.0.0.1"), _client(app, "10.0.0.2")
    assert do_login(first, seats.address("a1")).status_code == 302
    resp = do_login(second, seats.address("a1"))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "You are logged in elsewhere (10.0.0.1, since" in body and "Take over?" in body
    assert not _logged_in(second) and _logged_in(first)  # nothing changed yet
    pending = body.split('name="pending" value="', 1)[1].split('"', 1)[0]

    # The question's token works only in the browser it was given to.
    thief = _client(app, "10.0.0.3")
    thief.get("/login")
    stolen = thief.post("/login/take-over", data={"pending": pending,
                                                  "csrf_token": csrf_of(thief)})
    assert stolen.status_code == 400 and not _logged_in(thief)

    taken = second.post("/login/take-over", data={"pending": pending,
                                                  "csrf_token": csrf_of(second)})
    assert taken.status_code == 302
    assert _logged_in(second)
    page = first.get("/calls/records")
    assert page.status_code == 302 and "why=taken_over" in page.headers["Location"]
    notice = first.get(page.headers["Location"]).get_data(as_text=True)
    assert "your login was used on another workstation" in notice
    assert first.get("/api/v1/calls/live").status_code == 401
    (event,) = _events(app, seats.tenant_id, "session.taken_over")
    assert event.actor == seats.address("a1") and event.source == "10.0.0.2"
    with app.extensions["centrala"].sessions() as s:
        reasons = [r.revoked_reason for r in s.scalars(
            select(PanelSession).join(User).where(User.tenant_id == seats.tenant_id))]
    assert reasons == ["taken_over", ""]


def test_same_browser_logs_in_again_without_the_question(app, seats):
    c = _client(app)
    assert do_login(c, seats.address("a1")).status_code == 302
    assert do_login(c, seats.address("a1")).status_code == 302


def test_the_rule_can_be_turned_off_per_tenant(app, seats):
    _set_policy(app, seats.tenant_id, one_workstation=False)
    first, second = _client(app), _client(app)
    assert do_login(first, seats.address("a1")).status_code == 302
    assert do_login(second, seats.address("a1")).status_code == 302
    assert _logged_in(first) and _logged_in(second)


# --- IP allow-list ------------------------------------------------------------------


def test_allow_list_is_checked_at_login_and_on_every_request(app, seats):
    _set_policy(app, seats.tenant_id, ip_allow_list=["10.0.0.0/8", "2001:db8::/32"])
    outside = _client(app, "192.0.2.7")
    resp = do_login(outside, seats.address("a1"))
    assert resp.status_code == 403
    assert "from your address 192.0.2.7 is not allowed" in resp.get_data(as_text=True)
    assert not _logged_in(outside)
    assert _events(app, seats.tenant_id, "login.refused")[-1].detail["reason"] == "ip_not_allowed"
    assert do_login(_client(app, "2001:db8::5"), seats.address("a1")).status_code == 302
    inside = _client(app, "10.1.2.3")
    assert do_login(inside, seats.address("a2")).status_code == 302
    assert _logged_in(inside)
    # The list changes under a live session: its next request is refused.
    _set_policy(app, seats.tenant_id, ip_allow_list=["10.9.0.0/16"])
    resp = inside.get("/api/v1/calls/live")
    assert resp.status_code == 403
    # (the tenant speaks Polish, and a logged-in user gets the tenant's language)
    assert "Twojego adresu 10.1.2.3 nie ma na liście" in resp.json["error"]["message"]
