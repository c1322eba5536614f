"""Login, logout, CSRF and the login rate limit against a real Redis and SQLite."""

from __future__ import annotations

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.models import User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"


def logged_in(client: FlaskClient) -> bool:
    return client.get("/api/v1/calls/live").status_code == 200


def test_login_success_sets_session_and_redirects(client, login_form):
    resp = login_form(client, ADMIN, "correct horse battery staple")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/calls/records"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("centrala_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert logged_in(client)
    page = client.get("/calls/records").get_data(as_text=True)
    assert ADMIN in page


@pytest.mark.parametrize(
    "address, password",
    [
        (ADMIN, "wrong password"),  # wrong password
        ("admin@nowhere.example", "correct horse battery staple"),  # unknown domain
        (f"nobody@{DEMO_DOMAIN}", "correct horse battery staple"),  # unknown login
        ("admin", "correct horse battery staple"),  # malformed: no @
        (f"@{DEMO_DOMAIN}", "correct horse battery staple"),  # malformed: no login
        (f"gone@{DEMO_DOMAIN}", "correct horse battery staple"),  # deactivated user
        (ADMIN, ""),  # empty password
    ],
)
def test_login_failure_is_generic(client, login_form, address, password):
    resp = login_form(client, address, password)
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "invalid login or password" in body
    assert not logged_in(client)


def test_login_domain_is_case_insensitive(client, login_form):
    assert (
        login_form(
            client, f"admin@{DEMO_DOMAIN.upper()}", "correct horse battery staple"
        ).status_code
        == 302
    )


def test_login_follows_safe_next_only(client, csrf):
    client.get("/login")
    data = {
        "address": ADMIN,
        "password": "correct horse battery staple",
        "csrf_token": csrf(client),
    }
    resp = client.post("/login?next=/calls/live", data=data)
    assert resp.headers["Location"] == "/calls/live"
    client.post("/logout", data={"csrf_token": csrf(client)})
    client.get("/login")
    data["csrf_token"] = csrf(client)
    resp = client.post("/login?next=//evil.example/x", data=data)
    assert resp.headers["Location"] == "/calls/records"


def test_protected_page_redirects_to_login_with_next(client):
    resp = client.get("/calls/records?number=12")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")
    assert "number" in resp.headers["Location"]


def test_logout_ends_session(client, login, csrf):
    login(ADMIN)
    assert logged_in(client)
    resp = client.post("/logout", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login"
    assert not logged_in(client)
    assert client.get("/calls/records").status_code == 302


def test_logout_is_post_only(client, login):
    login(ADMIN)
    assert client.get("/logout").status_code == 405
    assert logged_in(client)


def test_post_without_csrf_token_is_rejected(client, login):
    login(ADMIN)
    resp = client.post("/logout")
    assert resp.status_code == 400
    assert "CSRF" in resp.get_data(as_text=True)
    assert logged_in(client)


def test_post_with_wrong_csrf_token_is_rejected(client, login):
    login(ADMIN)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert logged_in(client)


def test_csrf_header_is_accepted(client, login, csrf):
    login(ADMIN)
    assert client.post("/logout", headers={"X-CSRF-Token": csrf(client)}).status_code == 302


def test_login_without_csrf_token_is_rejected(client):
    client.get("/login")
    resp = client.post(
        "/login", data={"address": ADMIN, "password": "correct horse battery staple"}
    )
    assert resp.status_code == 400
    assert not logged_in(client)


def test_api_post_without_csrf_gets_json_error(client, login):
    login(ADMIN)
    resp = client.post("/api/v1/calls/live")
    assert resp.status_code == 400
    assert resp.get_json()["error"]["id"] == "csrf_failed"


def test_login_rotates_csrf_token(client, csrf, login):
    client.get("/login")
    before = csrf(client)
    login(ADMIN)
    assert csrf(client) != before


def test_rate_limit_after_ten_failures(client, login_form, redis_client: redis.Redis):
    for _ in range(10):
        assert login_form(client, ADMIN, "nope").status_code == 200
    # Even the right password is refused now, with a distinct message.
    resp = login_form(client, ADMIN, "correct horse battery staple")
    assert resp.status_code == 429
    assert "too many failed logins" in resp.get_data(as_text=True)
    assert not logged_in(client)
    key = "centrala:web:login-failures:127.0.0.1"
    assert 0 < redis_client.ttl(key) <= 300
    redis_client.delete(key)  # the window expiring lets the user in again
    assert login_form(client, ADMIN, "correct horse battery staple").status_code == 302


def test_rate_limit_is_per_address(app: Flask, login_form, redis_client: redis.Redis):
    redis_client.set("centrala:web:login-failures:10.0.0.9", 10)
    with app.test_client() as other:
        assert login_form(other, ADMIN, "correct horse battery staple").status_code == 302
    with app.test_client() as blocked:
        blocked.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        assert login_form(blocked, ADMIN, "correct horse battery staple").status_code == 429


def test_password_change_ends_existing_sessions(app: Flask, client, login, world):

    login(f"supervisor@{DEMO_DOMAIN}")
    assert logged_in(client)
    sessions = app.extensions["centrala"].sessions
    with sessions.begin() as s:
        user = s.scalar(
            select(User).where(User.tenant_id == world.demo_tenant, User.login == "supervisor")
        )
        old_hash = user.password_hash
        user.password_hash = hash_password("a new password")
    try:
        assert not logged_in(client)
        assert client.get("/calls/records").status_code == 302
    finally:
        with sessions.begin() as s:
            s.get(User, user.id).password_hash = old_hash
