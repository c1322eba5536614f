"""Every route is guarded, logged-out access is refused, and the role table holds."""

from __future__ import annotations

import pytest
from flask import Flask

from controlplane.models import Role
from controlplane.seed import DEMO_DOMAIN

PAGES = ["/", "/calls/live", "/calls/records", "/calls/records/1/recording", "/health"]
API_AND_STREAMS = ["/api/v1/calls/live", "/api/v1/calls/records", "/calls/live/stream"]
PUBLIC = {"static", "auth.login", "auth.logout", "health.healthz",
          # the mailed links and "Forgot password?": their users are not logged in
          "links.activate", "links.activate_submit", "links.reset", "links.reset_submit",
          "links.forgot", "links.forgot_submit",
          "login_access.code", "login_access.take_over",  # the steps after the password
          "desk_survey.page", "desk_survey.answer",  # a reply's survey link: the customer
          "sms_inbound.receive",  # the SMS gateway's webhook: signed, no user
          # the chat widget on a website: its script and the visitor's API (no login; the
          # widget's key and the chat's secret id, CORS and rate limits guard it)
          "chat_visitor.widget_js", "chat_visitor.config", "chat_visitor.start",
          "chat_visitor.offline", "chat_visitor.message", "chat_visitor.typing",
          "chat_visitor.leave", "chat_visitor.survey", "chat_visitor.stream"}


def test_every_route_is_guarded_or_deliberately_public(app: Flask):
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint in PUBLIC:
            assert rule.endpoint == "static" or getattr(view, "centrala_public", False)
        else:
            assert getattr(view, "centrala_roles", None), f"{rule.rule} has no login_required"


def test_role_table(app: Flask):
    roles = {e: getattr(v, "centrala_roles", None) for e, v in app.view_functions.items()}
    assert roles["health.health"] == {Role.ADMIN, Role.SUPERVISOR}
    for endpoint in ("calls.live", "calls.records", "calls.recording", "api.calls_records"):
        assert roles[endpoint] == set(Role)


@pytest.mark.parametrize("path", PAGES)
def test_logged_out_pages_redirect_to_login(client, path):
    resp = client.get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", API_AND_STREAMS)
def test_logged_out_api_and_streams_get_401(client, path):
    resp = client.get(path)
    assert resp.status_code == 401
    if path.startswith("/api/"):
        assert resp.get_json() == {"error": {"id": "unauthorized", "message": "login required"}}


def test_healthz_is_public_and_terse(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok"}


def test_security_headers(client):
    resp = client.get("/login")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"


def test_api_unknown_route_is_json_404(client, login):
    login(f"admin@{DEMO_DOMAIN}")
    resp = client.get("/api/v1/nope")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["id"] == "not_found"


def test_agent_cannot_see_health(client, login):
    login(f"agent1@{DEMO_DOMAIN}")
    resp = client.get("/health")
    assert resp.status_code == 403
    assert "Health" not in resp.get_data(as_text=True).split("<main>")[0]  # not in the menu


@pytest.mark.parametrize("who", ["admin", "supervisor"])
def test_admin_and_supervisor_see_health_checks(client, login, who):
    login(f"{who}@{DEMO_DOMAIN}")
    resp = client.get("/health")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    for name in ("asterisk", "ari", "ami", "redis", "database", "lab"):
        assert f"<td>{name}</td>" in page
    # Redis and the database are real and up in this test; their rows say OK.
    for name in ("redis", "database"):
        row = page.split(f"<td>{name}</td>", 1)[1].split("</tr>", 1)[0]
        assert ">OK<" in row
