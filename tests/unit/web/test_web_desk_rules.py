"""The business rules page and ``/api/v1/ticket-rules``: admins and supervisors only; a
rule that cannot run is refused naming the field; a saved rule acts on the next ticket
and the month's run count shows on the page (in Polish)."""

from __future__ import annotations

from .test_web_desk_tickets import AGENT, SUPERVISOR, Desk, _h, desk, sessions  # noqa: F401

_ = (desk, sessions)


def test_rules_api_and_page(client, login, csrf, desk: Desk, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(AGENT)
    assert client.get("/api/v1/ticket-rules").status_code == 403
    assert client.get("/tickets/rules").status_code == 403
    client.post("/logout")
    login(SUPERVISOR)
    before = client.get("/api/v1/ticket-rules").get_json()["usage"]["runs"]
    bad = client.post("/api/v1/ticket-rules", headers=_h(client, csrf), json={
        "name": f"zła {desk.tag}", "trigger": "created",
        "conditions": [{"field": "status", "op": "is", "value": "lost"}],
        "actions": [{"note": "x"}]})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"]["field"] == "conditions/0/value"
    made = client.post("/api/v1/ticket-rules", headers=_h(client, csrf), json={
        "name": f"pilne {desk.tag}", "trigger": "created",
        "conditions": [{"field": "subject", "op": "contains", "value": f"AWARIA {desk.tag}"}],
        "actions": [{"set": "priority", "value": "urgent"}]})
    assert made.status_code == 201, made.get_data(as_text=True)
    rule = made.get_json()["rule"]
    try:
        tid = desk.ticket("awaria")  # subject "awaria <tag>": matches, any case
        other = desk.ticket("pytanie")
        got = client.get(f"/api/v1/tickets/{tid}").get_json()
        assert got["ticket"]["priority"] == "urgent"
        assert any(e["kind"] == "rule" and e["detail"]["rule"] == rule["name"]
                   for e in got["events"])
        assert client.get(f"/api/v1/tickets/{other}").get_json()["ticket"]["priority"] == "normal"
        listed = client.get("/api/v1/ticket-rules").get_json()
        assert listed["usage"]["runs"] == before + 1
        page = client.get("/tickets/rules").get_data(as_text=True)
        assert "Reguły biznesowe" in page and rule["name"] in page
        assert f"Uruchomienia reguł w tym miesiącu ({listed['usage']['month']}): {before + 1}" in page
        # the page form: not JSON, then a good change
        form = {"csrf_token": csrf(client), "id": str(rule["id"]), "name": rule["name"],
                "trigger": "created", "conditions": "[{", "actions": "[]", "active": "1"}
        refused = client.post("/tickets/rules", data=form)
        assert refused.status_code == 422 and "conditions" in refused.get_data(as_text=True)
        form.update(conditions="[]", actions='[{"set": "priority", "value": "high"}]')
        assert client.post("/tickets/rules", data=form).status_code == 302
        edit = client.get(f"/tickets/rules?edit={rule['id']}").get_data(as_text=True)
        assert "&#34;high&#34;" in edit or '"high"' in edit
        patched = client.patch(f"/api/v1/ticket-rules/{rule['id']}", headers=_h(client, csrf),
                               json={"active": False})
        assert patched.get_json()["rule"]["active"] is False
    finally:
        client.delete(f"/api/v1/ticket-rules/{rule['id']}", headers=_h(client, csrf))
    assert all(r["id"] != rule["id"]
               for r in client.get("/api/v1/ticket-rules").get_json()["rules"])


