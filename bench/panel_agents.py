"""The agents' side of ``bench/panel_load.py``: agents logged in through the panel's own login
form (each with its own cookie jar, so its own panel session and workstation), each holding
the agent page's live stream, ``/agent/interaction/stream``, open, and a change to ONE agent
written as the ACD writes it (its entry of the live agents hash, then ``agent.status`` on the
daemon's events stream) whose arrival on that agent's stream is timed.

The agent page's other live part, "my status" (``static/acd.js``), paints the agent row of
the same card stream and polls ``/api/v1/agents/me`` every 2 s only while that stream is
down (it always polled before); :func:`poll_me` plays that polling when asked
(``--agent-polls``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

import aiohttp
from benchkit import sse_events
from redis import Redis

from controlplane.bus import EVENTS_MAXLEN, EVENTS_STREAM, acd_key, event_fields
from controlplane.seed import DEMO_DOMAIN

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def login(base: str, login_name: str, password: str) -> aiohttp.ClientSession:
    """A client session logged in as ``login_name`` through ``/login`` (as a browser does)."""
    session = aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # the panel is on 127.0.0.1
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=None, sock_read=None, sock_connect=30))
    try:
        async with session.get(base + "/login") as resp:
            token = CSRF.search(await resp.text())
        if token is None:
            raise RuntimeError("no CSRF token on the login form")
        form = {"address": f"{login_name}@{DEMO_DOMAIN}", "password": password,
                "csrf_token": token.group(1)}
        async with session.post(base + "/login", data=form, allow_redirects=False) as resp:
            if resp.status not in (302, 303):
                raise RuntimeError(f"login of {login_name}: HTTP {resp.status} "
                                   f"{(await resp.text())[:300]}")
    except BaseException:
        await session.close()
        raise
    return session


class AgentStream:
    """One agent's interaction stream: every status its cards showed, with when first seen."""

    def __init__(self, session: aiohttp.ClientSession, agent_id: int) -> None:
        self.session, self.agent_id = session, agent_id
        self.seen: list[tuple[float, str]] = []
        self.cards = 0
        self.error: str | None = None  # why the stream failed, if it did
        self.ready = asyncio.Event()

    async def run(self, base: str) -> None:
        try:
            await self._read(base)
        except (aiohttp.ClientError, OSError, ValueError) as err:
            self.error = f"{type(err).__name__}: {err}"
            self.ready.set()  # failed: nothing more to wait for

    async def _read(self, base: str) -> None:
        async with self.session.get(base + "/agent/interaction/stream",
                                    headers={"Accept": "text/event-stream"}) as resp:
            resp.raise_for_status()
            async for name, data in sse_events(resp):
                if name != "card" or not data:
                    continue
                self.cards += 1
                self.seen.append((time.monotonic(), json.loads(data)["agent"]["status"]))
                self.ready.set()

    def first_seen(self, status: str, after: float) -> float | None:
        """When a card with ``status`` first arrived at or after ``after``."""
        return next((t for t, st in self.seen if st == status and t >= after), None)


async def poll_me(session: aiohttp.ClientSession, base: str, period_s: float = 2.0) -> None:
    """The "my status" box of the agent page: GET /api/v1/agents/me every ``period_s``."""
    while True:
        async with session.get(base + "/api/v1/agents/me") as resp:
            await resp.read()
        await asyncio.sleep(period_s)


def change_agent(redis: Redis, tenant_id: int, agent_id: int) -> str:
    """What the ACD does when an agent's status changes: the agent's entry of the live hash,
    then ``agent.status`` on the events stream. Goes to ``break`` (``ready`` when already
    on a break); returns the new status."""
    key = acd_key(tenant_id, "agents")
    entry = json.loads(redis.hget(key, str(agent_id)) or "{}")  # type: ignore[arg-type]
    old = entry.get("status", "logged_out")
    new = "ready" if old == "break" else "break"
    now = time.time()
    entry.update({"agent": str(agent_id), "status": new, "since": now,
                  "reason": "lunch" if new == "break" else None})
    redis.hset(key, str(agent_id), json.dumps(entry))
    redis.xadd(EVENTS_STREAM, event_fields("agent.status", tenant_id=tenant_id,
                                           agent=str(agent_id), from_=old, to=new),
               maxlen=EVENTS_MAXLEN, approximate=True)
    return new


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
