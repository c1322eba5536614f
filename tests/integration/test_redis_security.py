"""Redis with passwords and one user per process kind; the daemon re-checks every command.

On the real platform (slot of ``CENTRALA_IT_SLOT``): ``redis-cli`` without a password gets
nowhere, the panel's Redis user cannot reconfigure or empty Redis, a command for another
tenant's agent is refused by the daemon (reply, audit row, the agent untouched), and a
forged ``dialer.place`` on the panel's stream dials nobody while the same command on the
admin stream does.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from helpers import until
from labtools import session_factory
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import ADMIN_STREAM, PANEL_STREAM, send_admin_command, send_agent_command
from controlplane.db import transaction
from controlplane.models import CallRecord, Role, Tenant, User
from controlplane.models.acd import AgentStatusLog
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK

pytestmark = pytest.mark.integration
OTHER_DOMAIN = "other-redis-it.example"


def cli(platform, *args: str, user: str | None = None, password: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """``redis-cli`` against the platform's Redis; the password goes in the environment
    (REDISCLI_AUTH), never on the command line where ``ps`` would show it."""
    env = {k: v for k, v in os.environ.items() if k != "REDISCLI_AUTH"}
    argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(platform.settings.redis_port)]
    if user is not None:
        argv += ["--user", user]
    if password is not None:
        env["REDISCLI_AUTH"] = password
    done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=30, env=env)
    return done.stdout + done.stderr


def test_redis_cli_without_a_password_gets_nowhere(platform) -> None:  # type: ignore[no-untyped-def]
    for args in (("GET", "centrala:controlplane:heartbeat"), ("CONFIG", "GET", "*"),
                 ("XADD", PANEL_STREAM, "*", "data", '{"cmd": "acd.reload"}')):
        assert "NOAUTH" in cli(platform, *args), args
    wrong = cli(platform, "PING", user="centrala-admin", password="not-the-password")
    assert "WRONGPASS" in wrong
    assert "WRONGPASS" in cli(platform, "PING", user="default", password="")
    # the same client with the admin's password is let in: the refusals above are the ACL
    secret = json.loads(platform.settings.secrets_file.read_text())["redis_admin"]
    assert cli(platform, "PING", user="centrala-admin", password=secret).strip() == "PONG"


def test_the_panels_user_cannot_reconfigure_or_empty_redis(platform) -> None:  # type: ignore[no-untyped-def]
    secret = json.loads(platform.settings.secrets_file.read_text())["redis_web"]
    admin = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
    before = admin.dbsize()
    assert before > 0  # the daemon's live state is there
    for args in (("CONFIG", "GET", "*"), ("FLUSHALL",), ("FLUSHDB",), ("ACL", "LIST"),
                 ("SHUTDOWN", "NOSAVE"), ("XADD", ADMIN_STREAM, "*", "data", "{}")):
        out = cli(platform, *args, user="centrala-web", password=secret)
        assert "NOPERM" in out, (args, out)
    # what the panel does need still works for it
    beat = cli(platform, "GET", "centrala:controlplane:heartbeat", user="centrala-web",
               password=secret)
    assert '"pid"' in beat
    assert admin.dbsize() >= before and admin.exists("centrala:controlplane:heartbeat")
    admin.close()


@dataclass
class Tenants:
    demo: int
    supervisor: int  # the demo tenant's supervisor: the acting user of the forged commands
    other: int  # a second tenant...
    agent: int  # ...and its agent
    db: sessionmaker[Session]


@pytest.fixture(scope="module")
def tenants(platform) -> Iterator[Tenants]:  # type: ignore[no-untyped-def]
    db = session_factory(platform)
    with transaction(db) as s:
        demo = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        sup = s.scalar(select(User).where(User.tenant_id == demo.id, User.login == "supervisor"))
        other = s.scalar(select(Tenant).where(Tenant.domain == OTHER_DOMAIN))
        if other is None:
            other = Tenant(domain=OTHER_DOMAIN, name="Other")
            s.add(other)
            s.flush()
            s.add(User(tenant_id=other.id, login="agent", role=Role.AGENT, password_hash="x"))
            s.flush()
        agent = s.scalar(select(User).where(User.tenant_id == other.id, User.login == "agent"))
        found = Tenants(demo.id, sup.id, other.id, agent.id, db)
    yield found


def refusals(t: Tenants, code: str) -> list[SecurityEvent]:
    with t.db() as s:
        rows = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "command.refused"))
        return [r for r in rows if r.detail.get("code") == code]


def agent_log(t: Tenants) -> list[str]:
    with t.db() as s:
        return list(s.scalars(select(AgentStatusLog.to_status)
                              .where(AgentStatusLog.user_id == t.agent)
                              .order_by(AgentStatusLog.id)))


def test_a_command_for_another_tenants_agent_is_refused(platform, tenants: Tenants) -> None:  # type: ignore[no-untyped-def]
    t = tenants
    web = redis.Redis.from_url(platform.settings.redis_url_for("web"), decode_responses=True)
    mirror = f"centrala:acd:{t.other}:agents"
    assert agent_log(t) == [] and web.hget(mirror, str(t.agent)) is None
    before = len(refusals(t, "wrong_tenant")), len(refusals(t, "foreign_object"))
    # The demo supervisor, through the panel's own Redis user, logs in the other tenant's
    # agent, naming that tenant (the daemon would load it and carry it out)...
    r = send_agent_command(web, t.other, t.agent, "login", timeout_s=15, actor_id=t.supervisor)
    assert (r["ok"], r["code"]) == (False, "wrong_tenant"), r
    # ... and forces a break on them, naming the supervisor's own tenant.
    r = send_agent_command(web, t.demo, t.agent, "force", "1", by="boss@elsewhere",
                           timeout_s=15, actor_id=t.supervisor)
    assert (r["ok"], r["code"]) == (False, "not_found"), r  # as if there were no such agent
    wrong = until(lambda: refusals(t, "wrong_tenant")[before[0]:], timeout=10,
                  what="the wrong_tenant audit row")
    foreign = until(lambda: refusals(t, "foreign_object")[before[1]:], timeout=10,
                    what="the foreign_object audit row")
    assert wrong[0].severity == "alert" and wrong[0].tenant_id == t.other
    assert wrong[0].actor == f"supervisor@{DEMO_DOMAIN}" and wrong[0].detail["user_id"] == t.agent
    assert foreign[0].tenant_id == t.demo and foreign[0].detail["command"] == "force"
    assert agent_log(t) == [] and web.hget(mirror, str(t.agent)) is None  # untouched

    # The agent themselves may: the same path changes the state, so the checks above can fail.
    r = send_agent_command(web, t.other, t.agent, "login", timeout_s=15, actor_id=t.agent)
    assert r["ok"], r
    assert until(lambda: agent_log(t), timeout=10, what="the agent's own login logged")
    assert web.hget(mirror, str(t.agent)) is not None
    r = send_agent_command(web, t.other, t.agent, "logout", timeout_s=15, actor_id=t.agent)
    assert r["ok"], r
    web.close()


def test_a_forged_dialer_place_dials_nobody(platform, tenants: Tenants) -> None:  # type: ignore[no-untyped-def]
    t = tenants
    web = redis.Redis.from_url(platform.settings.redis_url_for("web"))
    admin = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
    forged_number, real_number = f"100{random.randrange(1000, 9999)}", f"500{random.randrange(1000, 9999)}"
    place = {"cmd": "dialer.place", "tenant_id": t.demo, "actor_id": t.supervisor,
             "trunk": LAB_TRUNK, "caller_id": "48221000001", "queue": "nobody",
             "abandon_prompt": "goodbye", "ring_timeout_s": 15}
    before = len(refusals(t, "not_on_stream"))
    forged_attempt = f"forged{random.randrange(10**9)}"
    web.xadd(PANEL_STREAM, {"data": json.dumps({**place, "attempt_id": forged_attempt,
                                                "number": forged_number})})
    # The same command on the admin stream (the operators' and tests' stream) is placed: it
    # comes after the forged one, so once its call exists the forged one was handled.
    send_admin_command(admin, {**place, "attempt_id": f"real{random.randrange(10**9)}",
                               "number": real_number})

    def records(num: str) -> list[CallRecord]:
        with t.db() as s:
            return list(s.scalars(select(CallRecord).where(CallRecord.callee == num)))

    until(lambda: records(real_number), timeout=30, what="the admin stream's call placed")
    (ev,) = until(lambda: refusals(t, "not_on_stream")[before:], timeout=10,
                  what="the refused dialer.place audited")
    assert ev.severity == "alert" and ev.detail["number"] == forged_number
    assert ev.detail["caller_id"] == "48221000001" and ev.detail["trunk"] == LAB_TRUNK
    assert records(forged_number) == []
    events = [json.loads(f[b"data"]) for _, f in admin.xrange("centrala:events", count=20000)]
    assert not [e for e in events if e.get("attempt_id") == forged_attempt]
    until(lambda: [r for r in records(real_number) if r.status == "ended"], timeout=40,
          what="the unallocated number's call to end")
    assert records(forged_number) == []  # still nothing, after the real one ended
    # nothing reached the lab carrier for the forged number either (its log names the real one)
    until(lambda: lab_log_mentions(platform, real_number), timeout=20,
          what="the lab carrier's log naming the real call")
    assert not lab_log_mentions(platform, forged_number)
    web.close()
    admin.close()


def lab_log_mentions(platform, number: str) -> bool:  # type: ignore[no-untyped-def]
    found = subprocess.run(["grep", "-rlF", number, str(platform.settings.runtime_dir / "lab" / "log")],
                           capture_output=True, text=True, timeout=60)
    return bool(found.stdout.strip())
