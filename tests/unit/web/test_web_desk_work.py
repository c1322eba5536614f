"""Working a ticket: merge keeping all history, time tracking, collision detection (who
else views or types), response templates with parameters (a bad one a 400 naming the
parameter), saved list views, and "next ticket" from the page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from controlplane.models.webhooks import WebhookEvent

from .conftest import do_login
from .test_web_desk_tickets import AGENT, SUPERVISOR, Desk, _h, _ids, desk, sessions  # noqa: F401

_ = (desk, sessions)  # fixtures


def test_merge_keeps_every_message_and_forwards_the_thread(  # type: ignore[no-untyped-def]
        client, login, csrf, desk: Desk, sessions) -> None:
    first = desk.ticket("Pierwsze", sender="jan@klient.pl")
    second = desk.ticket("Drugie", sender="jan@klient.pl")
    login(SUPERVISOR)
    client.post(f"/api/v1/tickets/{first}/messages", headers=_h(client, csrf),
                json={"body": "Odpowiedź na pierwsze"})
    resp = client.post(f"/api/v1/tickets/{first}/merge", headers=_h(client, csrf),
                       json={"into": second})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    target = client.get(f"/api/v1/tickets/{second}").get_json()
    bodies = [m["body"] for m in target["messages"]]
    assert "Treść: Pierwsze" in bodies and "Odpowiedź na pierwsze" in bodies
    assert "Treść: Drugie" in bodies
    assert target["events"][-1]["kind"] == "merged_from"
    merged = client.get(f"/api/v1/tickets/{first}").get_json()["ticket"]
    assert (merged["status"], merged["merged_into_id"]) == ("closed", second)
    with sessions() as s:  # every ticket.updated says what changed, a merge's too
        hooks = {h.payload["ticket"]["id"]: h.payload for h in s.scalars(
            select(WebhookEvent).where(WebhookEvent.type == "ticket.updated"))
            if h.payload.get("merge") == {"source": first, "target": second}}
    assert hooks[first]["changes"] == {"status": {"old": "open", "new": "closed"},
                                       "merged_into_id": {"old": None, "new": second}}
    assert hooks[second]["changes"] == {}
    page = client.get(f"/tickets/{first}").get_data(as_text=True)
    number = target["ticket"]["number"]
    assert "merged-into" in page and f"#{number}" in page
    # the merged ticket takes no more changes; merged tickets leave the list
    late = client.post(f"/api/v1/tickets/{first}/messages", headers=_h(client, csrf),
                       json={"body": "za późno"})
    assert late.status_code == 409 and late.get_json()["error"]["id"] == "ticket_merged"
    assert _ids(client.get(f"/api/v1/tickets?q={desk.tag}")) == {second}
    again = client.post(f"/api/v1/tickets/{second}/merge", headers=_h(client, csrf),
                        json={"into": second})
    assert again.status_code == 422
    assert again.get_json()["error"]["details"]["field"] == "into"
    # the page takes the ticket's number
    third = desk.ticket("Trzecie")
    form = client.post(f"/tickets/{third}/merge",
                       data={"csrf_token": csrf(client), "into": f"#{number}"})
    assert form.status_code == 302 and form.headers["Location"].endswith(f"/tickets/{second}")


def test_time_tracking_adds_up(client, login, csrf, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    tid = desk.ticket("Czas")
    login(AGENT)
    assert client.post(f"/api/v1/tickets/{tid}/time", headers=_h(client, csrf),
                       json={"minutes": 15, "note": "analiza"}).get_json() == {"minutes": 15}
    client.post(f"/tickets/{tid}/time", data={"csrf_token": csrf(client), "minutes": "30"})
    detail = client.get(f"/api/v1/tickets/{tid}").get_json()
    assert detail["minutes"] == 45
    assert [e["new"] for e in detail["events"] if e["kind"] == "time"] == ["15", "30"]
    assert client.post(f"/api/v1/tickets/{tid}/time", headers=_h(client, csrf),
                       json={"minutes": 0}).status_code == 400
    assert "45 min" in client.get(f"/tickets/{tid}").get_data(as_text=True)


def test_collision_detection_shows_who_else_is_on_the_ticket(  # type: ignore[no-untyped-def]
        app, client, login, csrf, desk: Desk) -> None:
    tid = desk.ticket("Kolizja")
    login(AGENT)
    other = app.test_client()
    do_login(other, SUPERVISOR)
    alone = client.post(f"/api/v1/tickets/{tid}/presence", headers=_h(client, csrf),
                        json={"state": "viewing"})
    assert alone.status_code == 200 and alone.get_json() == {"presence": []}
    seen = other.post(f"/api/v1/tickets/{tid}/presence", headers=_h(other, csrf),
                      json={"state": "typing"}).get_json()["presence"]
    assert [(p["name"], p["state"]) for p in seen] == [("Agent1", "viewing")]
    mine = client.get(f"/api/v1/tickets/{tid}/presence").get_json()["presence"]
    assert [(p["name"], p["state"]) for p in mine] == [("Supervisor", "typing")]
    assert client.get(f"/api/v1/tickets/{tid}").get_json()["presence"] == mine
    assert "Supervisor (typing a reply)" in client.get(f"/tickets/{tid}").get_data(as_text=True)
    # a ticket the agent may not see: no presence either way
    hidden = desk.ticket("Ukryte", queue_id=desk.queue("agent2"))
    assert client.post(f"/api/v1/tickets/{hidden}/presence", headers=_h(client, csrf),
                       json={}).status_code == 404


def test_response_templates_with_parameters(client, login, csrf, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    tid = desk.ticket("Szablon", sender="jan@klient.pl")
    login(SUPERVISOR)
    body = "Dzień dobry {{ requester_name }},\nzgłoszenie nr {{ ticket_number }}.\n{{ agent_name }}"
    made = client.post("/api/v1/ticket-templates", headers=_h(client, csrf),
                       json={"name": f"Powitanie {desk.tag}", "body": body})
    assert made.status_code == 201, made.get_data(as_text=True)
    tpl = made.get_json()["template"]["id"]
    try:
        bad = client.post("/api/v1/ticket-templates", headers=_h(client, csrf),
                          json={"name": f"Zły {desk.tag}", "body": "Witaj {{ customer }}"})
        assert bad.status_code == 400
        err = bad.get_json()["error"]
        assert err["id"] == "template_invalid" and err["details"]["parameter"] == "customer"
        broken = client.post("/api/v1/ticket-templates", headers=_h(client, csrf),
                             json={"name": f"Zły {desk.tag}", "body": "{% if %}"})
        assert broken.status_code == 400 and "line 1" in broken.get_json()["error"]["message"]
        sneaky = client.post("/api/v1/ticket-templates", headers=_h(client, csrf), json={
            "name": f"Zły {desk.tag}", "body": "{{ subject.__class__.__mro__ }}"})
        assert sneaky.status_code == 400  # the sandbox refuses, never a 500
        client.post("/logout")
        login(AGENT)
        number = client.get(f"/api/v1/tickets/{tid}").get_json()["ticket"]["number"]
        text = client.post(f"/api/v1/tickets/{tid}/render", headers=_h(client, csrf),
                           json={"template_id": tpl}).get_json()["text"]
        assert text == f"Dzień dobry jan@klient.pl,\nzgłoszenie nr {number}.\nAgent1"
        page = client.get(f"/tickets/{tid}").get_data(as_text=True)
        assert f"Powitanie {desk.tag}" in page
        assert client.post("/api/v1/ticket-templates", headers=_h(client, csrf),
                           json={"name": "x", "body": "y"}).status_code == 403
    finally:
        client.post("/logout")
        login(SUPERVISOR)
        client.delete(f"/api/v1/ticket-templates/{tpl}", headers=_h(client, csrf))


def test_saved_views_are_personal(app, client, login, csrf, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    urgent = desk.ticket("Pilne", priority="urgent")
    desk.ticket("Zwykłe")
    login(AGENT)
    made = client.post("/api/v1/ticket-views", headers=_h(client, csrf),
                       json={"name": f"Pilne {desk.tag}", "priority": "urgent", "q": desk.tag})
    assert made.status_code == 201, made.get_data(as_text=True)
    view = made.get_json()["view"]
    assert view["filters"] == {"priority": "urgent", "q": desk.tag}
    assert _ids(client.get(f"/api/v1/tickets?view_id={view['id']}")) == {urgent}
    page = client.get(f"/tickets?view_id={view['id']}").get_data(as_text=True)
    assert f"Pilne {desk.tag}" in page and f"Zwykłe {desk.tag}" not in page
    # the page's form saves the current filters under a name
    form = client.post("/tickets/views", data={"csrf_token": csrf(client),
                                               "name": f"Strona {desk.tag}",
                                               "priority": "urgent", "bogus": "x"})
    assert form.status_code == 302 and "view_id=" in form.headers["Location"]
    names = {v["name"] for v in client.get("/api/v1/ticket-views").get_json()["views"]}
    assert {f"Pilne {desk.tag}", f"Strona {desk.tag}"} <= names
    other = app.test_client()
    do_login(other, SUPERVISOR)
    assert other.get(f"/api/v1/tickets?view_id={view['id']}").status_code == 404
    assert other.delete(f"/api/v1/ticket-views/{view['id']}",
                        headers=_h(other, csrf)).status_code == 404
    for v in client.get("/api/v1/ticket-views").get_json()["views"]:
        assert client.delete(f"/api/v1/ticket-views/{v['id']}",
                             headers=_h(client, csrf)).status_code == 200


def test_next_ticket_from_the_page(client, login, csrf, desk: Desk, sessions: Any) -> None:  # type: ignore[no-untyped-def]
    queue = desk.queue("agent1")
    tid = desk.ticket("Następne", queue_id=queue, priority="urgent")
    login(AGENT)
    resp = client.post("/tickets/next", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/tickets/{tid}")
    t = client.get(f"/api/v1/tickets/{tid}").get_json()["ticket"]
    assert t["assignee_user_id"] == desk.user("agent1")


def test_setup_page_categories_and_templates(  # type: ignore[no-untyped-def]
        client, login, csrf, desk: Desk, demo_in_polish, sessions: Any) -> None:
    from sqlalchemy import delete

    from controlplane.models.desk import TicketTemplate
    from controlplane.models.tickets import TicketCategory

    login(AGENT)
    assert client.get("/tickets/setup").status_code == 403
    client.post("/logout")
    login(SUPERVISOR)
    try:
        saved = client.post("/tickets/setup/categories", data={
            "csrf_token": csrf(client), "name": f"Zwroty {desk.tag}", "active": "1"})
        assert saved.status_code == 302
        bad = client.post("/tickets/setup/templates", data={
            "csrf_token": csrf(client), "name": f"Zły {desk.tag}", "body": "{{ klient }}"})
        html = bad.get_data(as_text=True)
        assert bad.status_code == 400 and "Szablon nie działa" in html and "klient" in html
        page = client.get("/tickets/setup").get_data(as_text=True)
        assert "Kategorie i szablony zgłoszeń" in page and f"Zwroty {desk.tag}" in page
        cats = client.get("/api/v1/ticket-categories").get_json()["categories"]
        assert any(c["name"] == f"Zwroty {desk.tag}" and c["active"] for c in cats)
    finally:
        with sessions.begin() as s:
            s.execute(delete(TicketCategory).where(TicketCategory.name.like(f"%{desk.tag}")))
            s.execute(delete(TicketTemplate).where(TicketTemplate.name.like(f"%{desk.tag}")))
