"""Server-side panel sessions: logout, password change and force logout end them at once.

The copied-cookie tests go through a real HTTP server (werkzeug, in a thread) and
``urllib``, as a browser and a thief holding a copy of its cookie would.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.db import transaction
from controlplane.models import PanelSession, SecurityEvent, User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from web.server import make_panel_server

from .conftest import PASSWORD

ADMIN = f"admin@{DEMO_DOMAIN}"


def logged_in(client: FlaskClient) -> bool:
    return client.get("/api/v1/calls/live").status_code == 200


def _rows(app: Flask, user_id: int) -> list[PanelSession]:
    with app.extensions["centrala"].sessions() as s:
        return list(s.scalars(select(PanelSession).where(PanelSession.user_id == user_id)
                              .order_by(PanelSession.id)))


def _events(app: Flask, kind: str, actor: str) -> list[SecurityEvent]:
    with app.extensions["centrala"].sessions() as s:
        return list(s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind == kind, SecurityEvent.actor == actor).order_by(SecurityEvent.id)))


# --- over a real HTTP server ---------------------------------------------------------


@pytest.fixture
def http_base(app: Flask, settings) -> Iterator[str]:
    server = make_panel_server(settings, app, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener(jar: http.cookiejar.CookieJar) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)


def _status(opener: urllib.request.OpenerDirector, url: str, data: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(req, timeout=20) as resp:
            return resp.status, resp.headers.get("Location", ""), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Location", ""), err.read().decode()


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def _http_login(base: str, address: str) -> tuple[urllib.request.OpenerDirector,
                                                   http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    opener = _opener(jar)
    _, _, page = _status(opener, base + "/login")
    form = {"address": address, "password": PASSWORD, "csrf_token": _csrf(page)}
    status, location, _ = _status(opener, base + "/login",
                                  urllib.parse.urlencode(form).encode())
    assert (status, location) == (302, "/calls/records")
    return opener, jar


def test_logout_revokes_a_copied_cookie_over_http(app, http_base, person):
    uid, address = person
    browser, jar = _http_login(http_base, address)
    cookie = next(c for c in jar if c.name == "centrala_session")
    assert cookie.has_nonstandard_attr("HttpOnly")

    thief_jar = http.cookiejar.CookieJar()
    thief_jar.set_cookie(cookie)  # the same value, in another "browser"
    thief = _opener(thief_jar)
    assert _status(thief, http_base + "/api/v1/calls/live")[0] == 200

    _, _, page = _status(browser, http_base + "/calls/records")
    status, location, _ = _status(browser, http_base + "/logout",
                                  urllib.parse.urlencode({"csrf_token": _csrf(page)}).encode())
    assert (status, location) == (302, "/login")

    # The copy is dead at once: the API says 401, pages send it to the login form.
    assert _status(thief, http_base + "/api/v1/calls/live")[0] == 401
    status, location, _ = _status(thief, http_base + "/calls/records")
    assert status == 302 and location.startswith("/login")
    (row,) = _rows(app, uid)
    assert row.revoked_at is not None and row.revoked_reason == "logout"
    assert [e.source for e in _events(app, "logout", address)] == ["127.0.0.1"]


def test_force_logout_over_http_ends_a_live_browser(app, http_base, person):
    uid, address = person
    victim, _ = _http_login(http_base, address)
    admin, _ = _http_login(http_base, ADMIN)
    assert _status(victim, http_base + "/api/v1/calls/live")[0] == 200
    _, _, page = _status(admin, http_base + "/users")
    status, _, body = _status(admin, f"{http_base}/api/v1/users/{uid}/sessions/revoke", b"",
                              {"X-CSRF-Token": _csrf(page)})
    assert (status, body.strip()) == (200, '{"revoked":1}')
    assert _status(victim, http_base + "/api/v1/calls/live")[0] == 401


# --- what is stored --------------------------------------------------------------------


def test_cookie_is_only_an_id_and_the_table_only_its_hash(app, client, login_form, person):
    uid, address = person
    client.environ_base["HTTP_USER_AGENT"] = "SessionTest/2"
    resp = login_form(client, address, PASSWORD)
    value = client.get_cookie("centrala_session").value
    assert value.startswith("s.") and len(value) == 45
    (row,) = _rows(app, uid)
    assert row.token_hash == hashlib.sha256(value[2:].encode()).hexdigest()
    assert value[2:] not in repr(row.__dict__)
    assert (row.source, row.user_agent) == ("127.0.0.1", "SessionTest/2")
    assert row.absolute_expires_at - row.created_at == app.config["PERMANENT_SESSION_LIFETIME"]
    assert row.idle_expires_at - row.created_at == app.config["SESSION_IDLE_TIMEOUT"]
    assert resp.status_code == 302


def test_visitors_get_no_session_row(app, client):
    with app.extensions["centrala"].sessions() as s:
        before = len(s.scalars(select(PanelSession.id)).all())
    for _ in range(3):
        assert client.get("/login").status_code == 200
    assert client.get_cookie("centrala_session").value.startswith("a.")
    with app.extensions["centrala"].sessions() as s:
        assert len(s.scalars(select(PanelSession.id)).all()) == before


def test_a_forged_or_garbage_cookie_is_a_visitor(client):
    for value in ("s." + "A" * 43, "s.short", "x" * 300, "a." + "B" * 43):
        client.set_cookie("centrala_session", value)
        assert not logged_in(client)


def test_flash_messages_survive_the_redirect_in_the_session_row(app, client, login, csrf,
                                                                 person):
    uid, _ = person
    login(ADMIN)
    resp = client.post(f"/users/{uid}/sessions/revoke", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    page = client.get("/users").get_data(as_text=True)
    assert "0 session(s) ended" in page
    assert "0 session(s) ended" not in client.get("/users").get_data(as_text=True)


# --- expiry -------------------------------------------------------------------------------


def test_idle_timeout_and_absolute_lifetime(app, client, login, clock, person):
    _, address = person
    login(address)
    idle = app.config["SESSION_IDLE_TIMEOUT"].total_seconds()
    for _ in range(3):  # used now and then: stays in past the first idle period
        clock.advance(seconds=idle - 90)
        assert logged_in(client)
    clock.advance(seconds=idle + 1)  # then left alone for longer than the idle time
    assert not logged_in(client)

    login(address)
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    used = 0.0
    while used + idle / 2 < lifetime:  # busy all shift long
        clock.advance(seconds=idle / 2)
        used += idle / 2
        assert logged_in(client), used
    clock.advance(seconds=lifetime - used + 1)
    assert not logged_in(client)


def test_deactivating_a_user_ends_their_session(app, client, login, person):
    uid, address = person
    login(address)
    with transaction(app.extensions["centrala"].sessions) as s:
        s.get(User, uid).active = False
    assert not logged_in(client)
    assert _rows(app, uid)[-1].revoked_reason == "user_inactive"


# --- password change -------------------------------------------------------------------------


def test_password_change_ends_other_sessions_not_this_one(app, client, login, csrf, person):
    uid, address = person
    login(address)
    others = []
    for _ in range(2):
        other = app.test_client()
        other.get("/login")
        with other.session_transaction() as sess:
            token = sess["csrf"]
        assert other.post("/login", data={"address": address, "password": PASSWORD,
                                          "csrf_token": token}).status_code == 302
        assert logged_in(other)
        others.append(other)

    new = "a much better passphrase"
    resp = client.post("/account/password", data={
        "csrf_token": csrf(client), "current": PASSWORD, "new": new, "confirm": new})
    assert resp.status_code == 302
    assert "2 other session(s) ended" in client.get("/account/password").get_data(as_text=True)
    assert logged_in(client)
    assert not any(logged_in(o) for o in others)
    reasons = sorted(r.revoked_reason for r in _rows(app, uid))
    assert reasons == ["", "password_changed", "password_changed"]
    assert [e.detail["sessions"] for e in _events(app, "session.revoked", address)] == [2]
    assert len(_events(app, "password.changed", address)) == 1

    other = app.test_client()
    from .conftest import do_login

    assert do_login(other, address, PASSWORD).status_code == 200  # the old one is refused
    assert do_login(other, address, new).status_code == 302


@pytest.mark.parametrize("fields, status, message", [
    ({"current": "wrong", "new": "long enough password", "confirm": "long enough password"},
     400, "current password: wrong password"),
    ({"current": PASSWORD, "new": "short", "confirm": "short"}, 400,
     "new password: at least 12 characters"),
    ({"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD}, 400,
     "new password: must differ from the current password"),
    ({"current": PASSWORD, "new": "long enough password", "confirm": "long enough passwort"},
     400, "new password again: does not match the new password"),
    ({"current": "", "new": "long enough password", "confirm": "long enough password"}, 400,
     "current password: enter your current password"),
])
def test_password_change_refusals_say_which_field(app, client, login, csrf, person, fields,
                                                  status, message):
    uid, address = person
    login(address)
    resp = client.post("/account/password", data={"csrf_token": csrf(client), **fields})
    assert resp.status_code == status
    assert message in resp.get_data(as_text=True)
    assert logged_in(client)
    with app.extensions["centrala"].sessions() as s:
        assert s.get(User, uid).password_hash.startswith("$argon2")
    assert do_login_ok(app, address)


def test_password_form_shape_is_checked_before_the_rules(app, client, login, csrf, person):
    uid, address = person
    login(address)
    resp = client.post("/account/password", data={
        "csrf_token": csrf(client), "current": "x" * 5000, "new": "long enough password",
        "confirm": "long enough password"})
    assert resp.status_code == 400  # next to the field, before argon2 sees 5000 characters
    assert "current password: string should have at most 1024 characters" in resp.get_data(
        as_text=True)
    resp = client.post("/account/password", data={
        "csrf_token": csrf(client), "current": PASSWORD, "new": "long enough password",
        "confirm": "long enough password", "admin": "1"})
    assert resp.status_code == 400  # a field the form has no place for: the error page
    assert "parameter &#39;admin&#39;: unknown parameter (allowed: current, new, confirm)" \
        in resp.get_data(as_text=True)
    assert do_login_ok(app, address)  # nothing changed


def do_login_ok(app: Flask, address: str) -> bool:
    from .conftest import do_login

    return do_login(app.test_client(), address, PASSWORD).status_code == 302


def test_password_changed_elsewhere_ends_sessions_with_a_reason(app, client, login, person):
    uid, address = person
    login(address)
    with transaction(app.extensions["centrala"].sessions) as s:
        s.get(User, uid).password_hash = hash_password("set by the CLI or SQL")
    assert not logged_in(client)
    assert _rows(app, uid)[-1].revoked_reason == "password_changed"


# --- force logout -----------------------------------------------------------------------------


def test_admin_force_logout_api_page_and_refusals(app, client, login, csrf, person, world):
    uid, address = person
    victim = app.test_client()
    from .conftest import do_login

    assert do_login(victim, address, PASSWORD).status_code == 302
    login(ADMIN)
    users = client.get("/api/v1/users").get_json()["users"]
    mine = next(u for u in users if u["id"] == uid)
    assert len(mine["sessions"]) == 1 and mine["sessions"][0]["source"] == "127.0.0.1"
    page = client.get("/users").get_data(as_text=True)
    assert f'action="/users/{uid}/sessions/revoke"' in page

    resp = client.post(f"/users/{uid}/sessions/revoke", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    assert not logged_in(victim)
    assert "1 session(s) ended" in client.get("/users").get_data(as_text=True)
    (row,) = _rows(app, uid)
    assert row.revoked_reason == f"admin:{ADMIN}"
    (event,) = [e for e in _events(app, "session.revoked", ADMIN)
                if e.detail.get("user") == address]
    assert event.detail == {"reason": "admin", "user": address, "sessions": 1}
    sessions = client.get(f"/api/v1/users/{uid}/sessions").get_json()["sessions"]
    assert [(s["live"], s["revoked_reason"]) for s in sessions] == [(False, f"admin:{ADMIN}")]

    # Another tenant's user: not found. A supervisor: forbidden. No CSRF token: refused.
    with app.extensions["centrala"].sessions() as s:
        boss = s.scalar(select(User.id).where(User.tenant_id == world.acme_tenant))
    headers = {"X-CSRF-Token": csrf(client)}
    assert client.post(f"/api/v1/users/{boss}/sessions/revoke", headers=headers).status_code \
        == 404
    assert client.post(f"/api/v1/users/{uid}/sessions/revoke").status_code == 400
    # The API takes no parameters and no body: anything sent is refused by name.
    resp = client.post(f"/api/v1/users/{uid}/sessions/revoke", headers=headers,
                       json={"all": True})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["message"] == \
        "field 'all': unknown field (this request takes no body)"
    for path in ("/api/v1/users?role=admin", f"/api/v1/users/{uid}/sessions?live=1"):
        resp = client.get(path)
        assert resp.status_code == 400 and resp.get_json()["error"]["id"] == "bad_parameter"
    sup = app.test_client()
    assert do_login(sup, f"supervisor@{DEMO_DOMAIN}", PASSWORD).status_code == 302
    with sup.session_transaction() as sess:
        token = sess["csrf"]
    resp = sup.post(f"/api/v1/users/{uid}/sessions/revoke", headers={"X-CSRF-Token": token})
    assert resp.status_code == 403
    assert sup.get("/users").status_code == 403


def test_an_open_live_stream_ends_when_its_session_is_ended(app, client, login, csrf, person):
    import time

    uid, address = person
    app.config["SSE_MAX_AGE_S"] = 30.0  # the stream would otherwise run on for 30 s
    login(address)
    resp = client.get("/calls/live/stream", buffered=False)
    assert resp.status_code == 200
    chunks = iter(resp.response)
    try:
        assert next(chunks).startswith(b"retry: ")
        assert next(chunks).startswith(b": keep-alive")  # open and waiting
        admin = app.test_client()
        from .conftest import do_login

        assert do_login(admin, ADMIN, PASSWORD).status_code == 302
        with admin.session_transaction() as sess:
            token = sess["csrf"]
        assert admin.post(f"/api/v1/users/{uid}/sessions/revoke",
                          headers={"X-CSRF-Token": token}).get_json() == {"revoked": 1}
        started = time.monotonic()
        rest = list(chunks)  # ends: the generator stops after its next read
        assert time.monotonic() - started < 10
        assert all(c.startswith(b": keep-alive") for c in rest)
    finally:
        resp.close()
