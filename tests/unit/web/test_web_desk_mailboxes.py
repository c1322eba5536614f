"""Mailboxes in the panel and the API (admins only): write-only encrypted passwords, rules
checked against the tenant's queues, plain connections only to loopback, the connection
test against a real Dovecot, tenants apart, Polish pages; and the public survey page."""

from __future__ import annotations

import pytest
from desklab import MailLab, maillab  # noqa: F401
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk.email import survey
from controlplane.models import Tenant
from controlplane.models.acd import Queue
from controlplane.models.desk_mail import DeskMailbox, DeskSurvey
from controlplane.models.security import SecurityEvent
from controlplane.models.tickets import Ticket
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
POLISH_ADMIN = "szef@polska.example"
SECRET = "imap-secret-123"


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    with transaction(factory) as s:
        s.execute(delete(DeskMailbox))
        s.execute(delete(Ticket).where(Ticket.subject == "Ankieta test"))
    engine.dispose()


def api(client, csrf, method: str, path: str, body=None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def fields(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    err = resp.get_json()["error"]
    assert err["id"] == "invalid_form", err
    return {e["field"]: e["message"] for e in err["details"]["errors"]}


def _queues(store, domain: str) -> list[int]:  # type: ignore[no-untyped-def]
    with store() as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.domain == domain))
        ids = list(s.scalars(select(Queue.id).where(Queue.tenant_id == tid)))
        if not ids:
            with transaction(store) as w:
                q = Queue(tenant_id=tid, name="pomoc")
                w.add(q)
                w.flush()
                ids = [q.id]
        return ids


BOX = {"address": "Pomoc@Demo.Example", "display_name": "Demo – pomoc",
       "imap_host": "imap.demo.example", "imap_password": SECRET,
       "smtp_host": "smtp.demo.example", "smtp_security": "starttls"}


def test_mailboxes_api_crud_with_write_only_encrypted_passwords(client, login, csrf,  # type: ignore[no-untyped-def]
                                                                 store, settings) -> None:
    login(ADMIN)
    [queue, *_] = _queues(store, DEMO_DOMAIN)
    missing = api(client, csrf, "POST", "/api/v1/mailboxes", {"address": "x@demo.example"})
    assert missing.status_code == 422
    assert set(fields(missing)) == {"imap_host", "smtp_host", "imap_password"}
    clear = api(client, csrf, "POST", "/api/v1/mailboxes", {**BOX, "imap_security": "plain"})
    assert "loopback" in fields(clear)["imap_security"]
    created = api(client, csrf, "POST", "/api/v1/mailboxes", {
        **BOX, "queue_id": queue,
        "rules": [{"field": "subject", "contains": "faktura", "queue_id": queue}]})
    assert created.status_code == 201, created.get_json()
    box = created.get_json()["mailbox"]
    assert box["address"] == "pomoc@demo.example" and box["imap_password_set"] is True
    assert (box["imap_port"], box["smtp_port"]) == (993, 587)  # defaults by security
    assert SECRET not in created.get_data(as_text=True)
    with store() as s:
        row = s.get(DeskMailbox, box["id"])
        assert row.imap_password and SECRET not in row.imap_password  # encrypted at rest
        events = [e.detail for e in s.scalars(select(SecurityEvent).where(
            SecurityEvent.kind == "mailbox.created"))]
        assert events and all(SECRET not in str(d) for d in events)
    dup = api(client, csrf, "POST", "/api/v1/mailboxes", BOX)
    assert "address" in fields(dup)
    # an update without the password keeps it; a rule naming another tenant's queue is refused
    [acme_queue, *_] = _queues(store, "acme.example")
    bad = api(client, csrf, "PUT", f"/api/v1/mailboxes/{box['id']}", {
        "rules": [{"field": "to", "contains": "x", "queue_id": acme_queue}]})
    assert fields(bad) == {"rules[0].queue_id": "not a queue of this tenant"}
    put = api(client, csrf, "PUT", f"/api/v1/mailboxes/{box['id']}",
              {"display_name": "Pomoc", "poll_interval_s": 60})
    assert put.get_json()["mailbox"]["imap_password_set"] is True
    with store() as s:
        assert s.get(DeskMailbox, box["id"]).poll_interval_s == 60
    listed = client.get("/api/v1/mailboxes").get_json()["mailboxes"]
    assert [b["address"] for b in listed] == ["pomoc@demo.example"]
    assert api(client, csrf, "DELETE", f"/api/v1/mailboxes/{box['id']}").status_code == 200
    assert client.get(f"/api/v1/mailboxes/{box['id']}").status_code == 404


def test_mailboxes_are_for_admins_of_their_own_tenant(app, client, login, login_form, csrf,  # type: ignore[no-untyped-def]
                                                      store) -> None:
    login(ADMIN)
    box = api(client, csrf, "POST", "/api/v1/mailboxes", BOX).get_json()["mailbox"]
    other = app.test_client()
    login_form(other, ACME_ADMIN)
    assert other.get(f"/api/v1/mailboxes/{box['id']}").status_code == 404
    assert other.get("/api/v1/mailboxes").get_json()["mailboxes"] == []
    assert other.get(f"/admin/mailboxes/{box['id']}").status_code == 404
    agent = app.test_client()
    login_form(agent, AGENT)
    assert agent.get("/api/v1/mailboxes").status_code == 403
    assert agent.get("/admin/mailboxes").status_code in (302, 403)


def test_polish_pages_form_rules_and_the_connection_test(  # type: ignore[no-untyped-def]
        client, login, csrf, store, maillab: MailLab) -> None:  # noqa: F811
    password = maillab.add_user("pomoc@polska.example")
    login(POLISH_ADMIN)
    [queue, *_] = _queues(store, "polska.example")
    page = client.get("/admin/mailboxes")
    assert page.status_code == 200 and "Skrzynki pocztowe" in page.get_data(as_text=True)
    form = client.get("/admin/mailboxes/new").get_data(as_text=True)
    assert "Poczta przychodząca (IMAP)" in form
    data = {"csrf_token": csrf(client), "address": "pomoc@polska.example",
            "display_name": "", "imap_host": "127.0.0.1", "imap_port": str(maillab.imap_port),
            "imap_security": "plain", "imap_login": "", "imap_password": password,
            "smtp_host": "127.0.0.1", "smtp_port": str(maillab.smtp_port),
            "smtp_security": "plain", "smtp_login": "", "smtp_password": "",
            "queue_id": str(queue), "poll_interval_s": "abc", "active": "on",
            "rule_field_0": "subject", "rule_contains_0": "reklamacja",
            "rule_queue_0": str(queue), "rule_field_1": "to", "rule_contains_1": "",
            "rule_queue_1": ""}
    bad = client.post("/admin/mailboxes/new", data=data)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'data-error-for="poll_interval_s"' in text and password not in text
    saved = client.post("/admin/mailboxes/new", data={**data, "poll_interval_s": "30",
                                                       "csrf_token": csrf(client)})
    assert saved.status_code == 302
    with store() as s:
        box = s.scalars(select(DeskMailbox)).one()
        assert box.rules == [{"field": "subject", "contains": "reklamacja", "queue_id": queue}]
        box_id = box.id
    tested = client.post(f"/admin/mailboxes/{box_id}/test", data={"csrf_token": csrf(client)})
    assert "Test połączenia udany" in tested.get_data(as_text=True)
    # a wrong password: the test says which server refused, in words
    client.post(f"/admin/mailboxes/{box_id}", data={**data, "poll_interval_s": "30",
                                                    "imap_password": "zle-haslo",
                                                    "csrf_token": csrf(client)})
    failed = client.post(f"/admin/mailboxes/{box_id}/test",
                         data={"csrf_token": csrf(client)}).get_data(as_text=True)
    assert "Test połączenia nieudany" in failed and "logowanie odrzucone" in failed
    assert "zle-haslo" not in failed


def test_the_survey_page_stores_a_score(client, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(store) as s:
        ticket = Ticket(tenant_id=world.demo_tenant, number=990001, subject="Ankieta test",
                        channel="email", requester="jan@klient.example")
        s.add(ticket)
        s.flush()
        secret = survey.create(s, ticket)
        ticket_id = ticket.id
    assert client.get("/desk/survey/nie-ma-takiej").status_code == 404
    page = client.get(f"/desk/survey/{secret}")
    assert page.status_code == 200
    token = csrf(client)
    assert client.post(f"/desk/survey/{secret}", data={"csrf_token": token,
                                                       "score": "7"}).status_code == 400
    done = client.post(f"/desk/survey/{secret}", data={"csrf_token": token, "score": "4",
                                                       "comment": "Dobrze"})
    assert done.status_code == 200
    with store() as s:
        row = s.scalars(select(DeskSurvey).where(DeskSurvey.ticket_id == ticket_id)).one()
        assert (row.score, row.comment) == (4, "Dobrze")
