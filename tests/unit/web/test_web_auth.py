"""Login, logout, CSRF and the login rate limit against a real Redis and SQLite."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.models import User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"


def logged_in(client: FlaskClient) -> bool:
    return client.get("/api/v1/calls/live").status_code == 200


def session_cookie(resp) -> str:
    return next(c for c in resp.headers.getlist("Set-Cookie")
                if c.startswith("centrala_session="))


def test_login_success_sets_session_and_redirects(client, login_form):
    resp = login_form(client, ADMIN, "correct horse battery staple")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/calls/records"
    cookie = session_cookie(resp)
    # Only a random session id: no user id, no signature payload to decode.
    assert re.fullmatch(r"centrala_session=s\.[A-Za-z0-9_-]{43}", cookie.split(";")[0])
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see test_web_tls
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


# --- open redirect ----------------------------------------------------------------------

OFF_SITE = [
    "/%09/evil.example/phish",  # a tab: browsers strip it and see //evil.example
    "/%0a/evil.example",  # a newline, same
    "/%0d%0aSet-Cookie:%20x=1",  # header injection attempt
    "//evil.example",
    "%2F%2Fevil.example",  # the same, encoded
    "/%5Cevil.example",  # /\evil.example
    "/%5C%5Cevil.example",
    "%5C%5Cevil.example",
    "https://evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/%20/evil.example",  # a space where a browser might fold
    "/%E3%80%80/evil.example",  # a non-ASCII space
    "/" + "a" * 2001,
]


@pytest.mark.parametrize("raw", OFF_SITE)
def test_next_off_site_goes_to_the_default_page(client, csrf, raw):
    client.get("/login")
    data = {"address": ADMIN, "password": "correct horse battery staple",
            "csrf_token": csrf(client)}
    resp = client.post(f"/login?next={raw}", data=data)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/calls/records"


def test_next_in_the_form_field_is_checked_too(client, csrf):
    client.get("/login?next=/%09/evil.example")
    page = client.get("/login?next=/%09/evil.example").get_data(as_text=True)
    assert 'name="next"' not in page  # never echoed into the form
    data = {"address": ADMIN, "password": "correct horse battery staple",
            "csrf_token": csrf(client), "next": "//evil.example"}
    assert client.post("/login", data=data).headers["Location"] == "/calls/records"


@pytest.mark.parametrize("target", ["/calls/live", "/calls/records?number=12&page=2",
                                    "/agents", "/"])
def test_next_local_path_is_followed(client, csrf, target):
    client.get("/login")
    data = {"address": ADMIN, "password": "correct horse battery staple",
            "csrf_token": csrf(client), "next": target}
    assert client.post("/login", data=data).headers["Location"] == target


@pytest.mark.parametrize("target, ok", [
    ("/", True), ("/calls/live?x=1#frag", True), ("/a/b//c", True),
    ("", False), ("//x", False), ("/\\x", False), ("/x\\y", False), ("/\tx", False),
    ("/\x00", False), ("/\x7f", False), ("/\u0085", False), ("http://x", False),
    ("x", False), (" /x", False), ("/ x", False), (None, False),
])
def test_safe_next_table(target, ok):
    from web.auth import safe_next

    assert safe_next(target) == (target if ok else None)


# --- the audit trail of logins ------------------------------------------------------------


def _events(app: Flask, since_id: int, kind: str | None = None) -> list:
    from controlplane.models import SecurityEvent

    with app.extensions["centrala"].sessions() as s:
        query = select(SecurityEvent).where(SecurityEvent.id > since_id).order_by(SecurityEvent.id)
        if kind:
            query = query.where(SecurityEvent.kind == kind)
        return list(s.scalars(query))


def _last_event_id(app: Flask) -> int:
    from sqlalchemy import func

    from controlplane.models import SecurityEvent

    with app.extensions["centrala"].sessions() as s:
        return s.scalar(select(func.max(SecurityEvent.id))) or 0


def test_logins_logouts_and_failures_are_audited(app, client, login_form, csrf, world, caplog):
    caplog.set_level("INFO", logger="centrala.security")
    before = _last_event_id(app)
    client.environ_base["REMOTE_ADDR"] = "10.20.30.40"
    client.environ_base["HTTP_USER_AGENT"] = "AuditTest/1.0"
    login_form(client, ADMIN, "wrong password")
    login_form(client, f"nobody@{DEMO_DOMAIN}", "x")
    login_form(client, "no-at-sign", "x")
    login_form(client, f"gone@{DEMO_DOMAIN}", "correct horse battery staple")
    assert login_form(client, f"admin@{DEMO_DOMAIN.upper()}",
                      "correct horse battery staple").status_code == 302
    client.post("/logout", data={"csrf_token": csrf(client)})
    rows = [(e.kind, e.actor, e.source, e.tenant_id, e.detail.get("reason"))
            for e in _events(app, before)]
    assert rows == [
        ("login.failed", ADMIN, "10.20.30.40", world.demo_tenant, "bad_password"),
        ("login.failed", f"nobody@{DEMO_DOMAIN}", "10.20.30.40", world.demo_tenant,
         "unknown_account"),
        ("login.failed", "no-at-sign", "10.20.30.40", None, "malformed"),
        ("login.failed", f"gone@{DEMO_DOMAIN}", "10.20.30.40", world.demo_tenant, "inactive"),
        ("login.ok", ADMIN, "10.20.30.40", world.demo_tenant, None),
        ("logout", ADMIN, "10.20.30.40", world.demo_tenant, None),
    ]
    events = _events(app, before)
    assert events[0].detail["user_agent"] == "AuditTest/1.0"
    assert events[4].detail["session"] == events[5].detail["session"]
    # Never the password, in the table or the log.
    assert not any("wrong password" in str(e.detail) for e in events)
    logged = [r.getMessage() for r in caplog.records if r.name == "centrala.security"]
    assert any("login.ok" in m and ADMIN in m and "10.20.30.40" in m for m in logged)
    assert sum("login.failed" in m for m in logged) == 4
    assert not any("wrong password" in m or "correct horse" in m for m in logged)


def test_overlong_login_is_a_clear_400(client, login_form):
    resp = login_form(client, "a" * 390 + f"@{DEMO_DOMAIN}", "x")
    assert resp.status_code == 400
    assert "login: at most 400 characters" in resp.get_data(as_text=True)
    assert not logged_in(client)
