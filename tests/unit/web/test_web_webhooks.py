"""Webhooks in the panel and the API: CRUD (admins only, tenant-scoped), URL refusal at
save (private, loopback, IPv6 local; clear 422 on the field), the secret on demand and
regenerated, the delivery log and replay from the API and the page, Polish pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models.security import SecurityEvent
from controlplane.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookSubscription
from controlplane.webhooks import outbox
from controlplane.webhooks.dispatch import tick

ADMIN = "admin@demo.centrala.local"
PUBLIC = "https://93.184.216.34/hooks/centrala"


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


@pytest.fixture
def factory(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def test_admin_creates_reads_updates_and_deletes_a_webhook(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(client, csrf, "POST", "/api/v1/webhooks",
               {"url": PUBLIC, "events": ["call.ended", "call.started"], "description": "CRM"})
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["secret"].startswith("whsec_") and doc["active"] is True
    wid = doc["id"]
    listed = api(client, csrf, "GET", "/api/v1/webhooks").get_json()
    assert [w["id"] for w in listed["webhooks"]].count(wid) == 1
    assert all("secret" not in w for w in listed["webhooks"])
    assert "call.ended" in listed["event_types"]
    one = api(client, csrf, "GET", f"/api/v1/webhooks/{wid}").get_json()
    assert one["events"] == ["call.ended", "call.started"] and "secret" not in one
    upd = api(client, csrf, "PATCH", f"/api/v1/webhooks/{wid}",
              {"active": False, "events": ["recording.ready"]})
    assert upd.status_code == 200 and upd.get_json()["active"] is False
    assert upd.get_json()["events"] == ["recording.ready"] and upd.get_json()["url"] == PUBLIC
    shown = api(client, csrf, "GET", f"/api/v1/webhooks/{wid}/secret").get_json()["secret"]
    assert shown == doc["secret"]
    new = api(client, csrf, "POST", f"/api/v1/webhooks/{wid}/secret").get_json()["secret"]
    assert new != shown
    assert api(client, csrf, "DELETE", f"/api/v1/webhooks/{wid}").status_code == 200
    assert api(client, csrf, "GET", f"/api/v1/webhooks/{wid}").status_code == 404


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://169.254.169.254/latest", "link-local"),
    ("http://100.64.1.1/", "CGNAT"),
    ("http://[::1]/hook", "loopback"),
    ("http://[fd00::1]/hook", "unique local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("ftp://93.184.216.34/", "http"),
    ("https://user:pw@93.184.216.34/", "user name"),
    ("https://no-such-host.invalid/", "cannot be resolved"),
])
def test_targets_inside_are_refused_with_a_clear_message(client, login, csrf, url, words) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(client, csrf, "POST", "/api/v1/webhooks", {"url": url, "events": ["call.ended"]})
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["id"] == "invalid_target" and err["details"]["field"] == "url"
    assert words in err["message"]


def test_bad_bodies_are_400_naming_the_field(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(client, csrf, "POST", "/api/v1/webhooks", {"url": PUBLIC, "events": ["call.nope"]})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["field"].startswith("events")
    resp = api(client, csrf, "POST", "/api/v1/webhooks", {"url": PUBLIC, "events": []})
    assert resp.status_code == 400
    resp = api(client, csrf, "POST", "/api/v1/webhooks", {"events": ["call.ended"]})
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["field"] == "url"


def test_only_admins_and_only_their_tenant(client, login, csrf, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    wid = api(client, csrf, "POST", "/api/v1/webhooks",
              {"url": PUBLIC, "events": ["call.ended"]}).get_json()["id"]
    client.post("/logout", data={"csrf_token": csrf(client)})
    login("boss@acme.example")
    for method, path in (("GET", f"/api/v1/webhooks/{wid}"),
                         ("GET", f"/api/v1/webhooks/{wid}/secret"),
                         ("PATCH", f"/api/v1/webhooks/{wid}"),
                         ("DELETE", f"/api/v1/webhooks/{wid}")):
        body = {"active": False} if method == "PATCH" else None
        assert api(client, csrf, method, path, body).status_code == 404, path
    assert all(w["id"] != wid for w in
               api(client, csrf, "GET", "/api/v1/webhooks").get_json()["webhooks"])
    client.post("/logout", data={"csrf_token": csrf(client)})
    login("agent1@demo.centrala.local")
    assert api(client, csrf, "GET", "/api/v1/webhooks").status_code == 403
    assert client.get("/webhooks").status_code == 403


def test_delivery_log_and_replay_from_the_api_and_the_page(  # type: ignore[no-untyped-def]
        client, login, csrf, world, factory, redis_client) -> None:
    from rq import Queue

    login(ADMIN)
    wid = api(client, csrf, "POST", "/api/v1/webhooks",
              {"url": PUBLIC, "events": ["call.ended"]}).get_json()["id"]
    with transaction(factory) as s:
        outbox.emit(s, "call.ended", world.demo_tenant, {"call_id": "web-1"}, key=("web-1", wid))
    tick(factory, Queue("default", connection=redis_client), datetime.now(UTC))
    with transaction(factory) as s:  # as the job leaves a dead delivery
        d = s.scalar(select(WebhookDelivery).where(WebhookDelivery.subscription_id == wid))
        assert d is not None
        d.state, d.attempts, d.next_attempt_at, d.last_status = "dead", 1, None, 500
        s.add(WebhookAttempt(delivery_id=d.id, number=1, at=datetime.now(UTC), status_code=500,
                             error="", duration_ms=12, response_excerpt="boom"))
        did = d.id
    dead = api(client, csrf, "GET", f"/api/v1/webhooks/{wid}/deliveries?state=dead").get_json()
    assert [x["id"] for x in dead["deliveries"]] == [did]
    assert dead["deliveries"][0]["event_type"] == "call.ended"
    one = api(client, csrf, "GET", f"/api/v1/webhooks/deliveries/{did}").get_json()
    assert one["log"] == [{"number": 1, "at": one["log"][0]["at"], "status_code": 500,
                           "error": None, "duration_ms": 12, "response_excerpt": "boom"}]
    page = client.get(f"/webhooks/{wid}/deliveries")
    assert page.status_code == 200 and "HTTP 500" in page.get_data(as_text=True)
    resp = api(client, csrf, "POST", f"/api/v1/webhooks/deliveries/{did}/replay")
    assert resp.status_code == 200 and resp.get_json()["state"] == "pending"
    with factory() as s:
        d2 = s.get(WebhookDelivery, did)
        assert d2 is not None and d2.state == "pending" and d2.leased_until is None
        kinds = [e.kind for e in s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind.like("webhook.%")))]
    assert "webhook.replayed" in kinds and "webhook.created" in kinds
    # the page's replay button
    with transaction(factory) as s:
        d3 = s.get(WebhookDelivery, did)
        assert d3 is not None
        d3.state = "dead"
    resp = client.post(f"/webhooks/deliveries/{did}/replay", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    # another tenant cannot see or replay it
    client.post("/logout", data={"csrf_token": csrf(client)})
    login("boss@acme.example")
    assert api(client, csrf, "GET", f"/api/v1/webhooks/deliveries/{did}").status_code == 404
    assert api(client, csrf, "POST",
               f"/api/v1/webhooks/deliveries/{did}/replay").status_code == 404


def test_pages_in_polish_create_edit_refuse_and_show_the_secret(client, login, csrf, factory, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    page = client.get("/webhooks")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Webhooki" in text and "Nowy webhook" in text
    form = client.get("/webhooks/new").get_data(as_text=True)
    assert "Zakończenie połączenia" in form and "Zdarzenia" in form
    bad = client.post("/webhooks/new", data={"csrf_token": csrf(client),
                                             "url": "http://10.0.0.9/x", "ev_call_ended": "on"})
    assert bad.status_code == 422
    assert 'data-error-for="url"' in bad.get_data(as_text=True)
    assert "10.0.0.9 wskazuje na 10.0.0.9, adres prywatny" in bad.get_data(as_text=True)
    none = client.post("/webhooks/new", data={"csrf_token": csrf(client), "url": PUBLIC})
    assert none.status_code == 422 and 'data-error-for="events"' in none.get_data(as_text=True)
    ok = client.post("/webhooks/new", data={"csrf_token": csrf(client), "url": PUBLIC,
                                            "description": "ERP", "active": "on",
                                            "ev_call_ended": "on", "ev_recording_ready": "on"})
    assert ok.status_code == 200
    body = ok.get_data(as_text=True)
    assert 'id="secret-value"' in body and "hmac.compare_digest" in body
    with factory() as s:
        sub = s.scalars(select(WebhookSubscription).where(
            WebhookSubscription.description == "ERP")).one()
    assert sub.events == ["call.ended", "recording.ready"] and sub.secret in body
    shown = client.post(f"/webhooks/{sub.id}/secret", data={"csrf_token": csrf(client)})
    assert sub.secret in shown.get_data(as_text=True)
    regen = client.post(f"/webhooks/{sub.id}/secret",
                        data={"csrf_token": csrf(client), "regenerate": "1"})
    assert regen.status_code == 200 and sub.secret not in regen.get_data(as_text=True)
    edit = client.post(f"/webhooks/{sub.id}", data={"csrf_token": csrf(client), "url": PUBLIC,
                                                    "description": "ERP 2",
                                                    "ev_call_started": "on"})
    assert edit.status_code == 302
    with factory() as s:
        again = s.get(WebhookSubscription, sub.id)
        assert again is not None and not again.active and again.events == ["call.started"]
    gone = client.post(f"/webhooks/{sub.id}/delete", data={"csrf_token": csrf(client)})
    assert gone.status_code == 302
    assert client.get(f"/webhooks/{sub.id}").status_code == 404


def test_pages_in_english_for_a_user_who_chose_it(client, login, factory, world) -> None:  # type: ignore[no-untyped-def]
    from controlplane.models import User

    with transaction(factory) as s:
        boss = s.scalars(select(User).where(User.login == "boss")).one()
        before, boss.locale = boss.locale, "en"
    try:
        login("boss@acme.example")
        listing = client.get("/webhooks").get_data(as_text=True)
        assert "New webhook" in listing and "No webhooks yet." in listing
        form = client.get("/webhooks/new").get_data(as_text=True)
        assert "Call ended" in form and "Target URL" in form and "Zdarzenia" not in form
    finally:
        with transaction(factory) as s:
            s.scalars(select(User).where(User.login == "boss")).one().locale = before
