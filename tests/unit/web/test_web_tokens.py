"""API tokens: made once, hashed at rest, scoped, revocable; Bearer on /api/v1 only.

Real SQLite and Redis (tests/unit/web/conftest.py). Tokens are made through the API and
the page as a user would, then used with ``Authorization: Bearer``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import ApiToken, SecurityEvent, Tenant, User
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"


@pytest.fixture(autouse=True)
def _no_tokens_left(app: Flask) -> Iterator[None]:
    yield
    with transaction(app.extensions["centrala"].sessions) as s:
        s.execute(delete(ApiToken))


def make_token(client: FlaskClient, csrf: Callable[[FlaskClient], str], scope: str = "read",
               **extra: Any) -> dict[str, Any]:
    resp = client.post("/api/v1/tokens", json={"name": f"t-{scope}", "scope": scope, **extra},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert isinstance(body, dict)
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_shown_once_and_stored_as_a_hash(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str]) -> None:
    login(ADMIN)
    made = make_token(client, csrf, "admin", expires_in_days=30)
    secret = made["token"]
    assert secret.startswith("cnt_") and len(secret) >= 40
    assert made["prefix"] == secret[:10] and made["scope"] == "admin" and made["active"]
    listed = client.get("/api/v1/tokens").get_json()["tokens"]
    assert [t["id"] for t in listed] == [made["id"]]
    assert secret not in client.get("/api/v1/tokens").get_data(as_text=True)
    with app.extensions["centrala"].sessions() as s:
        row = s.get(ApiToken, made["id"])
        assert row is not None
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        kinds = [e.kind for e in s.scalars(select(SecurityEvent).order_by(SecurityEvent.id))]
        assert kinds[-1] == "api_token.created"
        assert secret not in str(s.scalars(select(SecurityEvent.detail)).all())


def test_bearer_works_without_session_or_csrf_and_records_last_use(
        app: Flask, login: Callable[..., object], csrf: Callable[[FlaskClient], str]) -> None:
    with app.test_client() as c:
        login_client(c, ADMIN, csrf)
        secret = make_token(c, csrf, "admin")["token"]
    with app.test_client() as fresh:  # no cookie at all
        resp = fresh.get("/api/v1/users", headers=bearer(secret))
        assert resp.status_code == 200, resp.get_json()
        assert any(u["login"] == "admin" for u in resp.get_json()["users"])
        # a write with no CSRF token: fine for a token
        made = fresh.post("/api/v1/tokens", json={"name": "via token", "scope": "read"},
                          headers=bearer(secret))
        assert made.status_code == 201, made.get_json()
        mine = fresh.get("/api/v1/tokens", headers=bearer(secret)).get_json()["tokens"]
        used = mine[-1]  # the first token, the one these requests used
        assert used["last_used_at"] is not None and used["last_used_from"] == "127.0.0.1"
        # a page is never opened by a token
        assert fresh.get("/users", headers=bearer(secret)).status_code == 302


def login_client(c: FlaskClient, address: str, csrf: Callable[[FlaskClient], str]) -> None:
    assert c.get("/login").status_code == 200
    resp = c.post("/login", data={"address": address, "password": "correct horse battery staple",
                                  "csrf_token": csrf(c)})
    assert resp.status_code == 302


@pytest.mark.parametrize("header", [
    "Bearer cnt_nosuchtoken", "Bearer ", "bearer x" * 100, "Bearer \u0105",
])
def test_an_unknown_token_is_401_with_the_error_shape(client: FlaskClient, header: str) -> None:
    resp = client.get("/api/v1/calls/live", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.get_json()["error"]["id"] in ("invalid_token", "unauthorized")


def test_a_revoked_or_expired_token_stops_at_once(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str], clock: Any) -> None:
    login(ADMIN)
    one = make_token(client, csrf, "read")
    two = make_token(client, csrf, "read", expires_in_days=1)
    api = app.test_client()  # no 'with': the client fixture holds the context
    assert api.get("/api/v1/calls/live", headers=bearer(one["token"])).status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{one['id']}",
                            headers={"X-CSRF-Token": csrf(client)})
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    resp = api.get("/api/v1/calls/live", headers=bearer(one["token"]))
    assert resp.status_code == 401 and resp.get_json()["error"]["id"] == "invalid_token"
    assert api.get("/api/v1/calls/live", headers=bearer(two["token"])).status_code == 200
    clock.advance(days=1, seconds=1)
    assert api.get("/api/v1/calls/live", headers=bearer(two["token"])).status_code == 401
    with app.extensions["centrala"].sessions() as s:
        assert s.scalars(select(SecurityEvent.kind).order_by(SecurityEvent.id.desc())).first() \
            == "api_token.revoked"


def test_a_read_token_on_a_write_route_is_403(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str]) -> None:
    login(ADMIN)
    read = make_token(client, csrf, "read")["token"]
    write = make_token(client, csrf, "write")["token"]
    api = app.test_client()  # no 'with': the client fixture holds the context
    assert api.get("/api/v1/queues", headers=bearer(read)).status_code == 200
    resp = api.post("/api/v1/tokens", json={"name": "x"}, headers=bearer(read))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["details"] == {"scope": "read", "required": "write"}
    # an admin-only change needs the admin scope
    resp = api.post("/api/v1/break-reasons", json={"name": "Lunch"}, headers=bearer(write))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["details"]["required"] == "admin"
    # and a token makes no token wider than itself
    resp = api.post("/api/v1/tokens", json={"name": "wider", "scope": "admin"},
                    headers=bearer(write))
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["field"] == "scope"


def test_a_token_never_holds_more_than_the_role(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str]) -> None:
    login(AGENT)
    resp = client.post("/api/v1/tokens", json={"name": "x", "scope": "admin"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["field"] == "scope"
    write = make_token(client, csrf, "write")["token"]
    api = app.test_client()  # no 'with': the client fixture holds the context
    # the role still decides: an agent's token does not open admin routes
    assert api.get("/api/v1/users", headers=bearer(write)).status_code == 403
    assert api.get("/api/v1/agents/me", headers=bearer(write)).status_code == 200


def test_a_deactivated_user_s_tokens_stop(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str], person: tuple[int, str]) -> None:
    login(person[1])
    secret = make_token(client, csrf, "read")["token"]
    api = app.test_client()  # no 'with': the client fixture holds the context
    assert api.get("/api/v1/agents/me", headers=bearer(secret)).status_code == 200
    with transaction(app.extensions["centrala"].sessions) as s:
        user = s.get(User, person[0])
        assert user is not None
        user.active = False
    assert api.get("/api/v1/agents/me", headers=bearer(secret)).status_code == 401


def test_tokens_are_tenant_scoped(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str]) -> None:
    login(ADMIN)
    demo = make_token(client, csrf, "admin")
    other = app.test_client()  # no 'with': the client fixture holds the context
    login_client(other, "boss@acme.example", csrf)
    resp = other.delete(f"/api/v1/tokens/{demo['id']}",
                        headers={"X-CSRF-Token": csrf(other)})
    assert resp.status_code == 404
    assert other.get("/api/v1/tokens").get_json()["tokens"] == []


def test_the_page_creates_shows_once_and_revokes(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        csrf: Callable[[FlaskClient], str], demo_in_polish: None) -> None:
    login(ADMIN)
    page = client.get("/account/tokens")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Tokeny API" in html and "administracja" in html
    created = client.post("/account/tokens", data={
        "name": "CRM", "scope": "write", "expires_in_days": "", "csrf_token": csrf(client)})
    assert created.status_code == 200
    html = created.get_data(as_text=True)
    with app.extensions["centrala"].sessions() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.name == "CRM"))
        assert row is not None
    secret = html.split('id="token-secret">', 1)[1].split("<", 1)[0]
    assert hashlib.sha256(secret.encode()).hexdigest() == row.token_hash
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again and row.prefix in again  # shown once, then only its prefix
    bad = client.post("/account/tokens", data={
        "name": " ", "scope": "root", "expires_in_days": "0", "csrf_token": csrf(client)})
    assert bad.status_code == 400
    assert bad.get_data(as_text=True).count('role="alert"') == 3
    gone = client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": csrf(client)})
    assert gone.status_code == 302
    with app.extensions["centrala"].sessions() as s:
        assert s.get(ApiToken, row.id).revoked_at is not None  # type: ignore[union-attr]


def test_the_tenant_limit_defaults_to_the_smallest_package(app: Flask) -> None:
    with app.extensions["centrala"].sessions() as s:
        assert {t.api_monthly_limit for t in s.scalars(select(Tenant))} == {30000}
