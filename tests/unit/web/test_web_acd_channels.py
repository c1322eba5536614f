"""Chats and capacity (``/admin/channels``, ``/api/v1/acd/channels``): admins set the chats
per agent, calls next to chats and the chat offer timeout, and an agent's own limit; the
daemon is told with ``acd.reload``; bad values come back on their field; tenants apart."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, select

from controlplane.bus import COMMANDS_STREAM
from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.acd_channels import AcdChannelSettings, AgentChatCapacity
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


@pytest.fixture
def clean(app, world) -> Iterator[None]:
    factory = app.extensions["centrala"].sessions

    def wipe() -> None:
        with transaction(factory) as s:
            s.execute(delete(AcdChannelSettings))
            s.execute(delete(AgentChatCapacity))

    wipe()
    yield
    wipe()


def _user(app, login: str) -> int:
    with app.extensions["centrala"].sessions() as s:
        uid = s.scalar(select(User.id).where(User.login == login))
        assert uid is not None
        return int(uid)


def _reloads(redis_client, tenant_id: int) -> int:
    sent = [json.loads(f["data"]) for _, f in redis_client.xrange(COMMANDS_STREAM)]
    return sum(1 for c in sent if c.get("cmd") == "acd.reload" and c.get("tenant_id") == tenant_id)


def test_api_reads_defaults_then_changes_and_tells_the_daemon(
    client, login, csrf, world, redis_client, clean
) -> None:
    login(ADMIN)
    got = client.get("/api/v1/acd/channels").get_json()
    assert (got["chats_per_agent"], got["voice_with_chats"], got["chat_offer_timeout_s"]) == (
        6, False, 20)
    assert (got["emails_per_agent"], got["email_offer_timeout_s"]) == (3, 60)
    before = _reloads(redis_client, world.demo_tenant)
    resp = client.put("/api/v1/acd/channels", json={"chats_per_agent": 2,
                                                    "voice_with_chats": True,
                                                    "emails_per_agent": 1,
                                                    "email_offer_timeout_s": 120},
                      headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert (body["chats_per_agent"], body["voice_with_chats"], body["chat_offer_timeout_s"]) == (
        2, True, 20)
    assert (body["emails_per_agent"], body["email_offer_timeout_s"]) == (1, 120)
    assert _reloads(redis_client, world.demo_tenant) == before + 1


@pytest.mark.parametrize("body", [{"chats_per_agent": 21}, {"chat_offer_timeout_s": 2},
                                  {"emails_per_agent": -1}, {"email_offer_timeout_s": 3601},
                                  {"chats_per_agent": "many"}, {"colour": "red"}])
def test_api_refuses_bad_values_naming_the_field(client, login, csrf, clean, body) -> None:
    login(ADMIN)
    resp = client.put("/api/v1/acd/channels", json=body, headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code in (400, 422)
    assert list(body)[0] in resp.get_data(as_text=True)


def test_an_agents_own_limit_set_and_cleared_and_never_across_tenants(
    app, client, login, csrf, world, clean
) -> None:
    agent = _user(app, "agent1")
    login(ADMIN)
    headers = {"X-CSRF-Token": csrf(client)}
    resp = client.put(f"/api/v1/acd/agents/{agent}/capacity", json={"chats": 2}, headers=headers)
    assert resp.get_json() == {"user_id": agent, "login": "agent1", "chats": 2, "emails": None}
    resp = client.put(f"/api/v1/acd/agents/{agent}/capacity", json={"emails": 1}, headers=headers)
    assert resp.get_json() == {"user_id": agent, "login": "agent1", "chats": 2, "emails": 1}
    listed = client.get("/api/v1/acd/channels").get_json()["agents"]
    assert {"user_id": agent, "login": "agent1", "chats": 2, "emails": 1} in listed
    bad = client.put(f"/api/v1/acd/agents/{agent}/capacity", json={"emails": 21}, headers=headers)
    assert bad.status_code in (400, 422) and "emails" in bad.get_data(as_text=True)
    client.put(f"/api/v1/acd/agents/{agent}/capacity", json={"chats": None, "emails": None},
               headers=headers)
    with app.extensions["centrala"].sessions() as s:
        assert s.get(AgentChatCapacity, agent) is None
    bob = _user(app, "bob")  # acme's agent
    resp = client.put(f"/api/v1/acd/agents/{bob}/capacity", json={"chats": 1}, headers=headers)
    assert resp.status_code == 404


def test_only_admins(client, login, clean) -> None:
    login(AGENT1)
    assert client.get("/api/v1/acd/channels").status_code == 403
    assert client.get("/admin/channels").status_code == 403


def test_the_page_saves_and_shows_errors_in_polish(
    app, client, login, csrf, world, clean, demo_in_polish
) -> None:
    login(ADMIN)
    page = client.get("/admin/channels").get_data(as_text=True)
    assert "Czaty i obciążenie" in page and "Połączenia mogą trafiać" in page
    assert "E-maile, które agent ma naraz" in page
    resp = client.post("/admin/channels", data={"csrf_token": csrf(client),
                                                "chats_per_agent": "99",
                                                "chat_offer_timeout_s": "20"})
    assert resp.status_code == 422
    assert "Liczba całkowita od 0 do 20." in resp.get_data(as_text=True)
    resp = client.post("/admin/channels", data={"csrf_token": csrf(client),
                                                "chats_per_agent": "3",
                                                "chat_offer_timeout_s": "30",
                                                "emails_per_agent": "2",
                                                "email_offer_timeout_s": "90",
                                                "voice_with_chats": "on"})
    assert resp.status_code == 302
    with app.extensions["centrala"].sessions() as s:
        row = s.get(AcdChannelSettings, world.demo_tenant)
        assert row is not None
        assert (row.chats_per_agent, row.voice_with_chats, row.chat_offer_timeout_s) == (
            3, True, 30)
        assert (row.emails_per_agent, row.email_offer_timeout_s) == (2, 90)
    agent = _user(app, "agent1")
    resp = client.post(f"/admin/channels/agents/{agent}", data={"csrf_token": csrf(client),
                                                                "chats": "1"})
    assert resp.status_code == 302
    page = client.get("/admin/channels").get_data(as_text=True)
    assert 'value="1"' in page
