"""A busy contact-center floor for the wallboard, without Asterisk: a real panel process over
a real Redis and a migrated SQLite database holding today's logs, plus the ACD's live
mirror (agents, waiting callers) written as the ACD writes it.

Used by ``bench/panel_load.py`` (viewers against it) and for the wallboard screenshots
(``python bench/wallboard_floor.py --shots DIR``). Run from the repository root.

The panel is started as ``tests/integration/test_onboarding_browser.py`` does
(``python -m web`` with the settings in the environment), through
``bench/panel_counted.py``, which also counts the panel's SQL statements into a file so the
bench can report database queries per second.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from sqlalchemy import select

from controlplane.api_access import store as tokens
from controlplane.bus import LIVE_CALLS_KEY, LiveCall
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.migrate import upgrade
from controlplane.models import Role, Tenant, User
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.models.campaigns import Campaign, CampaignRecord, DialAttempt
from controlplane.models.contacts import Contact, ContactPhone
from controlplane.models.wallboard import WallboardAlertRule
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN, seed_demo

PASSWORD = "wallboard bench password"
QUEUES = ("Sprzedaż", "Obsługa klienta", "Reklamacje")
BREAKS = ("lunch", "training")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Floor:
    base: str  # the panel's URL
    env: dict[str, str]
    redis: Redis
    tenant_id: int
    queue_ids: list[int]
    agent_ids: list[int]
    token: str  # an admin API token (Bearer)
    queries_file: Path
    procs: list[subprocess.Popen[bytes]]
    folder: Path
    db_url: str

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


def _wait(fn, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fn():
                return
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} not up within {timeout} s")


def seed_floor(db_url: str, redis: Redis, agents: int, waiting: int, calls: int,
               now: datetime) -> tuple[int, list[int], list[int], str]:
    """Today's floor in the demo tenant; returns (tenant, queues, agents, API token)."""
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    rnd = random.Random(7)
    pw = hash_password(PASSWORD)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    opened = max(midnight, now - timedelta(hours=6))  # the floor opened (today)
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        assert tenant is not None
        tenant.locale, tenant.time_zone = "pl", "UTC"
        tenant.licences = agents + 10  # every agent may log in (bench/panel_agents.py)
        for u in s.scalars(select(User).where(User.tenant_id == tenant.id)):
            u.password_hash = pw
        admin = s.scalar(select(User).where(User.tenant_id == tenant.id, User.login == "admin"))
        assert admin is not None
        queues = [Queue(tenant_id=tenant.id, name=n, sl_threshold_s=20.0) for n in QUEUES]
        s.add_all(queues)
        names = ["Anna Nowak", "Piotr Wiśniewski", "Katarzyna Wójcik", "Tomasz Kamiński",
                 "Magdalena Lewandowska", "Michał Zieliński", "Agnieszka Szymańska",
                 "Krzysztof Woźniak", "Joanna Dąbrowska", "Marcin Kozłowski"]
        users = [User(tenant_id=tenant.id, login=f"a{i:03d}", role=Role.AGENT, password_hash=pw,
                      display_name=names[i] if i < len(names) else f"Agent {i:03d}")
                 for i in range(agents)]
        s.add_all(users)
        s.flush()
        for i, u in enumerate(users):
            s.add(QueueMember(queue_id=queues[i % len(queues)].id, user_id=u.id))
            s.add(AgentStatusLog(tenant_id=tenant.id, user_id=u.id, from_status="logged_out",
                                 to_status="ready", at=opened))
        span = max(60.0, (now - opened).total_seconds() - 600)
        for n in range(calls):
            q = queues[n % len(queues)]
            start = opened + timedelta(seconds=rnd.uniform(0, span))
            cid = f"bench-{n}"
            rows = [QueueLog(tenant_id=tenant.id, queue_id=q.id, interaction_id=cid,
                             kind="enter", at=start)]
            if rnd.random() < 0.08:
                rows.append(QueueLog(tenant_id=tenant.id, queue_id=q.id, interaction_id=cid,
                                     kind="abandon", at=start + timedelta(seconds=rnd.uniform(5, 90))))
            else:
                wait = rnd.expovariate(1 / 14)
                agent = users[rnd.randrange(len(users))]
                ans = start + timedelta(seconds=wait)
                rows += [QueueLog(tenant_id=tenant.id, queue_id=q.id, interaction_id=cid,
                                  kind="answer", at=ans, user_id=agent.id),
                         QueueLog(tenant_id=tenant.id, queue_id=q.id, interaction_id=cid,
                                  kind="end", at=ans + timedelta(seconds=rnd.uniform(60, 400)))]
            s.add_all(rows)
        # a campaign worked by the first queue's agents
        camp = Campaign(tenant_id=tenant.id, name="Odnowienia umów", status="running",
                        queue_id=queues[0].id, target_abandon_rate=0.03)
        contact = Contact(tenant_id=tenant.id, first_name="Jan", last_name="Kowalski")
        s.add_all([camp, contact])
        s.flush()
        phone = ContactPhone(tenant_id=tenant.id, contact_id=contact.id, number="+48221234567")
        s.add(phone)
        s.flush()
        record = CampaignRecord(tenant_id=tenant.id, campaign_id=camp.id, contact_id=contact.id,
                                phone_id=phone.id)
        s.add(record)
        s.flush()
        for n in range(calls // 2):
            dial = opened + timedelta(seconds=rnd.uniform(0, span))
            human = rnd.random() < 0.4
            abandoned = human and rnd.random() < 0.035
            connected = dial + timedelta(seconds=8) if human and not abandoned else None
            s.add(DialAttempt(
                tenant_id=tenant.id, campaign_id=camp.id, record_id=record.id,
                call_id=f"bench-dial-{n}", number="+48221234567", mode="progressive",
                dial_at=dial, answer_at=dial + timedelta(seconds=6) if human else None,
                agent_connect_at=connected,
                ended_at=(connected or dial) + timedelta(seconds=rnd.uniform(30, 300)),
                outcome="human" if human else rnd.choice(["no_answer", "busy", "machine"]),
                abandoned=abandoned))
        row, secret = tokens.create(s, tenant_id=tenant.id, user_id=admin.id, name="bench",
                                    scope="read", expires_at=None, now=now)
        tid, qids, aids = tenant.id, [q.id for q in queues], [u.id for u in users]
    engine.dispose()
    write_live(redis, tid, qids, aids, waiting, now.timestamp())
    return tid, qids, aids, secret


def write_live(redis: Redis, tid: int, qids: list[int], aids: list[int], waiting: int,
               now: float) -> None:
    """The ACD's mirror: each agent's status, and ``waiting`` callers spread over queues;
    the live calls hash the record writer keeps: the waiting calls and the agents' calls."""
    rnd = random.Random(11)
    pipe = redis.pipeline()
    for aid in aids:
        status = rnd.choices(["ready", "on_call", "wrap_up", "break", "ringing"],
                             [3, 6, 1, 1, 0.5])[0]
        pipe.hset(f"centrala:acd:{tid}:agents", str(aid), json.dumps({
            "agent": str(aid), "status": status,
            "reason": rnd.choice(BREAKS) if status == "break" else None,
            "since": now - rnd.uniform(5, 2400), "answered": 0, "held": [], "missed": 0,
            "deferred": None, "pending_break": None, "endpoint": None}))
        if status == "on_call":  # its call, on a phone of its own (as the record writer keeps it)
            started = datetime.fromtimestamp(now - rnd.uniform(30, 600), UTC).isoformat()
            pipe.hset(LIVE_CALLS_KEY, f"talk-{aid}", LiveCall(
                f"talk-{aid}", tid, "inbound", "talking", "+48221234567", "+48225550000",
                "+48225550000", f"bench-phone-{aid}", started, started).to_json())
    for n in range(waiting):
        entered = now - rnd.expovariate(1 / 25)
        pipe.hset(f"centrala:acd:{tid}:waiting", f"wait-{n}", json.dumps({
            "queue_id": str(qids[n % len(qids)]), "phase": "queued",
            "entered_at": datetime.fromtimestamp(entered, UTC).isoformat()}))
        pipe.hset(LIVE_CALLS_KEY, f"wait-{n}", LiveCall(
            f"wait-{n}", tid, "inbound", "queued", f"+4860{n:07d}", "+48225550000",
            "+48225550000", None, datetime.fromtimestamp(entered, UTC).isoformat()).to_json())
    pipe.execute()


def start_floor(agents: int = 200, waiting: int = 150, calls: int = 3000) -> Floor:
    """Redis, database, the floor, and a panel on a free port (counting its queries)."""
    folder = Path(tempfile.mkdtemp(prefix="wallboard-bench-"))
    redis_port, web_port = free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = [subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no",
         "--dir", str(folder)], stdout=subprocess.DEVNULL)]
    redis = Redis(port=redis_port, decode_responses=True)
    _wait(redis.ping, 10, "redis")
    db_url = f"sqlite:///{folder / 'centrala.db'}"
    env = {**os.environ, "CENTRALA_RUNTIME_DIR": str(folder),
           "CENTRALA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "CENTRALA_DATABASE_URL": db_url, "CENTRALA_WEB_PORT": str(web_port),
           "CENTRALA_BIND_ADDRESS": "127.0.0.1"}
    settings = load_settings({k: v for k, v in env.items() if k.startswith("CENTRALA_")})
    upgrade(db_url)
    seed_demo(make_sessionmaker(make_engine(db_url)), settings.runtime_dir, settings.lab.sip)
    now = datetime.now(UTC)
    tid, qids, aids, secret = seed_floor(db_url, redis, agents, waiting, calls, now)
    queries = folder / "queries"
    env["WALLBOARD_BENCH_QUERIES"] = str(queries)
    log = (folder / "panel.log").open("wb")
    procs.append(subprocess.Popen([sys.executable, str(Path(__file__).with_name(
        "panel_counted.py"))], env=env, stdout=log, stderr=log))
    base = f"http://127.0.0.1:{web_port}"
    _wait(lambda: urllib.request.urlopen(base + "/login", timeout=2).status == 200, 60,
          "panel")
    return Floor(base, env, redis, tid, qids, aids, secret, queries, procs, folder, db_url)


def shots(folder: Path) -> None:
    """The wallboard in Polish: page at 1366 px, big screen at 1920×1080 and 1366×768."""
    from playwright.sync_api import sync_playwright

    floor = start_floor(agents=24, waiting=7, calls=900)
    with transaction(make_sessionmaker(make_engine(floor.db_url))) as s:
        s.add_all([WallboardAlertRule(tenant_id=floor.tenant_id, kind="wait_over", threshold=90),
                   WallboardAlertRule(tenant_id=floor.tenant_id, kind="break_over", threshold=30),
                   WallboardAlertRule(tenant_id=floor.tenant_id, kind="service_level_under",
                                      threshold=60, queue_id=floor.queue_ids[0])])
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium")
            # one login (the tenant may allow one workstation per user): resize between shots
            ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="pl-PL")
            page = ctx.new_page()
            page.goto(floor.base + "/login")
            page.fill("input[name=address]", f"admin@{DEMO_DOMAIN}")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            for name, url, size in (
                ("wallboard-page-1366", "/wallboard", (1366, 900)),
                ("wallboard-screen-1920", "/wallboard/screen", (1920, 1080)),
                ("wallboard-screen-1366", "/wallboard/screen", (1366, 768)),
                ("wallboard-alerts-1366", "/wallboard/alerts", (1366, 900)),
            ):
                page.set_viewport_size({"width": size[0], "height": size[1]})
                page.goto(floor.base + url)
                page.wait_for_selector("table")
                page.wait_for_timeout(2500)  # the stream's first pushes painted
                page.screenshot(path=str(folder / f"{name}.png"), full_page=(size[1] == 900))
            ctx.close()
            browser.close()
    finally:
        floor.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=Path, required=True)
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    shots(args.shots)
