"""The SMS channel end to end on the unit tier: the real panel app, real Redis, the lab SMS
gateway (a real local HTTP server) and a real RQ worker.

An SMS posted by the lab becomes a ticket in the account's queue and the lab receives the
auto-reply (sent by the RQ job, from the sender ID); a second SMS from the same number
joins the ticket and gets no second auto-reply; a reply from the ticket reaches the lab
with the sender ID, and the lab's delivery report lands on that message. Then the
webhook's refusals (signature, replay window, shape, rate), the settings' rules, templates
and tenant scoping."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
from flask import Flask
from rq import Queue as RqQueue
from rq import SimpleWorker
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.desk import threads
from controlplane.desk.sms import outgoing
from controlplane.models import User
from controlplane.models.acd import Queue
from controlplane.models.outbox import JobOutbox
from controlplane.models.sms import DeskSmsAccount, DeskSmsAutoReply, DeskSmsTemplate
from controlplane.models.tickets import Ticket, TicketMessage
from controlplane.seed import DEMO_DOMAIN
from tests.smslab import SmsLab
from tests.unit.web.conftest import ACME_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
ACME_ADMIN = f"boss@{ACME_DOMAIN}"
CUSTOMER = "+48500100200"
OUR_NUMBER = "+48221000001"
AUTO_REPLY = "Dziękujemy! Zgłoszenie nr {{ ticket_number }} przyjęte."


def api(client: Any, csrf: Any, method: str, path: str, body: Any = None) -> Any:
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


@pytest.fixture
def sms_clean(app: Flask) -> Iterator[None]:
    """Every SMS row and ticket a test makes is gone afterwards (the database is shared)."""
    yield
    with transaction(app.extensions["centrala"].sessions) as s:
        for model in (DeskSmsAccount, DeskSmsTemplate, DeskSmsAutoReply):
            s.execute(delete(model))
        s.execute(delete(Ticket).where(Ticket.channel == "sms"))
        s.execute(delete(JobOutbox).where(JobOutbox.job_id.like("sms-%")))
        s.execute(delete(Queue).where(Queue.name.like("sms-%")))


def _account(client: Any, csrf: Any, lab_url: str, **extra: Any) -> dict[str, Any]:
    resp = api(client, csrf, "PUT", "/api/v1/sms/account", {
        "api_url": lab_url, "api_key": "lab-key", "numbers": [OUR_NUMBER],
        "sender_id": "Centrala", "auto_reply_enabled": True, "auto_reply_text": AUTO_REPLY,
        **extra})
    assert resp.status_code == 200, resp.get_json()
    out: dict[str, Any] = resp.get_json()
    return out


def _run_outbox_jobs(factory: Any, redis_port: int) -> int:
    """What the control plane's drain and a worker do: queue the SMS jobs, run them."""
    with factory() as s:
        jobs = s.scalars(select(JobOutbox).where(JobOutbox.job_id.like("sms-%"),
                                                 JobOutbox.sent_at.is_(None))).all()
        specs = [(j.func, list(j.args)) for j in jobs]
    with transaction(factory) as s:
        for j in s.scalars(select(JobOutbox).where(JobOutbox.job_id.like("sms-%"))):
            j.sent_at = j.created_at
    connection = redis.Redis(port=redis_port)
    queue = RqQueue("default", connection=connection)
    for func, args in specs:
        queue.enqueue_call(func, args=args)
    SimpleWorker([queue], connection=connection).work(burst=True)
    connection.close()
    return len(specs)


def test_an_sms_becomes_a_ticket_gets_one_auto_reply_and_the_reply_goes_out(
        client: Any, login: Any, csrf: Any, app: Flask, world: Any, settings: Any,
        redis_port: int, monkeypatch: pytest.MonkeyPatch, sms_clean: None) -> None:
    factory = app.extensions["centrala"].sessions
    monkeypatch.setenv("CENTRALA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(settings.runtime_dir))
    monkeypatch.setenv("CENTRALA_WEBHOOKS_ALLOW_PRIVATE", "1")  # the lab is on loopback
    with transaction(factory) as s:
        queue = Queue(tenant_id=world.demo_tenant, name=f"sms-{time.time_ns()}")
        s.add(queue)
        s.flush()
        queue_id = queue.id
        admin_id = s.scalar(select(User.id).where(User.tenant_id == world.demo_tenant,
                                                  User.login == "admin"))
    with SmsLab("lab-key") as lab:
        login(ADMIN)
        made = _account(client, csrf, lab.url, queue_id=queue_id)
        secret, account = made["inbound_secret"], made["account"]
        assert account["api_key_set"] and "lab-key" not in str(made)
        with factory() as s:
            row = s.scalar(select(DeskSmsAccount))
            assert row is not None and "lab-key" not in row.api_key_enc
            assert secret not in row.inbound_secret_enc
        gateway = app.test_client()  # the operator: no session, no CSRF token

        sms = lab.inbound(secret, CUSTOMER, OUR_NUMBER, "Dzień dobry, nie działa internet")
        first = gateway.post(account["inbound_path"], data=sms.body, headers=sms.headers)
        assert first.status_code == 200, first.get_json()
        got = first.get_json()
        assert got["created"] and not got["duplicate"]
        with factory() as s:
            ticket = s.scalar(select(Ticket).where(Ticket.tenant_id == world.demo_tenant,
                                                   Ticket.number == got["ticket"]))
            assert ticket is not None
            assert (ticket.channel, ticket.requester, ticket.queue_id) == ("sms", CUSTOMER,
                                                                           queue_id)
            ticket_id = ticket.id
        assert lab.sent == []  # nothing is sent inside the gateway's request
        assert _run_outbox_jobs(factory, redis_port) == 1
        (reply,) = lab.wait_sent(1)
        assert (reply["to"], reply["from"]) == (CUSTOMER, "Centrala")
        assert reply["text"] == f"Dziękujemy! Zgłoszenie nr {got['ticket']} przyjęte."

        # a second SMS joins the ticket and gets no second auto-reply; a retried post is a
        # duplicate
        again = lab.inbound(secret, CUSTOMER, OUR_NUMBER, "Nadal nie działa")
        second = gateway.post(account["inbound_path"], data=again.body, headers=again.headers)
        assert second.get_json() == {"ticket": got["ticket"], "created": False,
                                     "duplicate": False}
        retried = gateway.post(account["inbound_path"], data=again.body, headers=again.headers)
        assert retried.get_json()["duplicate"]
        assert _run_outbox_jobs(factory, redis_port) == 0
        time.sleep(0.2)  # a stray send would have arrived by now (it is in process)
        assert len(lab.sent) == 1

        # an agent's reply, delivered as the ticket reply job does
        with transaction(factory) as s:
            ticket = s.get_one(Ticket, ticket_id)
            msg = threads.reply(s, ticket, body="Sprawdzamy łącze, odezwiemy się.",
                                channel="sms", author_user_id=admin_id)
            provider_id = outgoing.deliver(s, ticket, msg,
                                           replace(settings, webhooks_allow_private=True))
            assert outgoing.deliver(s, ticket, msg, settings) == provider_id  # not twice
            msg_id = msg.id
        out = lab.wait_sent(2)[1]
        assert out == {"to": CUSTOMER, "from": "Centrala", "id": provider_id,
                       "text": "Sprawdzamy łącze, odezwiemy się.",
                       "reference": f"ticket-{got['ticket']}-message-{msg_id}"}
        report = lab.report(secret, provider_id, "delivered")
        answer = gateway.post(account["inbound_path"], data=report.body, headers=report.headers)
        assert answer.get_json() == {"status": "delivered", "known": True}
        with factory() as s:
            msgs = s.scalars(select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
                             .order_by(TicketMessage.id)).all()
            assert [(m.direction, bool(m.meta.get("auto_reply"))) for m in msgs] == [
                ("in", False), ("out", True), ("in", False), ("out", False)]
            assert msgs[3].meta["sms"]["status"] == "delivered"
            assert msgs[3].meta["sms"]["segments"] == 1
        # the auto-reply job run again (a retry) sends nothing
        from controlplane.jobs.sms import auto_reply
        assert auto_reply(ticket_id) == "sent before"
        assert len(lab.sent) == 2


def test_the_webhook_refuses_what_it_cannot_trust(client: Any, login: Any, csrf: Any,
                                                  app: Flask, sms_clean: None) -> None:
    lab = SmsLab("k")
    login(ADMIN)
    made = _account(client, csrf, "https://sms.example/api")
    secret, path = made["inbound_secret"], made["account"]["inbound_path"]
    gateway = app.test_client()

    def post(signed: Any, where: str = path) -> Any:
        return gateway.post(where, data=signed.body, headers=signed.headers)

    ok = lab.inbound(secret, CUSTOMER, OUR_NUMBER, "x")
    resp = post(ok, "/sms/inbound/nope")
    assert (resp.status_code, resp.get_json()["error"]["id"]) == (404, "sms_account_not_found")
    resp = post(lab.inbound("wrong-secret", CUSTOMER, OUR_NUMBER, "x"))
    assert (resp.status_code, resp.get_json()["error"]["id"]) == (401, "sms_bad_signature")
    resp = post(lab.inbound(secret, CUSTOMER, OUR_NUMBER, "x",
                            timestamp=int(time.time()) - 3600))  # a replay, an hour later
    assert resp.status_code == 401
    bad = lab._signed(secret, {"type": "sms", "id": "z", "text": "no sender"}, None)
    resp = post(bad)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["field"] == "from"
    # a new secret: the old one stops working
    fresh = api(client, csrf, "POST", "/api/v1/sms/account/secret").get_json()["inbound_secret"]
    assert post(lab.inbound(secret, CUSTOMER, OUR_NUMBER, "x")).status_code == 401
    assert post(lab.inbound(fresh, CUSTOMER, OUR_NUMBER, "x")).status_code == 200
    # switched off: its address is unknown
    api(client, csrf, "PUT", "/api/v1/sms/account", {"active": False})
    assert post(lab.inbound(fresh, CUSTOMER, OUR_NUMBER, "y")).status_code == 404
    # rate: past the limit a minute, 429 before any work (even before the account is looked
    # up: this one is off). The count is per clock minute, so a limit above the posts made
    # so far failed whenever a minute turned during the test; 0 is past at the first post.
    app.config["SMS_INBOUND_PER_MINUTE"] = 0
    assert post(lab.inbound(fresh, CUSTOMER, OUR_NUMBER, "z")).status_code == 429


def test_settings_rules_each_name_their_field(client: Any, login: Any, csrf: Any, world: Any,
                                              app: Flask, sms_clean: None) -> None:
    login(ADMIN)
    with app.extensions["centrala"].sessions() as s:
        acme_queue = Queue(tenant_id=world.acme_tenant, name=f"acme-sms-{time.time_ns()}")
    cases = [({"sender_id": "CentralaPolska"}, "sender_id"),
             ({"sender_id": "Łódź"}, "sender_id"),
             ({"sender_id": "12 34"}, "sender_id"),
             ({"sender_id": "C", "numbers": ["123"]}, "numbers"),
             ({"sender_id": "C", "api_url": "ftp://x"}, "api_url"),
             ({"sender_id": "C", "auto_reply_text": "{{ secret_key }}"}, "auto_reply_text"),
             ({"sender_id": "C", "auto_reply_enabled": True, "auto_reply_text": ""},
              "auto_reply_text")]
    for body, field in cases:
        resp = api(client, csrf, "PUT", "/api/v1/sms/account", body)
        assert resp.status_code == 422, (body, resp.get_json())
        assert resp.get_json()["error"]["details"]["field"] == field, body
    with app.extensions["centrala"].sessions() as s:
        s.add(acme_queue)
        s.commit()
        other_queue = acme_queue.id
    try:
        resp = api(client, csrf, "PUT", "/api/v1/sms/account",
                   {"sender_id": "C", "queue_id": other_queue})
        assert resp.get_json()["error"]["details"]["field"] == "queue_id"
    finally:
        with transaction(app.extensions["centrala"].sessions) as s:
            s.execute(delete(Queue).where(Queue.id == other_queue))
    ok = api(client, csrf, "PUT", "/api/v1/sms/account",
             {"sender_id": "+48 500 100 200", "numbers": ["0048221000001", "+48221000001"]})
    assert ok.status_code == 200
    assert ok.get_json()["account"]["sender_id"] == "+48500100200"
    assert ok.get_json()["account"]["numbers"] == ["+48221000001"]
    assert "inbound_secret" in ok.get_json()
    again = api(client, csrf, "PUT", "/api/v1/sms/account", {"sender_id": "Sklep-24"})
    assert "inbound_secret" not in again.get_json()  # only when it was made
    assert again.get_json()["account"]["numbers"] == ["+48221000001"]  # not sent: kept
    assert api(client, csrf, "PUT", "/api/v1/sms/account",
               {"bogus": 1}).status_code == 400  # unknown fields refused by the schema


def test_templates_segments_and_tenants(client: Any, login: Any, csrf: Any,
                                        sms_clean: None) -> None:
    login(ADMIN)
    resp = api(client, csrf, "POST", "/api/v1/sms/templates",
               {"name": "Odpowiedź", "body": "Zgłoszenie {{ ticket_number }}: zajmujemy się."})
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()["template"]
    assert made["parameters"] == ["ticket_number"]
    assert made["segments"]["encoding"] == "ucs2" and made["segments"]["forcing"] == ["ł", "ę"]
    dup = api(client, csrf, "POST", "/api/v1/sms/templates", {"name": "Odpowiedź", "body": "x"})
    assert dup.status_code == 422 and dup.get_json()["error"]["details"]["field"] == "name"
    unknown = api(client, csrf, "POST", "/api/v1/sms/templates", {"name": "b", "body": "{{ x }}"})
    assert unknown.get_json()["error"]["details"]["field"] == "body"
    changed = api(client, csrf, "PUT", f"/api/v1/sms/templates/{made['id']}",
                  {"body": "Zgloszenie {{ ticket_number }}"})
    assert changed.get_json()["template"]["segments"]["encoding"] == "gsm7"
    seg = api(client, csrf, "POST", "/api/v1/sms/segments", {"text": "ż" * 71})
    assert seg.get_json()["segments"]["segments"] == 2
    login(ACME_ADMIN)
    assert api(client, csrf, "GET", f"/api/v1/sms/templates/{made['id']}").status_code == 404
    assert api(client, csrf, "GET", "/api/v1/sms/templates").get_json() == {"templates": []}
    assert api(client, csrf, "GET", "/api/v1/sms/account").get_json() == {"account": None}
    login("agent1@" + DEMO_DOMAIN)
    assert api(client, csrf, "GET", "/api/v1/sms/templates").status_code == 403
    login(ADMIN)
    assert api(client, csrf, "DELETE", f"/api/v1/sms/templates/{made['id']}").status_code == 200
    assert api(client, csrf, "GET", "/api/v1/sms/templates").get_json() == {"templates": []}


def test_the_settings_page_in_polish(client: Any, login: Any, csrf: Any, demo_in_polish: None,
                                     sms_clean: None) -> None:
    login(ADMIN)
    page = client.get("/admin/sms").get_data(as_text=True)
    assert "Identyfikator nadawcy" in page and "Zapisz najpierw konto" in page
    form = {"csrf_token": csrf(client), "provider": "http", "api_url": "https://sms.example/x",
            "api_key": "tajny", "numbers": "+48221000001", "sender_id": "Łódź",
            "queue_id": "", "auto_reply_enabled": "on", "active": "on",
            "auto_reply_text": "Dziękujemy za wiadomość", "auto_reply_quiet_hours": "24"}
    refused = client.post("/admin/sms", data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'data-error-for="sender_id"' in text and "tajny" not in text
    assert "UCS-2" in text and "ę" in text  # the counter names what forces UCS-2
    saved = client.post("/admin/sms", data={**form, "sender_id": "Centrala"})
    assert saved.status_code == 200
    text = saved.get_data(as_text=True)
    assert "data-inbound-secret" in text and "/sms/inbound/" in text
    assert "Zapisano ustawienia SMS" in text
    again = client.get("/admin/sms").get_data(as_text=True)
    assert "data-inbound-secret" not in again  # shown once
    form_template = {"csrf_token": csrf(client), "name": "Powitanie",
                     "body": "Dzień dobry {{ customer_number }}"}
    assert client.post("/admin/sms/templates", data=form_template).status_code == 302
    assert "Powitanie" in client.get("/admin/sms").get_data(as_text=True)
