"""Supervision in the panel: the API and the pages' buttons, with a stand-in daemon.

The stand-in reads the real command stream, answers ``supervision`` commands on their reply
key and writes the rows as the daemon's service would (:mod:`controlplane.supervision.store`);
what the daemon itself does is tested in ``tests/unit/supervision`` and, on Asterisk, in
``tests/integration/test_supervision_live.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.bus import COMMANDS_STREAM
from controlplane.db import transaction
from controlplane.models import PhoneEndpoint, Tenant, User
from controlplane.models.supervision import SupervisionSession
from controlplane.seed import DEMO_DOMAIN
from controlplane.supervision import store

from .conftest import World, csrf_of


class StandIn:
    """A thread answering ``supervision`` commands like the daemon (``refuse``: the code to
    refuse every start with)."""

    def __init__(self, port: int, factory: Any) -> None:
        self.client = redis.Redis(port=port, decode_responses=True)
        self.factory = factory
        self.seen: list[dict[str, Any]] = []
        self.refuse: str | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        last = "0-0"
        while not self.stop.is_set():
            got = self.client.xread({COMMANDS_STREAM: last}, block=100)
            for _, entries in got or []:
                for entry_id, fields in entries:
                    last = entry_id
                    cmd = json.loads(fields["data"])
                    self.seen.append(cmd)
                    self.client.lpush(cmd["reply"], json.dumps(self._answer(cmd)))

    def _answer(self, cmd: dict[str, Any]) -> dict[str, Any]:
        kind, _, key = cmd["target"].partition(":")
        if cmd["action"] == "start":
            if self.refuse:
                return {"ok": False, "code": self.refuse, "status": 404,
                        "message": "not on a call with an agent now"}
            sid = store.open_session(self.factory, tenant_id=cmd["tenant_id"],
                                     supervisor_id=cmd["actor_id"],
                                     agent_id=int(key) if kind == "agent" else None,
                                     call_id="platform-1.1" if kind == "agent" else key,
                                     phone="demo-1003", mode=cmd["mode"], actor="test")
            return {"ok": True, "session_id": sid}
        if cmd["action"] == "mode":
            store.change_mode(self.factory, int(key), cmd["mode"], "test")
        else:
            store.end_session(self.factory, int(key), "stopped", "test")
        return {"ok": True, "session_id": int(key)}


@pytest.fixture
def daemon(app: Flask, redis_client: redis.Redis, redis_port: int) -> Iterator[StandIn]:
    stand_in = StandIn(redis_port, app.extensions["centrala"].sessions)
    yield stand_in
    stand_in.stop.set()
    stand_in.thread.join(2)
    stand_in.client.close()


def _user_id(app: Flask, tenant_id: int, login: str) -> int:
    with app.extensions["centrala"].sessions() as s:
        uid = s.scalar(select(User.id).where(User.tenant_id == tenant_id, User.login == login))
        assert uid is not None
        return uid


def _api(client: FlaskClient, method: str, path: str, body: Any = None) -> Any:
    return client.open(path, method=method, json=body,
                       headers={"X-CSRF-Token": csrf_of(client)})


def test_a_supervisor_listens_whispers_and_stops_through_the_api(
        app: Flask, client: FlaskClient, login: Callable[..., Any], world: World,
        person: tuple[int, str], daemon: StandIn) -> None:
    uid, address = person
    login(address)
    agent1 = _user_id(app, world.demo_tenant, "agent1")
    resp = _api(client, "POST", "/api/v1/supervision", {"agent_id": agent1, "mode": "listen"})
    assert resp.status_code == 201, resp.get_json()
    got = resp.get_json()
    assert (got["agent_id"], got["mode"], got["state"]) == (agent1, "listen", "dialing")
    sent = daemon.seen[-1]
    assert (sent["cmd"], sent["action"], sent["target"], sent["mode"]) == (
        "supervision", "start", f"agent:{agent1}", "listen")
    assert (sent["actor_id"], sent["tenant_id"]) == (uid, world.demo_tenant)
    assert _api(client, "GET", "/api/v1/supervision").get_json()["session"]["id"] == got["id"]

    resp = _api(client, "PATCH", f"/api/v1/supervision/{got['id']}", {"mode": "whisper"})
    assert resp.status_code == 200 and resp.get_json()["modes"] == ["listen", "whisper"]
    resp = _api(client, "DELETE", f"/api/v1/supervision/{got['id']}")
    assert resp.status_code == 200
    assert (resp.get_json()["state"], resp.get_json()["end_reason"]) == ("ended", "stopped")
    assert _api(client, "GET", "/api/v1/supervision").get_json() == {"session": None}


def test_bad_targets_are_refused_before_the_daemon_is_asked(
        app: Flask, client: FlaskClient, login: Callable[..., Any], world: World,
        person: tuple[int, str], daemon: StandIn) -> None:
    login(person[1])
    bob = _user_id(app, world.acme_tenant, "bob")
    for body, status in (({"mode": "listen"}, 400),
                         ({"agent_id": bob, "call_id": "x", "mode": "listen"}, 400),
                         ({"agent_id": 1, "mode": "shout"}, 400),
                         ({"channel": "PJSIP/demo-1001-0001", "mode": "listen"}, 400),
                         ({"agent_id": bob, "mode": "listen"}, 404)):
        resp = _api(client, "POST", "/api/v1/supervision", body)
        assert resp.status_code == status, (body, resp.get_json())
    assert daemon.seen == []
    with transaction(app.extensions["centrala"].sessions) as s:  # another tenant's session
        row = SupervisionSession(tenant_id=world.acme_tenant, call_id="acme-1", phone="acme-2001",
                                 mode="listen", modes="listen", state="active", end_reason="")
        s.add(row)
        s.flush()
        foreign = row.id
    assert _api(client, "PATCH", f"/api/v1/supervision/{foreign}", {"mode": "barge"}).status_code == 404
    assert _api(client, "DELETE", f"/api/v1/supervision/{foreign}").status_code == 404
    assert daemon.seen == []


def test_the_daemons_refusal_reaches_the_client(
        app: Flask, client: FlaskClient, login: Callable[..., Any], world: World,
        person: tuple[int, str], daemon: StandIn) -> None:
    login(person[1])
    daemon.refuse = "not_on_call"
    resp = _api(client, "POST", "/api/v1/supervision", {"call_id": "platform-9.9", "mode": "barge"})
    assert resp.status_code == 404 and resp.get_json()["error"]["id"] == "not_on_call"


def test_agents_may_not_supervise(client: FlaskClient, login: Callable[..., Any],
                                  daemon: StandIn) -> None:
    login(f"agent1@{DEMO_DOMAIN}")
    assert _api(client, "POST", "/api/v1/supervision", {"agent_id": 1, "mode": "listen"}
                ).status_code == 403
    assert client.get("/calls/live").status_code == 200
    assert "Listen" not in client.get("/calls/live").get_data(as_text=True)
    assert daemon.seen == []


def test_the_pages_buttons_start_switch_and_stop_in_polish(
        app: Flask, client: FlaskClient, login: Callable[..., Any], world: World,
        person: tuple[int, str], daemon: StandIn, demo_in_polish: None) -> None:
    login(person[1])
    page = client.get("/calls/live").get_data(as_text=True)
    assert 'id="supervise-row"' in page and "Podsłuchaj" in page
    agent1 = _user_id(app, world.demo_tenant, "agent1")
    resp = client.post("/supervision", data={"csrf_token": csrf_of(client),
                                             "target": f"agent:{agent1}", "mode": "whisper",
                                             "back": "agents"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/agents")
    board = client.get("/agents").get_data(as_text=True)
    assert "Nadzór w toku" in board and "Zakończ nadzór" in board
    assert "Podpowiadaj" in board and 'aria-pressed="true"' in board
    sid = daemon.seen[-1] and _api(client, "GET", "/api/v1/supervision").get_json()["session"]["id"]
    client.post("/supervision", data={"csrf_token": csrf_of(client), "session": str(sid),
                                      "mode": "barge", "back": "live"})
    assert daemon.seen[-1]["action"] == "mode" and daemon.seen[-1]["mode"] == "barge"
    client.post("/supervision", data={"csrf_token": csrf_of(client), "session": str(sid),
                                      "stop": "1", "back": "live"})
    page = client.get("/calls/live").get_data(as_text=True)
    # the bar stays in the page for supervise.js, hidden, with no session
    assert 'data-session="" data-mode="" data-state="none"' in page and "Nadzór zakończony." in page
    daemon.refuse = "not_on_call"
    client.post("/supervision", data={"csrf_token": csrf_of(client), "target": "call:x",
                                      "mode": "listen", "back": "live"})
    assert "nie rozmawia teraz z agentem" in client.get("/calls/live").get_data(as_text=True)



def test_a_supervisor_without_a_desk_phone_gets_the_webphone_on_the_supervision_pages(
        app: Flask, client: FlaskClient, login: Callable[..., Any], world: World,
        person: tuple[int, str]) -> None:
    """The live calls page and the agents board run the webphone for staff without a desk
    phone (the agent's component: no queue gate, and it answers their own session's call);
    not when the tenant turns webphones off (none made yet), nor beside a desk phone."""
    uid, address = person
    login(address)
    factory = app.extensions["centrala"].sessions
    for path in ("/calls/live", "/agents"):
        page = client.get(path).get_data(as_text=True)
        assert 'id="webphone"' in page and "webphone.js" in page and "supervise.js" in page
        assert 'data-supervision="/api/v1/supervision"' in page and "data-gate" not in page
        assert 'id="supervision-bar"' in page
    agent_page = client.get("/agent").get_data(as_text=True)  # their own status page too
    assert 'data-gate="queues"' in agent_page and 'data-supervision="' in agent_page
    try:
        with transaction(factory) as s:
            s.get(Tenant, world.demo_tenant).webphone_enabled = False
        assert 'id="webphone"' not in client.get("/calls/live").get_data(as_text=True)
    finally:
        with transaction(factory) as s:
            s.get(Tenant, world.demo_tenant).webphone_enabled = True
    with transaction(factory) as s:
        desk = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == "demo-1003"))
        owner, desk.user_id = desk.user_id, uid
    try:
        page = client.get("/agents").get_data(as_text=True)
        assert 'id="webphone"' not in page and "webphone.js" not in page
        assert "supervise.js" in page  # the buttons still switch in place
    finally:
        with transaction(factory) as s:
            s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == "demo-1003")
                     ).user_id = owner


def test_agents_get_no_supervision_answering(client: FlaskClient,
                                             login: Callable[..., Any]) -> None:
    login(f"agent1@{DEMO_DOMAIN}")
    page = client.get("/calls/live").get_data(as_text=True)
    assert 'id="supervision-bar"' not in page and 'data-supervision="' not in page
