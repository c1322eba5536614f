"""E-mails routed by the real daemon's ACD: mail over SMTP into a real Dovecot, read as the
mail poller does (its ``ticket.sync`` hook), offered to the ready agent, accepted through the
panel's ``/api/v1`` (the Flask app on the platform's database and Redis); with e-mail
capacity 1 the second e-mail waits until the first is solved, then is offered. While the
agent holds an e-mail a lab call to their queue still reaches their desk phone (voice next
to e-mails). Prints e-mail read (ticket committed) → ``ticket.offered`` and solved → next
offer. In Chromium (the panel as its own process): the offer box on the agent page counts
down, "accept" opens the ticket, "give back to the queue" puts it back, the tickets list
shows it offered again and takes it. Ends with nothing held and the agent logged out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest
import redis
from desklab import MailLab, maillab  # noqa: F401
from helpers import free_port, until
from labtools import (
    agents_on_phones,
    ended_record,
    latest_status,
    panel_login,
    reload_acd,
    session_factory,
    unique_caller,
)
from sqlalchemy import delete, select

from controlplane import bus
from controlplane.db import transaction
from controlplane.desk import acd_sync
from controlplane.desk.email import reader, vault
from controlplane.models import Did, PhoneEndpoint, Tenant, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.acd_channels import AcdChannelSettings
from controlplane.models.desk_mail import DeskMailbox
from controlplane.models.ticket_routes import TicketRoute
from controlplane.models.tickets import Ticket
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DIDS, DEMO_DOMAIN
from dialplan import labcall
from web import create_app

pytestmark = pytest.mark.integration
DID = "48221000009"
PHONES = {"mailer1": "demo-1002"}
PASSWORD = "ticket routing live test"
CUSTOMER = "ola@klient.example"


class World:
    def __init__(self, platform: Any, lab: MailLab, tenant_id: int, user: int, queue_id: int,
                 box_id: int, support: str) -> None:
        self.platform, self.lab, self.tenant_id, self.user = platform, lab, tenant_id, user
        self.queue_id, self.box_id, self.support = queue_id, box_id, support
        self.redis = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
        self.factory = session_factory(platform)
        # the mail poller's hook: ticket.sync after the commit (web Redis user, as poller.run)
        self.web_redis = redis.Redis.from_url(platform.settings.redis_url_for("web"))
        acd_sync.install(self.factory, self.web_redis)

    def agent(self, command: str) -> dict[str, Any]:
        return bus.send_agent_command(self.redis, self.tenant_id, self.user, command,
                                      timeout_s=3, actor_id=self.user)

    def try_agent(self, command: str) -> dict[str, Any] | None:
        try:
            return self.agent(command)
        except (bus.CommandError, redis.RedisError):
            return None

    def mail(self, subject: str) -> int:
        """The customer mails support; the poller reads it: the new ticket's id."""
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = CUSTOMER, self.support, subject
        msg["Message-ID"] = make_msgid(domain="klient.example")
        msg.set_content(f"Treść: {subject}")
        self.lab.send(msg)

        def read() -> bool:
            got = reader.poll(self.factory, self.platform.settings.runtime_dir, self.box_id)
            assert not got.error, got.error
            return got.read > 0

        until(read, timeout=20, interval=0.2, what=f"mail {subject!r} read")
        with self.factory() as s:
            tid = s.scalar(select(Ticket.id).where(Ticket.tenant_id == self.tenant_id,
                                                   Ticket.subject == subject))
        assert tid is not None
        return tid

    def last_event_id(self) -> str:
        last = self.redis.xrevrange(bus.EVENTS_STREAM, count=1)
        return last[0][0].decode() if last else "0-0"

    def events(self, start: str, ticket_id: int, kind: str) -> list[dict[str, Any]]:
        out = []
        for _, fields in self.redis.xrange(bus.EVENTS_STREAM, min=f"({start}"):
            e = json.loads(fields[b"data"])
            if e.get("ticket_id") == ticket_id and e.get("type") == kind:
                out.append(e)
        return out

    def route(self, ticket_id: int) -> tuple[str, int | None] | None:
        with self.factory() as s:
            r = s.get(TicketRoute, ticket_id)
            return (r.state, r.user_id) if r is not None else None

    def ticket(self, ticket_id: int) -> Ticket:
        with self.factory() as s:
            t = s.get_one(Ticket, ticket_id)
            s.expunge(t)
            return t


@pytest.fixture
def world(platform, maillab: MailLab) -> Iterator[World]:  # type: ignore[no-untyped-def]  # noqa: F811
    support = f"support-{uuid.uuid4().hex[:6]}@firma.example"
    password = maillab.add_user(support)
    maillab.add_user(CUSTOMER)
    factory = session_factory(platform)
    with transaction(factory) as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        users = agents_on_phones(s, tenant_id, PHONES)
        s.get_one(User, users["mailer1"]).password_hash = hash_password(PASSWORD)
        s.execute(delete(Queue).where(Queue.tenant_id == tenant_id, Queue.name == "mailq"))
        s.execute(delete(AcdChannelSettings).where(AcdChannelSettings.tenant_id == tenant_id))
        s.add(AcdChannelSettings(tenant_id=tenant_id, emails_per_agent=1))
        queue = Queue(tenant_id=tenant_id, name="mailq", ring_timeout_s=15, announce_every_s=None)
        s.add(queue)
        s.flush()
        s.add(QueueMember(queue_id=queue.id, user_id=users["mailer1"], penalty=0))
        did = s.scalar(select(Did).where(Did.number == DID))
        did.phone_endpoint_id, did.flow_id, did.queue_id = None, None, queue.id
        box = DeskMailbox(
            tenant_id=tenant_id, address=support, imap_host="127.0.0.1",
            imap_port=maillab.imap_port, imap_security="plain", imap_login=support,
            imap_password=vault.encrypt(platform.settings.runtime_dir, password),
            smtp_host="127.0.0.1", smtp_port=maillab.smtp_port, smtp_security="plain",
            queue_id=queue.id)
        s.add(box)
        s.flush()
        ids = (queue.id, box.id)
    factory.kw["bind"].dispose()
    reload_acd(platform, tenant_id)
    w = World(platform, maillab, tenant_id, users["mailer1"], *ids, support)
    yield w
    with transaction(w.factory) as s:  # nothing left to route: every test ticket solved
        for t in s.scalars(select(Ticket).where(Ticket.queue_id == w.queue_id,
                                                Ticket.status.in_(("new", "open")))):
            t.status = "solved"
            acd_sync.touched(s, t)
    until(lambda: (w.try_agent("logout") or {}).get("status") == "logged_out"
          or latest_status(platform, w.user) == "logged_out", timeout=60, interval=1,
          what="the agent logged out")
    with transaction(w.factory) as s:
        did = s.scalar(select(Did).where(Did.number == DID))
        did.queue_id = None
        did.phone_endpoint_id = s.scalar(select(PhoneEndpoint.id).where(
            PhoneEndpoint.extension == DEMO_DIDS[DID], PhoneEndpoint.tenant_id == tenant_id))
        s.execute(delete(Ticket).where(Ticket.queue_id == w.queue_id))
        s.execute(delete(DeskMailbox).where(DeskMailbox.id == w.box_id))
        s.execute(delete(Queue).where(Queue.id == w.queue_id))
        s.execute(delete(AcdChannelSettings).where(AcdChannelSettings.tenant_id == tenant_id))
    reload_acd(platform, tenant_id)
    w.redis.close()
    w.web_redis.close()
    w.factory.kw["bind"].dispose()


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    with client.session_transaction() as sess:
        return str(sess["csrf"])


def test_an_email_is_offered_accepted_and_the_next_waits_for_the_capacity(
        world: World) -> None:
    assert world.agent("login")["ok"]
    until(lambda: world.agent("ready")["status"] == "ready", timeout=15, what="agent ready")
    app = create_app(config={"TESTING": True}, settings=world.platform.settings)
    with app.test_client() as client:
        assert panel_login(client, f"mailer1@{DEMO_DOMAIN}", PASSWORD).status_code == 302
        h = {"X-CSRF-Token": _csrf(client)}

        start = world.last_event_id()
        first = world.mail(f"Pierwsza {uuid.uuid4().hex[:6]}")
        offered = until(lambda: world.events(start, first, "ticket.offered"), timeout=10,
                        interval=0.05, what="ticket.offered")
        # the ticket row's creation (the poller's insert) → the daemon's offer, both stamped
        created = world.ticket(first).created_at
        at = datetime.fromisoformat(offered[0]["at"])
        latency = (at - (created if created.tzinfo else created.replace(tzinfo=UTC)))
        latency_s = latency.total_seconds()
        print(f"e-mail received (ticket row created) → ticket.offered: {latency_s * 1000:.0f} ms")
        assert latency_s < 3.0
        assert offered[0]["user_id"] == world.user
        mine = client.get("/api/v1/tickets/offers").get_json()
        assert [o["ticket_id"] for o in mine["offers"]] == [first]
        card = client.get("/api/v1/agents/me/interaction").get_json()
        assert [o["ticket_id"] for o in card["tickets"]["offers"]] == [first]

        resp = client.post(f"/api/v1/tickets/{first}/accept", headers=h)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        until(lambda: world.route(first) == ("held", world.user), timeout=5, what="held")
        assert world.ticket(first).assignee_user_id == world.user
        again = client.post(f"/api/v1/tickets/{first}/accept", headers=h)
        assert again.status_code == 409  # the guard: no longer offered to them

        # capacity 1: the second e-mail waits in the queue
        second = world.mail(f"Druga {uuid.uuid4().hex[:6]}")
        until(lambda: world.events(start, second, "ticket.requeued"), timeout=10,
              what="the second e-mail in the ACD")
        assert world.route(second) == ("waiting", None)
        assert world.events(start, second, "ticket.offered") == []

        # an e-mail in hand does not keep a call away
        caller = unique_caller()
        labcall.call(world.platform.settings, labcall.CallSpec(did=DID, caller_id=caller,
                                                               hangup_after=20))
        row = ended_record(world.platform, caller, timeout=60)
        assert row.agent_endpoint == PHONES["mailer1"] and row.answered_at is not None
        assert world.route(second) == ("waiting", None)  # still full with the first

        # the first solved (the panel's PATCH → ticket.sync): the second is offered
        solved_at = time.monotonic()
        resp = client.patch(f"/api/v1/tickets/{first}", json={"status": "solved"}, headers=h)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        until(lambda: world.events(start, second, "ticket.offered"), timeout=10,
              interval=0.05, what="the second e-mail offered")
        freed = time.monotonic() - solved_at
        print(f"first solved → second ticket.offered: {freed * 1000:.0f} ms")
        assert world.route(first) is None
        resp = client.post(f"/api/v1/tickets/{second}/accept", headers=h)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        until(lambda: world.route(second) == ("held", world.user), timeout=5, what="held")
        resp = client.patch(f"/api/v1/tickets/{second}", json={"status": "solved"}, headers=h)
        assert resp.status_code == 200
        until(lambda: world.route(second) is None, timeout=10, what="nothing held")
    app.extensions["centrala"].close()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def panel(world: World, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The panel as its own process (``python -m web``) on a free port: its base URL."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    port = free_port()
    log = (tmp_path / "web.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "web"],
                            env={**os.environ, "CENTRALA_WEB_PORT": str(port)},
                            stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, f"panel exited; see {tmp_path / 'web.log'}"
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    try:
        until(up, timeout=30, what="the panel answering")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_in_chromium_the_offer_box_accepts_and_the_ticket_page_gives_back(
        world: World, panel: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    assert world.agent("login")["ok"]
    until(lambda: world.agent("ready")["status"] == "ready", timeout=15, what="agent ready")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900},
                                       locale="pl-PL").new_page()
            page.goto(panel + "/login")
            page.fill("input[name=address]", f"mailer1@{DEMO_DOMAIN}")
            page.fill("input[name=password]", PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_load_state()
            take_over = page.locator("form[action*='take-over'] button[type=submit]")
            if take_over.count():  # still logged in elsewhere (an earlier test): take over
                take_over.click()
                page.wait_for_load_state()
            page.goto(panel + "/agent")
            expect(page.locator("#ticket-offers")).to_be_attached()
            subject = f"Przeglądarka {uuid.uuid4().hex[:6]}"
            tid = world.mail(subject)
            box = page.locator("#ticket-offers")
            expect(box.locator(".ticket-offer-subject")).to_contain_text(subject, timeout=15_000)
            left = box.locator(".ticket-offer-left").inner_text()
            assert any(ch.isdigit() for ch in left), left  # the countdown
            box.locator(".ticket-accept").click()
            page.wait_for_url(f"**/tickets/{tid}", timeout=15_000)
            assert world.route(tid) == ("held", world.user)
            page.on("dialog", lambda d: d.accept())  # "give back?" confirmed
            page.locator("button.ticket-release").click()
            page.wait_for_load_state()
            until(lambda: world.ticket(tid).assignee_user_id is None, timeout=10,
                  what="given back")
            # the only agent: offered again, now seen in the tickets list's box
            page.goto(panel + "/tickets")
            expect(page.locator("#ticket-offers .ticket-offer-subject")).to_contain_text(
                subject, timeout=20_000)
            page.locator("#ticket-offers .ticket-accept").click()
            page.wait_for_url(f"**/tickets/{tid}", timeout=15_000)
            until(lambda: world.route(tid) == ("held", world.user), timeout=10, what="held")
        finally:
            browser.close()
