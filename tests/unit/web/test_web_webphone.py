"""The agent's webphone configuration (``/api/v1/agents/me/webphone``): created on first use,
the same endpoint afterwards, audited on every issue, for the own session only, refused when
the tenant turns webphones off; and a webphone counts as a phone for going ready."""

from __future__ import annotations

import logging

from sqlalchemy import delete, select

from controlplane.bus import COMMANDS_STREAM
from controlplane.db import transaction
from controlplane.models import PhoneEndpoint, Tenant
from controlplane.models.security import SecurityEvent
from tests.unit.web.test_web_tokens import bearer, make_token


def _cleanup(app, uid: int) -> None:  # type: ignore[no-untyped-def]
    with transaction(app.extensions["centrala"].sessions) as s:
        s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.user_id == uid))


def test_first_request_creates_the_webphone_then_reuses_it(app, client, login, csrf, person,
                                                          world, caplog, redis_client) -> None:  # type: ignore[no-untyped-def]
    app.config["ACD_COMMAND_TIMEOUT_S"] = 0.3
    uid, address = person
    login(address)
    try:
        with caplog.at_level(logging.DEBUG):
            first = client.get("/api/v1/agents/me/webphone")
        assert first.status_code == 200, first.get_data(as_text=True)
        conf = first.get_json()
        assert conf["created"] is True
        assert conf["ws_url"] == f"ws://127.0.0.1:{app.extensions['centrala'].settings.platform.http}/ws"
        assert conf["username"] == f"demo-web-{uid}" and len(conf["password"]) >= 16
        assert conf["sip_uri"] == f"sip:demo-web-{uid}@127.0.0.1"
        assert conf["registration"] in ("unregistered", None)
        assert conf["password"] not in caplog.text  # never logged
        # the daemon is asked to re-read the agent's phones, as the agent (not acd.reload)
        sent = [f for _, f in redis_client.xrange(COMMANDS_STREAM)]
        assert any('"acd.webphone"' in f["data"] and f'"user_id": {uid}' in f["data"]
                   for f in sent), sent
        assert not any('"acd.reload"' in f["data"] and f'"actor_id": {uid}' in f["data"]
                       for f in sent)
        second = client.get("/api/v1/agents/me/webphone").get_json()
        assert second["created"] is False
        assert (second["username"], second["password"]) == (conf["username"], conf["password"])
        with app.extensions["centrala"].sessions() as s:
            phones = list(s.scalars(select(PhoneEndpoint).where(PhoneEndpoint.user_id == uid)))
            assert [(p.kind, p.transport) for p in phones] == [("webphone", "ws")]
            kinds = [e.kind for e in s.scalars(select(SecurityEvent).where(
                SecurityEvent.actor == address).order_by(SecurityEvent.id))]
        assert kinds.count("webphone.created") == 1
        assert kinds.count("webphone.credentials_issued") == 2
        # the page never carries the password: the script fetches it
        assert conf["password"] not in client.get("/agent").get_data(as_text=True)
        status = client.get("/api/v1/agents/me/webphone/status").get_json()
        assert status["webphone"] == conf["username"]
        # a webphone is a phone: going ready reaches the control plane (none runs: 503)
        resp = client.post(f"/api/v1/agents/{uid}/command", json={"command": "login"},
                           headers={"X-CSRF-Token": csrf(client)})
        assert resp.status_code == 503, resp.get_data(as_text=True)
    finally:
        _cleanup(app, uid)


def test_api_tokens_get_no_sip_credentials(app, client, login, csrf, person) -> None:  # type: ignore[no-untyped-def]
    uid, address = person
    login(address)
    token = make_token(client, csrf)["token"]
    try:
        resp = app.test_client().get("/api/v1/agents/me/webphone", headers=bearer(token))
        assert resp.status_code == 403
        assert "password" not in resp.get_data(as_text=True)
        with app.extensions["centrala"].sessions() as s:
            assert s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.user_id == uid)) is None
    finally:
        _cleanup(app, uid)


def test_tenant_without_webphones_refuses(app, client, login, person, world) -> None:  # type: ignore[no-untyped-def]
    uid, address = person
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        s.get(Tenant, world.demo_tenant).webphone_enabled = False
    try:
        login(address)
        resp = client.get("/api/v1/agents/me/webphone", headers={"Accept-Language": "en"})
        assert resp.status_code == 409
        assert resp.get_json()["error"]["id"] == "webphones_off"
        assert client.get("/api/v1/agents/me/webphone/status").get_json()["webphone"] is None
    finally:
        with transaction(factory) as s:
            s.get(Tenant, world.demo_tenant).webphone_enabled = True
        _cleanup(app, uid)


def test_webphone_needs_a_login(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/agents/me/webphone").status_code == 401


def test_agent_page_has_the_webphone_in_polish_and_english(app, client, login, person,
                                                          demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    _, address = person
    login(address)
    page = client.get("/agent")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Telefon w przeglądarce" in html and "Odbierz" in html and "Rozłącz" in html
    assert "/static/vendor/jssip.js" in html and "/static/webphone.js" in html
    port = app.extensions["centrala"].settings.platform.http
    assert f"connect-src 'self' ws://127.0.0.1:{port}" in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    english = client.get("/agent", headers={"Accept-Language": "en"})
    assert "Webphone" in english.get_data(as_text=True) or "Telefon" in english.get_data(as_text=True)


def test_webphone_script_is_served(client) -> None:  # type: ignore[no-untyped-def]
    with client.get("/static/webphone.js") as own:
        assert own.status_code == 200
    with client.get("/static/vendor/jssip.js") as vendor:  # built by scripts/bootstrap.sh
        assert vendor.status_code == 200 and b"jssip 3.13.8" in vendor.data[:200]


def test_admin_turns_webphones_off_and_on(app, client, login, csrf, world, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login("admin@demo.centrala.local")
    factory = app.extensions["centrala"].sessions
    try:
        page = client.get("/admin/webphones")
        assert page.status_code == 200
        assert "Telefony w przeglądarce" in page.get_data(as_text=True)
        assert client.get("/api/v1/webphone-settings").get_json()["enabled"] is True
        resp = client.put("/api/v1/webphone-settings", json={"enabled": False},
                          headers={"X-CSRF-Token": csrf(client)})
        assert resp.status_code == 200 and resp.get_json()["enabled"] is False
        with factory() as s:
            assert s.get(Tenant, world.demo_tenant).webphone_enabled is False
            assert s.scalar(select(SecurityEvent.detail).where(
                SecurityEvent.kind == "webphone.settings").order_by(
                SecurityEvent.id.desc()).limit(1)) == {"enabled": False}
        bad = client.put("/api/v1/webphone-settings", json={"enabled": "yes"},
                         headers={"X-CSRF-Token": csrf(client)})
        assert bad.status_code == 400 and "enabled" in bad.get_data(as_text=True)
        # the page's form turns them back on
        client.post("/admin/webphones", data={"csrf_token": csrf(client), "enabled": "on"})
        with factory() as s:
            assert s.get(Tenant, world.demo_tenant).webphone_enabled is True
    finally:
        with transaction(factory) as s:
            s.get(Tenant, world.demo_tenant).webphone_enabled = True


def test_only_admins_change_webphone_settings(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login("agent1@demo.centrala.local")
    assert client.get("/api/v1/webphone-settings").status_code == 403
    assert client.put("/api/v1/webphone-settings", json={"enabled": False},
                      headers={"X-CSRF-Token": csrf(client)}).status_code == 403


def test_an_agent_with_a_desk_phone_gets_no_webphone(client, login) -> None:  # type: ignore[no-untyped-def]
    """Calls ring one phone per agent: opening the agent page must not make a webphone
    that takes them away from the desk phone (it did, in the onboarding browser test)."""
    login("agent1@demo.centrala.local")  # works from the desk phone demo-1001
    resp = client.get("/api/v1/agents/me/webphone")
    assert resp.status_code == 409
    body = resp.get_json()["error"]
    assert body["id"] == "has_desk_phone" and body["details"]["desk_phone"] == "demo-1001"
    page = client.get("/agent").get_data(as_text=True)
    assert "webphone.js" not in page and 'id="webphone"' not in page
    status = client.get("/api/v1/agents/me/webphone/status").get_json()
    assert status["webphone"] is None  # none was made


def test_the_webphone_reports_how_a_call_sounded(app, client, login, csrf, person, world,  # type: ignore[no-untyped-def]
                                                 demo_in_polish) -> None:
    """The quality of a call that rang the webphone is kept beside its record and shown on
    the call records; another phone's call is 403, another tenant's or no call 404, and
    bad figures are a 400 naming the field."""
    from datetime import UTC, datetime

    from controlplane.models import CallRecord
    from controlplane.models.call_quality import CallQuality

    uid, address = person
    login(address)
    headers = {"X-CSRF-Token": csrf(client)}
    factory = app.extensions["centrala"].sessions
    try:
        name = client.get("/api/v1/agents/me/webphone").get_json()["username"]
        at = datetime(2026, 12, 1, 9, tzinfo=UTC)
        with transaction(factory) as s:
            for call_id, endpoint, tenant in (("q-mine", name, world.demo_tenant),
                                              ("q-other", "demo-1001", world.demo_tenant),
                                              ("q-acme", name, world.acme_tenant)):
                s.add(CallRecord(call_id=call_id, tenant_id=tenant, direction="inbound",
                                 status="ended", caller="48600100777", callee="webq",
                                 caller_channel="PJSIP/x", agent_endpoint=endpoint,
                                 started_at=at, answered_at=at, ended_at=at))
        url = "/api/v1/agents/me/webphone/calls/{}/quality"
        good = {"packets_received": 995, "packets_lost": 5, "jitter_ms": 3.25, "rtt_ms": 41.0,
                "first_audio_ms": 180, "codec": "opus"}
        resp = client.post(url.format("q-mine"), json=good, headers=headers)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        assert resp.get_json()["quality"]["loss_pct"] == 0.5
        again = client.post(url.format("q-mine"), json={**good, "packets_lost": 10},
                            headers=headers)
        assert again.get_json()["quality"]["packets_lost"] == 10  # replaced, not added
        assert client.post(url.format("q-other"), json=good,
                           headers=headers).status_code == 403
        assert client.post(url.format("q-acme"), json=good, headers=headers).status_code == 404
        assert client.post(url.format("nothing"), json=good, headers=headers).status_code == 404
        bad = client.post(url.format("q-mine"), json={**good, "jitter_ms": -1}, headers=headers)
        assert bad.status_code == 400 and "jitter_ms" in bad.get_data(as_text=True)
        with factory() as s:
            assert s.scalar(select(CallQuality.packets_lost).where(
                CallQuality.call_id == "q-mine")) == 10
        page = client.get("/calls/records", query_string={"number": "48600100777"})
        html = page.get_data(as_text=True)
        assert "Jakość dźwięku" in html and "straty 1%" in html, html[-3000:]
        assert "jitter 3,2 ms" in html  # written as Polish writes numbers
        assert "pierwszy dźwięk po 180 ms" in html and "RTT 41 ms" in html
    finally:
        with transaction(factory) as s:
            s.execute(delete(CallQuality).where(CallQuality.call_id.like("q-%")))
            from controlplane.models import CallRecord
            s.execute(delete(CallRecord).where(CallRecord.call_id.in_(
                ["q-mine", "q-other", "q-acme"])))
        _cleanup(app, uid)
