"""E-mails on the supervisors' boards: an agent who holds e-mails shows how many ("2 e-maile")
and links the tickets the ACD gave them; a queue's waiting figure says how many of its
waiting are e-mails, on both wallboards."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import delete

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd.interactions import Channel
from controlplane.acd.tenant import agent_to_json
from controlplane.db import transaction
from controlplane.models.ticket_routes import TicketRoute

from .test_web_desk_tickets import SUPERVISOR, Desk, desk, sessions  # noqa: F401

_ = (desk, sessions)  # fixtures


@pytest.fixture
def mailing(desk: Desk, redis_client: redis.Redis) -> Iterator[tuple[int, int, list[int]]]:
    agent, qid = desk.user("agent1"), desk.queue("agent1")
    tickets = [desk.ticket(f"Mail {n}", queue_id=qid, assignee_user_id=agent) for n in (1, 2)]
    with transaction(desk.sessions) as s:
        for tid in tickets:
            s.add(TicketRoute(ticket_id=tid, tenant_id=desk.tenant_id, queue_id=qid,
                              state="held", user_id=agent))
    held = tuple(am.Work(f"ticket:{t}", Channel.EMAIL, str(qid), 0.0) for t in tickets)
    state = am.AgentState(str(agent), ev.Status.READY, since=1_800_000_000.0, held=held)
    agents = f"centrala:acd:{desk.tenant_id}:agents"
    redis_client.hset(agents, str(agent), agent_to_json(state, "demo-1001"))
    stats = {"tenant_id": desk.tenant_id, "at": "2027-01-15T08:00:00+00:00",
             "window_s": 3600, "agents": {},
             "queues": [{"queue_id": str(qid), "name": "mail", "waiting": 3,
                         "waiting_chats": 0, "waiting_emails": 1, "longest_wait_s": 12.0}]}
    redis_client.set(f"centrala:acd:{desk.tenant_id}:stats", json.dumps(stats))
    yield agent, qid, tickets
    redis_client.hdel(agents, str(agent))
    redis_client.delete(f"centrala:acd:{desk.tenant_id}:stats")
    with transaction(desk.sessions) as s:
        s.execute(delete(TicketRoute).where(TicketRoute.ticket_id.in_(tickets)))


def test_the_agents_board_counts_and_links_the_emails_held(  # type: ignore[no-untyped-def]
        client, login, mailing, demo_in_polish) -> None:
    agent, _, tickets = mailing
    login(SUPERVISOR)
    row = next(a for a in client.get("/api/v1/agents").get_json()["agents"]
               if a["user_id"] == agent)
    assert (row["status"], row["emails"], row["emails_label"]) == ("ready", 2, "2 e-maile")
    page = client.get("/agents").get_data(as_text=True)
    tr = page.split(f'data-user-id="{agent}"', 1)[1].split("</tr>", 1)[0]
    assert '"emails_label">2 e-maile<' in tr
    assert all(f"/tickets/{t}" in tr for t in tickets)


def test_the_wallboards_say_how_many_waiting_are_emails(  # type: ignore[no-untyped-def]
        client, login, mailing, desk: Desk, redis_client, demo_in_polish) -> None:
    _, qid, _ = mailing
    login(SUPERVISOR)
    row = next(q for q in client.get("/api/v1/queues/stats").get_json()["queues"]
               if q["queue_id"] == qid)
    assert (row["waiting_emails"], row["waiting_emails_label"]) == (1, "w tym 1 e-mail")
    assert "w tym 1 e-mail" in client.get("/queues/wallboard").get_data(as_text=True)
    key = f"centrala:acd:{desk.tenant_id}:waiting"
    entered = "2020-01-01T00:00:00+00:00"
    redis_client.hset(key, mapping={
        "call-1": json.dumps({"queue_id": str(qid), "entered_at": entered, "channel": "voice"}),
        "ticket:7": json.dumps({"queue_id": str(qid), "entered_at": entered,
                                "channel": "email"}),
    })
    try:
        board = client.get("/api/v1/wallboard").get_json()
        live = next(q for q in board["queues"] if q["queue_id"] == qid)
        assert (live["waiting"], live["waiting_chats"], live["waiting_emails"]) == (2, 0, 1)
    finally:
        redis_client.delete(key)
