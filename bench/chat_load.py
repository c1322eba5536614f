"""Chat load: N concurrent website visitors chatting with agents through a real panel.

What it does: starts Redis and a panel process (``python -m web`` as it is, with the chat's
rate limits raised: every visitor comes from 127.0.0.1), a migrated SQLite with the demo
tenant, ``--agents`` agents and a widget. Then ``--visitors`` visitors (aiohttp) each start a
chat through the widget's API and open their chat's SSE stream; the bench plays the chat
router (the daemon's part of the chat contract): it assigns each chat to an agent in the
database and announces ``chat.assigned``. Each agent has the console's stream open
(``/agent/chats/stream``, logged in as a browser would). Every visitor then sends
``--messages`` messages, ~``--gap`` s apart with jitter; each carries its send time.

Measured: delivery latency, from just before the visitor's POST to the moment the agent's
console stream yields the message (p50/p95/p99/max), and CPU per message of the panel
process and of Redis (``/proc/<pid>/stat`` user+system over the messaging window, divided by
the messages delivered). Printed; no pass/fail.

A baseline stage (``--baseline`` visitors, 50 by default, agents in proportion) runs
first on a fresh stack, and the last line gives the full stage's figures as ratios of it.
The panel's log is counted for "database locked" retries, 503 answers and streams stopped
by an error; ``--profile FILE`` samples the panel with py-spy over the window.

    PYTHONPATH=. .venv/bin/python bench/chat_load.py [--visitors 500] [--agents 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
from redis import Redis
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

from benchkit import sse_events  # noqa: E402
from wallboard_floor import _wait, free_port  # noqa: E402

from controlplane.bus import EVENTS_STREAM, event_fields  # noqa: E402
from controlplane.config import load_settings  # noqa: E402
from controlplane.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from controlplane.migrate import upgrade  # noqa: E402
from controlplane.models import Role, Tenant, TenantAccess, User  # noqa: E402
from controlplane.models.chat import Chat  # noqa: E402
from controlplane.models.chat_widgets import ChatWidget  # noqa: E402
from controlplane.passwords import hash_password  # noqa: E402
from controlplane.seed import DEMO_DOMAIN, seed_demo  # noqa: E402

PASSWORD = "chat bench password"
KEY = "cw_chat_bench"
LAUNCHER = """
import sys
from controlplane.config import load_settings
from controlplane.logs import setup_logging
from web import create_app
from web.server import make_panel_server
settings = load_settings()
setup_logging(settings, "web")
app = create_app(settings=settings)
app.config.update(CHAT_STARTS_PER_IP_MINUTE=10**9, CHAT_POSTS_PER_CHAT_MINUTE=10**9,
                  SSE_MAX_AGE_S=3600.0)
make_panel_server(settings, app).serve_forever()
"""


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(db_url: str, runtime: Path, agents: int) -> tuple[int, list[str], dict[str, int]]:
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(runtime),
                              "CENTRALA_DATABASE_URL": db_url})
    upgrade(db_url)
    factory = make_sessionmaker(make_engine(db_url))
    seed_demo(factory, settings.runtime_dir, settings.lab.sip)
    pw = hash_password(PASSWORD)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        assert tenant is not None
        tenant.licences = max(tenant.licences or 0, agents + 10)
        access = s.scalar(select(TenantAccess).where(TenantAccess.tenant_id == tenant.id))
        if access is None:
            s.add(TenantAccess(tenant_id=tenant.id, one_workstation=False))
        else:
            access.one_workstation = False
        users = [User(tenant_id=tenant.id, login=f"chat{n:03d}", role=Role.AGENT,
                      password_hash=pw, display_name=f"Chat {n}") for n in range(agents)]
        s.add_all(users)
        s.add(ChatWidget(tenant_id=tenant.id, key=KEY, identity_secret="x" * 64, name="Bench",
                         origins=[], greetings={}, form_fields={}, hours=None))
        s.flush()
        return tenant.id, [f"{u.login}@{DEMO_DOMAIN}" for u in users], \
            {f"{u.login}@{DEMO_DOMAIN}": u.id for u in users}


class Agent:
    def __init__(self, address: str) -> None:
        self.address = address
        self.ready = asyncio.Event()
        self.reconnects = 0

    async def run(self, base: str, seen: dict[str, float], logins: asyncio.Semaphore) -> None:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(base, cookie_jar=jar,
                                         connector=aiohttp.TCPConnector(limit=0)) as http:
            async with logins:  # a shift's logins are spread out, not 100 at the same second
                form = await (await http.get("/login")).text()
                token = re.search(r'name="csrf_token" value="([^"]+)"', form)
                assert token, "no CSRF token on the login form"
                resp = await http.post("/login", data={
                    "address": self.address, "password": PASSWORD,
                    "csrf_token": token.group(1)}, allow_redirects=False)
                assert resp.status == 302, f"login of {self.address}: {resp.status}"
            while True:  # as a browser's EventSource: reconnect when the stream ends
                try:
                    await self.listen(http, seen)
                except aiohttp.ClientError:
                    self.reconnects += 1
                await asyncio.sleep(1)

    async def listen(self, http: aiohttp.ClientSession, seen: dict[str, float]) -> None:
        async with http.get("/agent/chats/stream", timeout=aiohttp.ClientTimeout(None)) as s:
            async for name, data in sse_events(s):
                if name == "ready":
                    self.ready.set()
                if name not in ("message", "chat") or not data:  # a keep-alive is nameless
                    continue
                doc = json.loads(data)
                now = time.time()
                for msg in doc.get("messages", [doc]):  # a whole chat after a reconnect
                    if msg.get("author") == "visitor":
                        seen.setdefault(msg["body"], now)


async def visitor(http: aiohttp.ClientSession, n: int, chats: list[tuple[int, str]]) -> None:
    resp = await http.post(f"/chat/api/w/{KEY}/chats", json={"name": f"Visitor {n}"})
    assert resp.status == 201, await resp.text()
    chats.append((n, (await resp.json())["chat"]))


async def visitor_stream(http: aiohttp.ClientSession, public_id: str, stop: asyncio.Event) -> None:
    async with http.get(f"/chat/api/chats/{public_id}/stream",
                        timeout=aiohttp.ClientTimeout(None)) as s:
        async for _chunk in s.content.iter_any():
            if stop.is_set():
                return


async def talk(http: aiohttp.ClientSession, public_id: str, n: int, messages: int, gap: float,
               sent: dict[str, float]) -> None:
    await asyncio.sleep(random.uniform(0, gap))
    for m in range(messages):
        body = f"v{n}-m{m}"
        sent[body] = time.time()
        resp = await http.post(f"/chat/api/chats/{public_id}/messages", json={"body": body})
        assert resp.status == 201, await resp.text()
        await asyncio.sleep(gap * random.uniform(0.5, 1.5))


def profiler(pid: int, path: str) -> subprocess.Popen[bytes]:
    """py-spy (beside this interpreter) sampling the panel's busy threads into ``path``."""
    return subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                             str(pid), "--format", "raw", "-r", "50", "--nonblocking",
                             "-o", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Stack:
    """Redis, the database and the panel process (started before the event loop)."""

    def __init__(self, agents: int) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="chat-bench-"))
        redis_port, web_port = free_port(), free_port()
        self.procs = [subprocess.Popen(["redis-server", "--port", str(redis_port), "--save", "",
                                        "--appendonly", "no", "--dir", str(self.folder)],
                                       stdout=subprocess.DEVNULL)]
        self.redis = Redis(port=redis_port, decode_responses=True)
        _wait(self.redis.ping, 10, "redis")
        self.db_url = f"sqlite:///{self.folder / 'centrala.db'}"
        self.tenant_id, self.agents, self.ids = seed(self.db_url, self.folder, agents)
        env = {**os.environ, "CENTRALA_RUNTIME_DIR": str(self.folder),
               "CENTRALA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
               "CENTRALA_DATABASE_URL": self.db_url, "CENTRALA_WEB_PORT": str(web_port),
               "CENTRALA_BIND_ADDRESS": "127.0.0.1"}
        log = (self.folder / "panel.log").open("wb")
        self.panel = subprocess.Popen([sys.executable, "-c", LAUNCHER], env=env, stdout=log,
                                      stderr=log)
        self.procs.append(self.panel)
        self.base = f"http://127.0.0.1:{web_port}"
        _wait(lambda: urllib.request.urlopen(self.base + "/login", timeout=2).status == 200,
              60, "panel")

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


async def measure(stack: Stack, visitors: int, args: argparse.Namespace) -> dict[str, float]:
    base, redis, agents, ids = stack.base, stack.redis, stack.agents, stack.ids
    factory = make_sessionmaker(make_engine(stack.db_url))
    seen: dict[str, float] = {}
    crew = [Agent(a) for a in agents]
    logins = asyncio.Semaphore(4)
    agent_tasks = [asyncio.create_task(a.run(base, seen, logins)) for a in crew]
    await asyncio.wait_for(asyncio.gather(*(a.ready.wait() for a in crew)), 120)
    print(f"{len(crew)} agents' consoles connected")

    http = aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0))
    chats: list[tuple[int, str]] = []
    t0 = time.monotonic()
    for start in range(0, visitors, 50):
        await asyncio.gather(*(visitor(http, n, chats)
                               for n in range(start, min(start + 50, visitors))))
    print(f"{len(chats)} chats started in {time.monotonic() - t0:.1f} s")
    # The router's part: each chat to an agent (round robin), active, announced.
    with transaction(factory) as s:
        rows = {c.public_id: c for c in s.scalars(select(Chat))}
        for i, (_n, public_id) in enumerate(chats):
            rows[public_id].status = "active"
            rows[public_id].agent_user_id = ids[agents[i % len(agents)]]
        assigned = [(rows[p].id, rows[p].agent_user_id) for _n, p in chats]
    for chat_id, user_id in assigned:
        redis.xadd(EVENTS_STREAM, event_fields("chat.assigned", tenant_id=stack.tenant_id,
                                               chat_id=chat_id, user_id=user_id))
    stop = asyncio.Event()
    streams = [asyncio.create_task(visitor_stream(http, p, stop)) for _n, p in chats]
    await asyncio.sleep(3)  # the consoles take their chats, the visitors' streams open
    redis_pid = int(redis.info("server")["process_id"])
    cpu0 = (cpu_s(stack.panel.pid), cpu_s(redis_pid), time.monotonic(), cpu_s(os.getpid()))
    spy = profiler(stack.panel.pid, args.profile) if args.profile else None
    sent: dict[str, float] = {}
    await asyncio.gather(*(talk(http, p, n, args.messages, args.gap, sent) for n, p in chats))
    deadline = time.monotonic() + 15
    # a bench's bounded wait for the stragglers: nothing to signal on
    while len([b for b in sent if b in seen]) < len(sent) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    cpu1 = (cpu_s(stack.panel.pid), cpu_s(redis_pid), time.monotonic(), cpu_s(os.getpid()))
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        spy.wait(60)
    lat = sorted((seen[b] - t) * 1000 for b, t in sent.items() if b in seen)
    stop.set()
    for task in (*streams, *agent_tasks):
        task.cancel()
    await asyncio.gather(*streams, *agent_tasks, return_exceptions=True)
    await http.close()

    delivered = len(lat)
    window = cpu1[2] - cpu0[2]
    q = (statistics.quantiles(lat, n=100, method="inclusive") if delivered > 1
         else [float("nan")] * 99)
    print(f"visitors {len(chats)}, agents {len(crew)}, messages sent {len(sent)}, "
          f"delivered to the agent's console {delivered} (lost {len(sent) - delivered})")
    print(f"delivery latency ms: p50 {q[49]:.1f}  p95 {q[94]:.1f}  p99 {q[98]:.1f}  "
          f"max {lat[-1] if lat else float('nan'):.1f}")
    print(f"window {window:.1f} s, {delivered / window:.1f} messages/s, "
          f"agent stream reconnects {sum(a.reconnects for a in crew)}")
    log_text = (stack.folder / "panel.log").read_text(errors="replace")
    print(f"panel log: {log_text.count('database locked, retry')} 'database locked' retries, "
          f"{log_text.count(' 503 ')} answers 503, {log_text.count('stopped:')} streams stopped "
          f"by an error")
    stops = [ln for ln in log_text.splitlines() if "stopped:" in ln]
    if stops:
        print("  e.g.", stops[-1][-200:])
    for name, i in (("panel", 0), ("redis", 1), ("bench client", 3)):
        used = cpu1[i] - cpu0[i]
        print(f"CPU {name}: {used:.2f} s = {used / window * 100:.0f} % of a core, "
              f"{used / max(delivered, 1) * 1000:.2f} ms per message")
    return {"p50": q[49], "p95": q[94], "p99": q[98], "lost": len(sent) - delivered,
            "cpu_ms": (cpu1[0] - cpu0[0]) / max(delivered, 1) * 1000,
            "rate": delivered / window}


def stage(visitors: int, agents: int, args: argparse.Namespace) -> dict[str, float]:
    print(f"---- {visitors} visitors, {agents} agents ----")
    stack = Stack(agents)
    try:
        return asyncio.run(measure(stack, visitors, args))
    except BaseException:
        lines = (stack.folder / "panel.log").read_text(errors="replace").splitlines()
        print("\n".join(["---- the panel's log, last errors ----",
                         *[ln for ln in lines if "Error" in ln or "error" in ln][-15:]]))
        raise
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--gap", type=float, default=3.0, help="seconds between a visitor's messages")
    parser.add_argument("--profile", help="py-spy the panel over the messaging window into "
                        "this file (raw collapsed stacks)")
    parser.add_argument("--baseline", type=int, default=50,
                        help="visitors of the baseline stage run first (0: none)")
    args = parser.parse_args()
    base = None
    if args.baseline:
        profile, args.profile = args.profile, None
        base = stage(args.baseline, max(1, args.agents * args.baseline // args.visitors), args)
        args.profile = profile
    full = stage(args.visitors, args.agents, args)
    if base is not None:
        print(f"---- {args.visitors} visitors against {args.baseline}: "
              f"p50 x{full['p50'] / base['p50']:.1f}  p99 x{full['p99'] / base['p99']:.1f}  "
              f"CPU per message x{full['cpu_ms'] / base['cpu_ms']:.2f}  "
              f"messages/s x{full['rate'] / base['rate']:.1f}")


if __name__ == "__main__":
    main()
