"""The agent's side of tickets routed by the ACD in ``/api/v1``: my offers (seconds left)
and the tickets I hold, read from the routing rows; accept/decline/release go to the daemon
with the agent as actor (a refusal a 409 with the daemon's code, another tenant's ticket a
404); the ticket page offers "release" to the holder only; the agent page carries the offer
box (PL/EN)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete

from controlplane.bus import COMMANDS_STREAM
from controlplane.db import transaction
from controlplane.desktop.http.card import stable
from controlplane.models.ticket_routes import TicketRoute

from .test_web_desk_tickets import ACME, AGENT, SUPERVISOR, Desk, _h, desk, sessions  # noqa: F401

_ = (desk, sessions)  # fixtures


@pytest.fixture
def routed(desk: Desk) -> Iterator[Desk]:
    yield desk
    with transaction(desk.sessions) as s:
        s.execute(delete(TicketRoute).where(TicketRoute.ticket_id.in_(desk.tickets or [0])))


def _route(desk: Desk, ticket_id: int, queue_id: int, state: str, user: int | None,
           offer_s: float | None = None) -> None:
    with transaction(desk.sessions) as s:
        until = datetime.now(UTC) + timedelta(seconds=offer_s) if offer_s is not None else None
        s.add(TicketRoute(ticket_id=ticket_id, tenant_id=desk.tenant_id, queue_id=queue_id,
                          state=state, user_id=user, offer_until=until))


def _daemon(redis_client: Any, answer: dict[str, Any], seen: list[dict[str, Any]]) -> threading.Thread:
    """Answers the first agent's ticket command as the daemon would (ticket.sync skipped)."""
    def run() -> None:
        for _i in range(100):
            for _id, fields in redis_client.xrange(COMMANDS_STREAM):
                cmd = json.loads(fields["data"])
                if cmd["cmd"] != "ticket.sync" and cmd.get("reply"):
                    seen.append(cmd)
                    redis_client.rpush(cmd["reply"], json.dumps(answer))
                    redis_client.delete(COMMANDS_STREAM)
                    return
            threading.Event().wait(0.05)

    t = threading.Thread(target=run)
    t.start()
    return t


def test_my_offers_count_down_and_held_tickets_are_listed(  # type: ignore[no-untyped-def]
        client, login, routed: Desk, demo_in_polish) -> None:
    q = routed.queue("agent1")
    me = routed.user("agent1")
    offered, others = (routed.ticket(x, queue_id=q) for x in ("Oferta", "Cudzy"))
    held = routed.ticket("Mój", queue_id=q, assignee_user_id=me)
    _route(routed, offered, q, "offered", me, offer_s=45)
    _route(routed, held, q, "held", me)
    _route(routed, others, q, "offered", routed.user("agent2"), offer_s=45)
    login(AGENT)
    got = client.get("/api/v1/tickets/offers").get_json()
    assert [o["ticket_id"] for o in got["offers"]] == [offered]
    assert 40 <= got["offers"][0]["seconds_left"] <= 45
    assert got["offers"][0]["subject"].startswith("Oferta") and got["offers"][0]["queue"]
    assert [h["ticket_id"] for h in got["held"]] == [held]
    page = client.get(f"/tickets/{held}").get_data(as_text=True)
    assert 'class="ticket-release"' in page
    assert 'class="ticket-release"' not in client.get(f"/tickets/{offered}").get_data(as_text=True)
    assert "Oddaj do kolejki" in page
    agent_page = client.get("/agent").get_data(as_text=True)
    assert 'id="ticket-offers"' in agent_page and "Proponowany Ci e-mail" in agent_page
    card = client.get("/api/v1/agents/me/interaction").get_json()  # the desktop's card
    assert [o["ticket_id"] for o in card["tickets"]["offers"]] == [offered]
    later = {**card, "tickets": {**card["tickets"], "offers": [
        {**card["tickets"]["offers"][0], "seconds_left": 1}]}}
    assert stable(later) == stable(card)  # the countdown alone sends no new card
    listing = client.get("/tickets").get_data(as_text=True)
    assert 'id="ticket-offers"' in listing and "data-stream=" in listing
    chats = client.get("/agent/chats").get_data(as_text=True)  # an agent working chats
    assert 'id="ticket-offers"' in chats and "data-stream=" in chats and "ticket_offers.js" in chats


def test_accept_goes_to_the_daemon_as_the_agent_and_refusals_are_409(  # type: ignore[no-untyped-def]
        client, login, csrf, routed: Desk, redis_client) -> None:
    q = routed.queue("agent1")
    tid = routed.ticket("Do przyjęcia", queue_id=q)
    login(AGENT)
    redis_client.delete(COMMANDS_STREAM)
    seen: list[dict[str, Any]] = []
    t = _daemon(redis_client, {"ok": True}, seen)
    resp = client.post(f"/api/v1/tickets/{tid}/accept", headers=_h(client, csrf))
    t.join()
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json() == {"ok": True, "ticket_id": tid, "action": "accept"}
    assert (seen[0]["cmd"], seen[0]["actor_id"], seen[0]["ticket_id"]) == (
        "ticket.accept", routed.user("agent1"), tid)
    t = _daemon(redis_client, {"ok": False, "code": "not_held",
                               "message": "you do not hold this ticket"}, seen)
    refused = client.post(f"/api/v1/tickets/{tid}/release", headers=_h(client, csrf))
    t.join()
    assert refused.status_code == 409 and refused.get_json()["error"]["id"] == "not_held"
    assert seen[-1]["cmd"] == "ticket.release"


def test_another_tenants_ticket_is_not_found_and_supervisors_may_not_skip_the_guard(  # type: ignore[no-untyped-def]
        client, login, csrf, routed: Desk) -> None:
    q = routed.queue("agent1")
    tid = routed.ticket("Obcy", queue_id=q)
    login(ACME)
    resp = client.post(f"/api/v1/tickets/{tid}/decline", headers=_h(client, csrf))
    assert resp.status_code == 404
    login(SUPERVISOR)
    bad = client.post(f"/api/v1/tickets/{tid}/accept", headers=_h(client, csrf), json={"x": 1})
    assert bad.status_code == 400
