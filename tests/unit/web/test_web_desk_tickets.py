"""Tickets' pages and ``/api/v1/tickets``: who sees what (agents: their queues, their own,
the general inbox; supervisors all; other tenants nothing), filters, search, sort and
paging, field changes kept on the ticket's history and audited, replies queued for
delivery through their channel, private notes, a bad value a 4xx naming its field, and the
ticket page in Polish."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.desk import threads
from controlplane.desk.threads import Inbound
from controlplane.models import JobOutbox, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.security import SecurityEvent
from controlplane.models.tickets import Ticket, TicketCategory
from controlplane.models.webhooks import WebhookEvent
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
ACME = "boss@acme.example"


@pytest.fixture
def sessions(settings: Any) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


class Desk:
    """Tickets, queues and a category made for one test, and removed after it."""

    def __init__(self, sessions: sessionmaker[Session], tenant_id: int) -> None:
        self.sessions, self.tenant_id = sessions, tenant_id
        self.tag = uuid.uuid4().hex[:6]
        self.tickets: list[int] = []
        self.queues: list[int] = []
        self.categories: list[int] = []

    def user(self, login: str) -> int:
        with self.sessions() as s:
            uid = s.scalar(select(User.id).where(User.tenant_id == self.tenant_id,
                                                 User.login == login))
            assert uid is not None
            return uid

    def queue(self, *members: str) -> int:
        with transaction(self.sessions) as s:
            q = Queue(tenant_id=self.tenant_id, name=f"desk-{self.tag}-{len(self.queues)}")
            s.add(q)
            s.flush()
            for login in members:
                s.add(QueueMember(queue_id=q.id, user_id=self.user(login)))
            self.queues.append(q.id)
            return q.id

    def category(self, name: str) -> int:
        with transaction(self.sessions) as s:
            c = TicketCategory(tenant_id=self.tenant_id, name=f"{name} {self.tag}")
            s.add(c)
            s.flush()
            self.categories.append(c.id)
            return c.id

    def ticket(self, subject: str, *, channel: str = "email", sender: str = "",
               **fields: Any) -> int:
        with transaction(self.sessions) as s:
            got = threads.receive(s, Inbound(
                self.tenant_id, channel, sender or f"{self.tag}-{len(self.tickets)}@klient.pl",
                f"Treść: {subject}", subject=f"{subject} {self.tag}",
                external_id=f"<{uuid.uuid4().hex}@klient.pl>" if channel == "email" else None))
            t = s.get_one(Ticket, got.ticket_id)
            for key, value in fields.items():
                setattr(t, key, value)
            self.tickets.append(t.id)
            return t.id

    def cleanup(self) -> None:
        with transaction(self.sessions) as s:
            if self.tickets:
                s.execute(delete(Ticket).where(Ticket.merged_into_id.in_(self.tickets)))
                s.execute(delete(Ticket).where(Ticket.id.in_(self.tickets)))
            if self.queues:
                s.execute(delete(Queue).where(Queue.id.in_(self.queues)))
            if self.categories:
                s.execute(delete(TicketCategory).where(TicketCategory.id.in_(self.categories)))


@pytest.fixture
def desk(sessions: sessionmaker[Session], world: Any) -> Iterator[Desk]:
    d = Desk(sessions, world.demo_tenant)
    yield d
    d.cleanup()


def _h(client: Any, csrf: Any) -> dict[str, str]:
    return {"X-CSRF-Token": csrf(client)}


def _ids(resp: Any) -> set[int]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {t["id"] for t in resp.get_json()["tickets"]}


def test_agents_see_their_queues_their_own_and_the_inbox(client, login, desk) -> None:  # type: ignore[no-untyped-def]
    q_mine, q_other = desk.queue("agent1"), desk.queue("agent2")
    agent2 = desk.user("agent2")
    agent1 = desk.user("agent1")
    in_my_queue = desk.ticket("Kolejka", queue_id=q_mine)
    other_queue = desk.ticket("Obca kolejka", queue_id=q_other)
    inbox = desk.ticket("Skrzynka")
    theirs = desk.ticket("Cudze", queue_id=q_other, assignee_user_id=agent2)
    mine = desk.ticket("Moje", queue_id=q_other, assignee_user_id=agent1)
    mine_or_visible = {in_my_queue, inbox, mine}
    login(AGENT)
    seen = _ids(client.get(f"/api/v1/tickets?q={desk.tag}&per_page=100"))
    assert seen == mine_or_visible
    assert client.get(f"/api/v1/tickets/{other_queue}").status_code == 404
    assert client.get(f"/api/v1/tickets/{theirs}").status_code == 404
    assert client.get(f"/api/v1/tickets/{mine}").status_code == 200
    assert _ids(client.get(f"/api/v1/tickets?q={desk.tag}&assignee=mine")) == {mine}
    page = client.get(f"/tickets?q={desk.tag}")
    assert page.status_code == 200 and "Obca kolejka" not in page.get_data(as_text=True)
    client.post("/logout")
    login(SUPERVISOR)
    assert _ids(client.get(f"/api/v1/tickets?q={desk.tag}")) == {
        in_my_queue, other_queue, inbox, theirs, mine}
    client.post("/logout")
    login(ACME)
    assert _ids(client.get(f"/api/v1/tickets?q={desk.tag}")) == set()
    assert client.get(f"/api/v1/tickets/{inbox}").status_code == 404


def test_filters_sort_and_paging(client, login, desk) -> None:  # type: ignore[no-untyped-def]
    cat = desk.category("Reklamacje")
    low = desk.ticket("Niski", priority="low")
    urgent = desk.ticket("Pilny", priority="urgent", category_id=cat)
    high = desk.ticket("Wysoki", priority="high", status="pending", channel="sms",
                       sender="+48600999001")
    login(SUPERVISOR)
    q = f"q={desk.tag}"
    got = client.get(f"/api/v1/tickets?{q}&sort=-priority").get_json()["tickets"]
    assert [t["id"] for t in got] == [urgent, high, low]
    assert _ids(client.get(f"/api/v1/tickets?{q}&status=pending")) == {high}
    assert _ids(client.get(f"/api/v1/tickets?{q}&status=active")) == {low, urgent, high}
    assert _ids(client.get(f"/api/v1/tickets?{q}&category_id={cat}")) == {urgent}
    assert _ids(client.get(f"/api/v1/tickets?{q}&channel=sms")) == {high}
    assert _ids(client.get(f"/api/v1/tickets?{q}&assignee=unassigned")) == {low, urgent, high}
    assert _ids(client.get(f"/api/v1/tickets?q=Pilny {desk.tag}")) == {urgent}
    paged = client.get(f"/api/v1/tickets?{q}&per_page=2&page=2&sort=number").get_json()
    assert (paged["total"], paged["pages"], len(paged["tickets"])) == (3, 2, 1)
    number = paged["tickets"][0]["number"]
    assert high in _ids(client.get(f"/api/v1/tickets?q=%23{number}"))
    bad = client.get(f"/api/v1/tickets?{q}&sort=-nope")
    assert bad.status_code == 422 and bad.get_json()["error"]["details"]["field"] == "sort"
    assert client.get("/api/v1/tickets?status=maybe").status_code == 400
    assert client.get("/api/v1/tickets?assignee=someone").status_code == 400
    # the page ignores what the API refuses
    page = client.get(f"/tickets?{q}&status=maybe&sort=-priority")
    assert page.status_code == 200 and f"Pilny {desk.tag}" in page.get_data(as_text=True)


def test_changes_are_kept_on_the_history_audited_and_sent_as_webhooks(  # type: ignore[no-untyped-def]
        client, login, csrf, desk, sessions, world) -> None:
    cat = desk.category("Faktury")
    queue = desk.queue("agent1")
    tid = desk.ticket("Zmiany")
    agent1 = desk.user("agent1")
    login(SUPERVISOR)
    resp = client.patch(f"/api/v1/tickets/{tid}", headers=_h(client, csrf), json={
        "status": "pending", "priority": "high", "category_id": cat,
        "assignee_user_id": agent1, "queue_id": queue})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    t = resp.get_json()["ticket"]
    assert (t["status"], t["priority"], t["category_id"], t["assignee_user_id"]) == (
        "pending", "high", cat, agent1)
    detail = client.get(f"/api/v1/tickets/{tid}").get_json()
    kinds = {e["kind"]: e for e in detail["events"]}
    assert kinds["status"]["old"] == "new" and kinds["status"]["new"] == "pending"
    assert kinds["assignee_user_id"]["detail"]["new_name"] == "Agent1"
    assert kinds["category_id"]["detail"]["new_name"].startswith("Faktury")
    assert all(e["actor"] == SUPERVISOR for e in detail["events"] if e["kind"] != "created")
    # unchanged values add nothing; null clears
    client.patch(f"/api/v1/tickets/{tid}", headers=_h(client, csrf),
                 json={"status": "pending", "category_id": None})
    events = client.get(f"/api/v1/tickets/{tid}").get_json()["events"]
    assert [e["kind"] for e in events].count("status") == 1
    assert events[-1]["kind"] == "category_id" and events[-1]["new"] == ""
    with sessions() as s:
        audited = s.scalars(select(SecurityEvent.detail).where(
            SecurityEvent.kind == "ticket.updated", SecurityEvent.tenant_id == world.demo_tenant)
        ).all()
        assert {"ticket": tid, "fields": ["assignee_user_id", "category_id", "priority",
                                          "queue_id", "status"]} in audited
        hooks = s.scalars(select(WebhookEvent).where(WebhookEvent.type == "ticket.updated",
                                                     WebhookEvent.tenant_id == world.demo_tenant)
                          ).all()
        assert any(h.payload["ticket"]["id"] == tid and "status" in h.payload["changes"]
                   for h in hooks)
    # another tenant's category, an unknown user: 422 naming the field
    with sessions() as s:
        acme_admin = s.scalar(select(User.id).where(User.tenant_id == world.acme_tenant))
    bad = client.patch(f"/api/v1/tickets/{tid}", headers=_h(client, csrf),
                       json={"assignee_user_id": acme_admin})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"]["field"] == "assignee_user_id"
    assert client.patch(f"/api/v1/tickets/{tid}", headers=_h(client, csrf),
                        json={"status": "lost"}).status_code == 400
    assert client.patch(f"/api/v1/tickets/{tid}", headers=_h(client, csrf),
                        json={"colour": "red"}).status_code == 400


def test_a_reply_is_queued_for_its_channel_and_a_note_is_not(  # type: ignore[no-untyped-def]
        client, login, csrf, desk, sessions) -> None:
    mail = desk.ticket("Poczta")
    panel = desk.ticket("Z panelu", channel="panel", sender="ktos@klient.pl")
    login(AGENT)
    sent = client.post(f"/api/v1/tickets/{mail}/messages", headers=_h(client, csrf),
                       json={"body": "Dzień dobry,\nsprawdzamy."})
    assert sent.status_code == 201, sent.get_data(as_text=True)
    msg = sent.get_json()["message"]
    assert (msg["direction"], msg["channel"], msg["delivery"]) == ("out", "email", "pending")
    note = client.post(f"/api/v1/tickets/{mail}/messages", headers=_h(client, csrf),
                       json={"body": "Klient dzwonił wczoraj", "note": True}).get_json()["message"]
    assert (note["direction"], note["delivery"]) == ("note", None)
    local = client.post(f"/api/v1/tickets/{panel}/messages", headers=_h(client, csrf),
                        json={"body": "Odpowiedź"}).get_json()["message"]
    assert local["delivery"] is None
    with sessions() as s:
        jobs = s.scalars(select(JobOutbox).where(JobOutbox.func.like("%desk_deliver"))).all()
        mine = [j for j in jobs if j.args == [msg["id"]]]
        assert len(mine) == 1 and mine[0].job_id == f"desk-deliver-{msg['id']}"
        assert not [j for j in jobs if j.args in ([note["id"]], [local["id"]])]
        t = s.get_one(Ticket, mail)
        assert t.status == "open" and t.first_response_at is not None
    thread = client.get(f"/api/v1/tickets/{mail}/messages").get_json()["messages"]
    assert [m["direction"] for m in thread] == ["in", "out", "note"]
    assert client.post(f"/api/v1/tickets/{mail}/messages", headers=_h(client, csrf),
                       json={"body": ""}).status_code == 400


def test_opening_a_ticket_in_the_api(client, login, csrf, desk) -> None:  # type: ignore[no-untyped-def]
    login(AGENT)
    resp = client.post("/api/v1/tickets", headers=_h(client, csrf), json={
        "subject": f"Telefon {desk.tag}", "body": "Klient prosi o fakturę",
        "requester": "+48600100200", "priority": "high"})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    t = resp.get_json()["ticket"]
    desk.tickets.append(t["id"])
    assert (t["channel"], t["priority"], t["status"]) == ("panel", "high", "new")
    events = client.get(f"/api/v1/tickets/{t['id']}").get_json()["events"]
    assert events[0]["kind"] == "created"


def test_ticket_page_in_polish(client, login, csrf, desk, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    tid = desk.ticket("Awaria")
    login(AGENT)
    client.post(f"/api/v1/tickets/{tid}/messages", headers=_h(client, csrf),
                json={"body": "Sprawdzamy"})
    client.post(f"/tickets/{tid}/fields", data={"csrf_token": csrf(client), "status": "pending",
                                               "priority": "urgent", "category_id": "",
                                               "assignee_user_id": "", "queue_id": ""})
    page = client.get(f"/tickets/{tid}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for text in ("Rozmowa", "Odpowiedź", "Klient", "Historia", "Oczekuje", "Pilny",
                 "Wyślij", "Notatka prywatna", "✉"):
        assert text in html, text
    assert "pending" not in html.replace('value="pending"', "")
    listing = client.get(f"/tickets?q={desk.tag}").get_data(as_text=True)
    assert "Zgłoszenia" in listing and f"Awaria {desk.tag}" in listing


def test_an_agent_who_moves_a_ticket_away_gets_it_back_once(  # type: ignore[no-untyped-def]
        client, login, csrf, desk) -> None:
    elsewhere = desk.queue("agent2")
    tid = desk.ticket("Przeniesione")
    login(AGENT)
    resp = client.patch(f"/api/v1/tickets/{tid}", headers=_h(client, csrf),
                        json={"queue_id": elsewhere})
    assert resp.status_code == 200 and resp.get_json()["ticket"]["queue_id"] == elsewhere
    assert client.get(f"/api/v1/tickets/{tid}").status_code == 404  # not theirs any more
