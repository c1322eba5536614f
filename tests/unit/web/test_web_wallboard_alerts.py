"""Wallboard alert rules: the pure evaluation, the API and page (admins), the alerts on the
board, and the webhook event written once per crossing (real SQLite outbox)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from controlplane.acd.wallboard_alerts import Rule, evaluate
from controlplane.db import transaction
from controlplane.models.acd import QueueLog
from controlplane.models.wallboard import WallboardAlertRule
from controlplane.models.webhooks import WebhookEvent

from .test_web_wallboard import ADMIN, SUPERVISOR, app_config, floor  # noqa: F401  (fixtures)

ACME_ADMIN = "boss@acme.example"


def test_evaluate_each_kind() -> None:
    board = {
        "queues": [{"queue_id": 1, "name": "A", "longest_wait_s": 50.0,
                    "service_level_pct": 70.0, "abandoned": 3},
                   {"queue_id": 2, "name": "B", "longest_wait_s": 5.0,
                    "service_level_pct": None, "abandoned": 0}],
        "agents": [{"name": "Ania", "status": "break", "in_state_s": 16 * 60},
                   {"name": "Ola", "status": "ready", "in_state_s": 99 * 60}],
    }
    found = evaluate([Rule(1, "wait_over", 30), Rule(2, "service_level_under", 80, 2),
                      Rule(3, "service_level_under", 80), Rule(4, "abandons_over", 3),
                      Rule(5, "break_over", 15)], board)
    assert [a.subject for a in found[1]] == ["A"]
    assert found[2] == []  # queue B has no service level yet: not "under"
    assert [a.subject for a in found[3]] == ["A"]
    assert found[4] == []  # 3 is not over 3
    assert [(a.subject, a.value) for a in found[5]] == [("Ania", 16.0)]


def webhook_events(app: Any, tenant: int) -> list[WebhookEvent]:
    with app.extensions["centrala"].sessions() as s:
        return list(s.scalars(select(WebhookEvent).where(
            WebhookEvent.tenant_id == tenant, WebhookEvent.type == "wallboard.alert")
            .order_by(WebhookEvent.id)))


def test_a_rule_fires_once_per_crossing_and_shows_on_the_board(  # type: ignore[no-untyped-def]
        app, client, login, csrf, floor, world, clock):  # noqa: F811
    login(ADMIN)
    before = len(webhook_events(app, world.demo_tenant))
    resp = client.post("/api/v1/wallboard/alert-rules", headers={"X-CSRF-Token": csrf(client)},
                       json={"kind": "service_level_under", "threshold": 50,
                             "queue_id": floor["queue"]})
    assert resp.status_code == 201, resp.get_json()
    rule = resp.get_json()["rule"]
    try:
        for _ in range(3):  # three refreshes: one crossing, one event
            board = client.get("/api/v1/wallboard").get_json()
        assert [(a["rule_id"], a["subject"]) for a in board["alerts"]] == [
            (rule["id"], next(q["name"] for q in board["queues"]
                              if q["queue_id"] == floor["queue"]))]
        events = webhook_events(app, world.demo_tenant)[before:]
        assert [e.payload["state"] for e in events] == ["firing"]
        assert events[0].payload["alerts"][0]["value"] < 50
        page = client.get("/wallboard").get_data(as_text=True)
        assert 'class="wb-alerts"' in page and "Service level under" in page

        # two quick answers: 3 of 4 in time, service level 75 % — the rule stops firing
        with transaction(app.extensions["centrala"].sessions) as s:
            for n in (6, 7):
                for kind in ("enter", "answer"):
                    s.add(QueueLog(tenant_id=world.demo_tenant, queue_id=floor["queue"],
                                   interaction_id=f"c{n}", kind=kind,
                                   at=clock.now - timedelta(seconds=5), user_id=floor["agent"]))
        for _ in range(2):
            board = client.get("/api/v1/wallboard").get_json()
        assert board["alerts"] == []
        events = webhook_events(app, world.demo_tenant)[before:]
        assert [e.payload["state"] for e in events] == ["firing", "cleared"]
        listed = client.get("/api/v1/wallboard/alert-rules").get_json()["rules"]
        assert [r["firing"] for r in listed if r["id"] == rule["id"]] == [False]
    finally:
        with transaction(app.extensions["centrala"].sessions) as s:
            s.execute(delete(WallboardAlertRule).where(WallboardAlertRule.id == rule["id"]))


def test_rules_api_refuses_bad_input_and_other_roles(  # type: ignore[no-untyped-def]
        app, client, login, login_form, csrf, floor):  # noqa: F811
    login(ADMIN)
    h = {"X-CSRF-Token": csrf(client)}
    for body, field in (({"kind": "nope", "threshold": 1}, "kind"),
                        ({"kind": "wait_over", "threshold": -1}, "threshold"),
                        ({"kind": "service_level_under", "threshold": 101}, "threshold")):
        resp = client.post("/api/v1/wallboard/alert-rules", headers=h, json=body)
        assert resp.status_code in (400, 422), body
        assert field in resp.get_data(as_text=True)
    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        with acme.session_transaction() as sess:
            token = sess["csrf"]
        resp = acme.post("/api/v1/wallboard/alert-rules", headers={"X-CSRF-Token": token},
                         json={"kind": "wait_over", "threshold": 30, "queue_id": floor["queue"]})
        assert resp.status_code in (400, 422) and "queue_id" in resp.get_data(as_text=True)
    with app.test_client() as sup:
        assert login_form(sup, SUPERVISOR).status_code == 302
        assert sup.get("/api/v1/wallboard/alert-rules").status_code == 403
        assert sup.get("/wallboard/alerts").status_code == 403


def test_rules_page_adds_and_deletes_in_polish(  # type: ignore[no-untyped-def]
        app, client, login, csrf, floor, demo_in_polish):  # noqa: F811
    login(ADMIN)
    page = client.get("/wallboard/alerts").get_data(as_text=True)
    assert "Alerty tablicy" in page and "Dodaj regułę" in page
    resp = client.post("/wallboard/alerts", data={"csrf_token": csrf(client),
                                                  "kind": "break_over", "threshold": "20"})
    assert resp.status_code == 302
    page = client.get("/wallboard/alerts").get_data(as_text=True)
    assert "Agent na przerwie dłużej niż" in page
    with app.extensions["centrala"].sessions() as s:
        rid = s.scalar(select(WallboardAlertRule.id).where(WallboardAlertRule.kind == "break_over"))
    resp = client.post(f"/wallboard/alerts/{rid}/delete", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302
    bad = client.post("/wallboard/alerts", data={"csrf_token": csrf(client), "kind": "x",
                                                 "threshold": "1"})
    assert bad.status_code == 422
