"""Helpers for tests that place lab calls: unique callers and their call records."""

from __future__ import annotations

import random
import re

from helpers import until
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import CallRecord

CALLER_TONE = 600  # what the customer "says"
PHONE_TONE = 1400  # what the lab desk phone "says" (PHONE_TONE in the lab dialplan)
BARESIP_TONE = 900  # baresip's microphone file


def unique_caller() -> str:
    return f"48600{random.randrange(100000, 999999)}"


def records_for(platform, caller: str) -> list[CallRecord]:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            return list(s.scalars(select(CallRecord).where(CallRecord.caller == caller)))
    finally:
        engine.dispose()


def ended_record(platform, caller: str, timeout: float = 40) -> CallRecord:  # type: ignore[no-untyped-def]
    def done() -> CallRecord | None:
        rows = records_for(platform, caller)
        return rows[0] if rows and rows[0].status == "ended" else None

    return until(done, timeout=timeout, what=f"call record of {caller} to end")


# ---- agents on lab desk phones (queue and campaign tests) ----

def session_factory(platform):  # type: ignore[no-untyped-def]
    from controlplane.db import make_sessionmaker

    return make_sessionmaker(make_engine(platform.settings.database_url))


def reload_acd(platform, tenant_id: int) -> None:  # type: ignore[no-untyped-def]
    """Ask the control plane to re-read a tenant's queues and agents (on the admin stream:
    no panel user is acting)."""
    import redis

    from controlplane.bus import send_admin_command

    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"))
    send_admin_command(client, {"cmd": "acd.reload", "tenant_id": tenant_id})
    client.close()


def latest_status(platform, user_id: int) -> str | None:  # type: ignore[no-untyped-def]
    """The agent's latest status from the status log (None: never logged in)."""
    from controlplane.models.acd import AgentStatusLog

    with session_factory(platform)() as s:
        row = s.scalars(select(AgentStatusLog).where(AgentStatusLog.user_id == user_id)
                        .order_by(AgentStatusLog.id.desc())).first()
        return row.to_status if row else None


def lab_cli(platform, command: str) -> str:  # type: ignore[no-untyped-def]
    from controlplane import stack

    return stack.lab_instance(platform.settings).cli(command)


def agents_on_phones(session, tenant_id: int, phones: dict[str, str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Agent users ``login → phone`` bound to the lab desk phones; returns login → user id."""
    from controlplane.models import PhoneEndpoint, Role, User

    users = {}
    for login, phone_name in phones.items():
        user = session.scalar(select(User).where(User.tenant_id == tenant_id, User.login == login))
        if user is None:
            user = User(tenant_id=tenant_id, login=login, role=Role.AGENT, password_hash="x")
            session.add(user)
            session.flush()
        session.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == phone_name)).user_id = user.id
        users[login] = user.id
    return users


def log_agents(platform, phones, users: dict[str, int], code: str, status: str) -> None:  # type: ignore[no-untyped-def]
    """Every phone dials feature ``code``; wait until every agent shows ``status``."""
    from dialplan import labcall

    for phone in phones:
        labcall.phone_dials(platform.settings, phone, code, hangup_after=3)
    try:
        until(lambda: all(latest_status(platform, u) == status for u in users.values()),
              timeout=30, what=f"agents {status} after {code}")
    except AssertionError as err:  # say who stayed where: the next person needs it
        states = {login: latest_status(platform, u) for login, u in users.items()}
        raise AssertionError(f"{err}; their states: {states}") from None


# ---- the panel, in process ----

def panel_login(client, address: str, password: str):  # type: ignore[no-untyped-def]
    """Log ``client`` (a Flask test client) in as ``address``; when the user is still logged
    in on another "workstation" (an earlier test of the same platform), take that session
    over, as a person would (one user, one workstation: ``web.login_access``). Returns the
    final response (302 on success)."""
    client.get("/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    resp = client.post("/login", data={"address": address, "password": password,
                                       "csrf_token": token})
    page = resp.get_data(as_text=True)
    if resp.status_code == 200 and "/login/take-over" in page:
        pending = re.search(r'name="pending" value="([^"]+)"', page)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert pending and csrf, page
        resp = client.post("/login/take-over", data={"pending": pending.group(1),
                                                     "csrf_token": csrf.group(1)})
    return resp
