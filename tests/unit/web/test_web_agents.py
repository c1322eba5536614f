"""Agents in the panel: own status, the supervisors' board and their commands.

The round trips run the real path: panel → ``centrala:commands`` on the real Redis →
the daemon's command reader (``controlplane.daemon._commands``) → a real
``QueueService`` on the session's SQLite (recording connector for the ARI side),
started in a thread with its own event loop as the daemon runs it. Refusals by
role and tenant are checked to leave the commands stream empty: nothing was sent.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from acd_world import FakeConnector
from sqlalchemy import select

from controlplane import daemon
from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd.service import QueueService
from controlplane.acd.store import agent_to_json
from controlplane.bus import COMMANDS_STREAM
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Role, Tenant, User
from controlplane.models.acd import AgentBreakReason
from controlplane.security.command_guard import CommandGuard
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
ACME_AGENT = "bob@acme.example"
# Break reasons of the demo tenant used here (other modules use other codes).
FREE, APPROVAL, SUPERVISOR_ONLY = "71", "72", "79"


@dataclass(frozen=True)
class Ids:
    users: dict[str, int]  # "login@domain" → user id
    demo: int
    acme: int


@pytest.fixture
def ids(settings, world) -> Ids:  # type: ignore[no-untyped-def]
    """User ids, and the demo tenant's break reasons (added once, kept for the session)."""
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            have = set(
                s.scalars(
                    select(AgentBreakReason.code).where(
                        AgentBreakReason.tenant_id == world.demo_tenant
                    )
                )
            )
            for code, kind, label in (
                (FREE, "free", "Coffee"),
                (APPROVAL, "approval", "Lunch"),
                (SUPERVISOR_ONLY, "supervisor", "Coaching"),
            ):
                if code not in have:
                    s.add(
                        AgentBreakReason(
                            tenant_id=world.demo_tenant, code=code, kind=kind, label=label
                        )
                    )
            rows = s.execute(select(User.login, Tenant.domain, User.id).join(Tenant)).all()
    finally:
        engine.dispose()
    return Ids({f"{lg}@{d}": uid for lg, d, uid in rows}, world.demo_tenant, world.acme_tenant)


class Daemon:
    """The control plane's ACD and command reader on their own event loop, in a thread."""

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        self.settings = settings
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="test-daemon", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as err:  # noqa: BLE001 - reported to the test
            self.error = err
            self.ready.set()

    async def _main(self) -> None:
        engine = make_engine(self.settings.database_url)
        rds = aioredis.Redis.from_url(self.settings.redis_url)
        try:
            svc = QueueService(make_sessionmaker(engine), rds, FakeConnector(), stats_interval_s=0)
            await svc.start()
            # The session's database keeps status logs of earlier tests: start logged out.
            with make_sessionmaker(engine)() as s:
                users = s.execute(select(User.tenant_id, User.id)).all()
            for tid, uid in users:
                await svc.agent_command(tid, uid, "logout", by="test")
            reader = asyncio.create_task(
                daemon._commands(rds, svc, guard=CommandGuard(make_sessionmaker(engine))))
            deadline = time.monotonic() + 10
            while not any(c.get("cmd") == "xread" for c in await rds.client_list()):
                assert not reader.done() and time.monotonic() < deadline, "reader not started"
                await asyncio.sleep(0.02)
            self.loop, self.stop = asyncio.get_running_loop(), asyncio.Event()
            self.ready.set()
            await self.stop.wait()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
        finally:
            await rds.aclose()
            engine.dispose()

    def start(self) -> Daemon:
        self.thread.start()
        assert self.ready.wait(20), "daemon did not start"
        if self.error is not None:
            raise self.error
        return self

    def close(self) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


@pytest.fixture
def acd_daemon(settings, world, redis_client, ids) -> Iterator[Daemon]:  # type: ignore[no-untyped-def]
    d = Daemon(settings).start()
    yield d
    d.close()


def api_command(client, csrf, user_id: int, command: str, reason: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/agents/{user_id}/command",
        json={"command": command, "reason": reason},
        headers={"X-CSRF-Token": csrf(client)},
    )


def page_command(client, csrf, path: str, command: str, reason: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        path,
        data={"csrf_token": csrf(client), "command": command, "reason": reason},
        follow_redirects=True,
    )


def me(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    resp = client.get("/api/v1/agents/me")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    agent: dict[str, Any] = resp.get_json()["agent"]
    return agent


def test_roles_of_agent_views(app) -> None:  # type: ignore[no-untyped-def]
    roles = {e: getattr(v, "centrala_roles", None) for e, v in app.view_functions.items()}
    for endpoint in (
        "agents.board",
        "agents.board_command",
        "agents.api_agents",
        "agents.api_agent",
    ):
        assert roles[endpoint] == {Role.ADMIN, Role.SUPERVISOR}
    for endpoint in ("agents.me", "agents.me_command", "agents.api_me", "agents.api_command"):
        assert roles[endpoint] == set(Role)  # own status; the command checks the target inside


def test_agent_break_request_approved_by_supervisor_round_trip(  # type: ignore[no-untyped-def]
    app, client, login, login_form, csrf, ids, acd_daemon, redis_client
) -> None:
    agent1 = ids.users[AGENT1]
    login(AGENT1)
    page = page_command(client, csrf, "/agent", "login").get_data(as_text=True)
    assert "login: done, status now ready" in page
    assert me(client)["status"] == "ready" and me(client)["endpoint"] == "demo-1001"

    page = page_command(client, csrf, "/agent", "break", FREE).get_data(as_text=True)
    assert "status now break (71)" in page
    assert (me(client)["status"], me(client)["reason_label"]) == ("break", "Coffee")
    assert page_command(client, csrf, "/agent", "ready").status_code == 200
    assert me(client)["status"] == "ready"

    resp = api_command(client, csrf, agent1, "break", APPROVAL)  # needs approval: requested
    assert resp.status_code == 200
    assert resp.get_json()["result"]["status"] == "ready"
    assert me(client)["pending_break"] == APPROVAL

    with app.test_client() as boss:
        assert login_form(boss, SUPERVISOR).status_code == 302
        board = {a["user_id"]: a for a in boss.get("/api/v1/agents").get_json()["agents"]}
        assert board[agent1]["pending_break"] == APPROVAL
        html = boss.get("/agents").get_data(as_text=True)
        row = html.split(f'data-user-id="{agent1}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-show="pending_break">' in row  # the approve form is not hidden
        page = page_command(boss, csrf, f"/agents/{agent1}", "approve").get_data(as_text=True)
        assert "approve: done, status now break (72)" in page

    assert (me(client)["status"], me(client)["reason"], me(client)["pending_break"]) == (
        "break",
        APPROVAL,
        None,
    )
    raw = json.loads(redis_client.hget(f"centrala:acd:{ids.demo}:agents", str(agent1)))
    assert raw["status"] == "break"  # what the daemon mirrored, not what the panel guessed


def test_supervisor_forces_break_and_logout(  # type: ignore[no-untyped-def]
    app, client, login, login_form, csrf, ids, acd_daemon
) -> None:
    agent1 = ids.users[AGENT1]
    with app.test_client() as agent:
        assert login_form(agent, AGENT1).status_code == 302
        assert api_command(agent, csrf, agent1, "login").status_code == 200
    login(SUPERVISOR)
    resp = api_command(client, csrf, agent1, "force", SUPERVISOR_ONLY)
    assert resp.status_code == 200
    assert resp.get_json()["result"]["status"] == "break"
    resp = api_command(client, csrf, agent1, "logout")
    assert resp.get_json()["result"]["status"] == "logged_out"
    assert client.get(f"/api/v1/agents/{agent1}").get_json()["agent"]["status"] == "logged_out"


def test_refused_command_is_409_with_the_acd_code(  # type: ignore[no-untyped-def]
    client, login, csrf, ids, acd_daemon
) -> None:
    agent1 = ids.users[AGENT1]
    login(AGENT1)
    api_command(client, csrf, agent1, "login")
    resp = api_command(client, csrf, agent1, "break", SUPERVISOR_ONLY)
    assert resp.status_code == 409
    err = resp.get_json()["error"]
    assert err["id"] == "command_refused" and "supervisor" in err["message"]
    assert err["details"] == {"code": "refused", "status": "ready", "reason": None}
    page = page_command(client, csrf, "/agent", "cancel_break").get_data(as_text=True)
    assert "no break request to cancel" in page


def test_control_plane_down_is_a_clear_503(app, client, login, csrf, ids, redis_client) -> None:  # type: ignore[no-untyped-def]
    app.config["ACD_COMMAND_TIMEOUT_S"] = 0.3
    login(AGENT1)
    resp = api_command(client, csrf, ids.users[AGENT1], "login")
    assert resp.status_code == 503
    err = resp.get_json()["error"]
    assert err["id"] == "controlplane_not_answering"
    assert "control plane not answering" in err["message"]
    page = page_command(client, csrf, "/agent", "login").get_data(as_text=True)
    assert "control plane not answering" in page
    assert redis_client.xlen(COMMANDS_STREAM) == 2  # both were sent, nobody answered


@pytest.mark.parametrize(
    ("who", "target", "command", "status", "error_id"),
    [
        (AGENT1, "agent2@" + DEMO_DOMAIN, "login", 403, "forbidden"),  # another user
        (AGENT1, AGENT1, "approve", 403, "forbidden"),  # a supervisor action on oneself
        (AGENT1, ACME_AGENT, "logout", 403, "forbidden"),  # no hint whether the user exists
        (SUPERVISOR, "agent2@" + DEMO_DOMAIN, "login", 403, "forbidden"),  # agent's own action
        (SUPERVISOR, ACME_AGENT, "force", 404, "not_found"),  # another tenant's agent
        (ACME_ADMIN, AGENT1, "logout", 404, "not_found"),
        (SUPERVISOR, AGENT1, "dance", 400, "invalid"),  # not a command (the schema says so)
        (SUPERVISOR, AGENT1, "force", 400, "bad_parameter"),  # no reason
    ],
)
def test_role_and_tenant_refusals_send_nothing(  # type: ignore[no-untyped-def]
    client, login, csrf, ids, redis_client, who, target, command, status, error_id
) -> None:
    login(who)
    resp = api_command(client, csrf, ids.users[target], command)
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.get_json()["error"]["id"] == error_id
    assert redis_client.xlen(COMMANDS_STREAM) == 0


def test_pages_refuse_by_role_and_tenant(client, login, csrf, ids, redis_client) -> None:  # type: ignore[no-untyped-def]
    login(AGENT1)
    assert client.get("/agents").status_code == 403
    assert client.get("/api/v1/agents").status_code == 403
    resp = client.post(
        f"/agents/{ids.users['agent2@' + DEMO_DOMAIN]}",
        data={"csrf_token": csrf(client), "command": "logout"},
    )
    assert resp.status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(SUPERVISOR)
    resp = client.post(
        f"/agents/{ids.users[ACME_AGENT]}", data={"csrf_token": csrf(client), "command": "logout"}
    )
    assert resp.status_code == 404
    assert client.get(f"/api/v1/agents/{ids.users[ACME_AGENT]}").status_code == 404
    assert redis_client.xlen(COMMANDS_STREAM) == 0


def put_agent(r: redis.Redis, tenant: int, uid: int, **kw: Any) -> None:
    state = am.AgentState(str(uid), **kw)
    r.hset(f"centrala:acd:{tenant}:agents", str(uid), agent_to_json(state, "demo-1001"))


def test_board_shows_every_agent_of_the_tenant_from_redis(  # type: ignore[no-untyped-def]
    app, client, login, login_form, ids, redis_client
) -> None:
    agent1, agent2 = ids.users[AGENT1], ids.users["agent2@" + DEMO_DOMAIN]
    put_agent(
        redis_client,
        ids.demo,
        agent1,
        status=ev.Status.BREAK,
        reason=FREE,
        since=1_800_000_000.0,
        answered=4,
        pending_break=None,
        reachable=False,
    )
    # a user of another tenant written under the demo key is never shown to demo
    put_agent(redis_client, ids.demo, ids.users[ACME_AGENT], status=ev.Status.READY)
    put_agent(redis_client, ids.acme, ids.users[ACME_AGENT], status=ev.Status.ON_CALL)
    login(SUPERVISOR)
    agents = {a["login"]: a for a in client.get("/api/v1/agents").get_json()["agents"]}
    assert "bob" not in agents
    assert {"agent1", "agent2"} <= set(agents)
    a1 = agents["agent1"]
    assert (a1["user_id"], a1["status"], a1["reason"], a1["reason_label"]) == (
        agent1,
        "break",
        FREE,
        "Coffee",
    )
    assert (a1["since"], a1["calls"], a1["reachable"], a1["endpoint"]) == (
        "2027-01-15T08:00:00+00:00",
        4,
        False,
        "demo-1001",
    )
    assert agents["agent2"]["user_id"] == agent2 and agents["agent2"]["status"] == "logged_out"
    page = client.get("/agents").get_data(as_text=True)
    assert "2027-01-15 08:00:00" in page and "unreachable" in page and "Coffee" in page
    assert 'data-poll="/api/v1/agents"' in page

    with app.test_client() as acme:
        assert login_form(acme, ACME_ADMIN).status_code == 302
        agents = {a["login"]: a for a in acme.get("/api/v1/agents").get_json()["agents"]}
    assert set(agents) == {"bob"} and agents["bob"]["status"] == "on_call"


def form_tag(page: str, command: str) -> str:
    """The opening ``<form …>`` tag of the form that sends ``command``."""
    before = page.split(f'name="command" value="{command}"', 1)[0]
    return "<form" + before.rsplit("<form", 1)[1].split(">", 1)[0] + ">"


def test_agent_page_shows_own_status_and_offered_reasons(client, login, ids, redis_client) -> None:  # type: ignore[no-untyped-def]
    put_agent(
        redis_client,
        ids.demo,
        ids.users[AGENT1],
        status=ev.Status.READY,
        since=1_800_000_000.0,
        pending_break=APPROVAL,
    )
    login(AGENT1)
    page = client.get("/agent").get_data(as_text=True)
    assert 'data-field="status">ready<' in page
    assert f'<option value="{APPROVAL}">Lunch (needs approval)</option>' in page
    assert f'value="{SUPERVISOR_ONLY}"' not in page  # only a supervisor can set it
    assert not form_tag(page, "cancel_break").endswith(" hidden>")  # a request is pending
    assert form_tag(page, "login").endswith(" hidden>")  # already logged in
    assert not form_tag(page, "logout").endswith(" hidden>")
    body = client.get("/api/v1/agents/me").get_json()
    assert body["agent"]["pending_break"] == APPROVAL
    assert [r["code"] for r in body["break_reasons"]] == [FREE, APPROVAL]
