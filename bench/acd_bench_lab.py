"""The platform side of ``bench/acd_vs_app_queue.py``: setup, agents, app_queue, the observer.

Everything here runs against the bench's own isolated platform + lab under
``/tmp/centrala-acdbench`` (own ports, fresh SQLite database):

- :func:`start_platform` migrates and seeds a fresh database, adds the agents
  (desk phones bound to agent users, one ``longest_idle`` queue, a flow whose
  start node is that queue, bound to the DID), then starts Redis, the platform
  Asterisk, the lab and the control plane and waits until every agent phone and
  the trunk are registered;
- :func:`login_agents` logs every agent in and makes it ready with the desk-phone
  feature codes ``*50`` and ``*51``, and waits for the status log to say so;
- :func:`switch_to_app_queue` re-points the DID, in this runtime only, at
  Asterisk's own ``app_queue`` with the same members (an extra context included
  from the rendered ``extensions.conf`` plus a ``queues.conf``), loads
  ``app_queue.so`` and checks that the queue and the dialplan are in place;
- :class:`Observed` / :func:`observe` is an ARI app with ``subscribeAll=true``
  that records, for every platform channel, Asterisk's own timestamps of its
  creation, its destruction and the moment it first shared a bridge with the
  other side (caller with agent).
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchkit  # noqa: E402
from benchkit import BenchError, ast_ts, until
from sqlalchemy import func, select

from controlplane import asterisk, stack, supervisor
from controlplane.config import Settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.health import check_ari
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models import PhoneEndpoint, Role, Tenant, User
from controlplane.models.acd import AgentStatusLog, Queue, QueueLog, QueueMember
from controlplane.passwords import generate_sip_secret
from controlplane.seed import DEMO_DOMAIN, LAB_TRUNK
from dialplan import labcall
from dialplan.lab import BARESIP_PHONE

RUNTIME = "/tmp/centrala-acdbench"
# Ports of our own, clear of every integration slot (tests/conftest.py _SLOTS: 2xxx-3xxx,
# 10000-31999) and of `make up`'s defaults (5060, 8080, 8088). baresip takes lab SIP + 20/+21.
ENV = {
    "CENTRALA_RUNTIME_DIR": RUNTIME, "CENTRALA_SIP_PORT": "4060", "CENTRALA_ARI_PORT": "4088",
    "CENTRALA_AMI_PORT": "4038", "CENTRALA_LAB_SIP_PORT": "4080", "CENTRALA_LAB_AMI_PORT": "4048",
    "CENTRALA_LAB_HTTP_PORT": "4098", "CENTRALA_REDIS_PORT": "4091", "CENTRALA_WEB_PORT": "4081",
    "CENTRALA_RTP_RANGE": "4200-4599", "CENTRALA_LAB_RTP_RANGE": "4600-4999",
}
DID = "48221000001"
QUEUE = "acdbench"
OBSERVER_APP = "acdbench-observer"
RING_TIMEOUT_S = 15
APPQ_CONTEXT = "acdbench-appqueue"
APPQ_INCLUDE = "extensions-acdbench.conf"
# app_queue polls for a free member every `retry` s while all are busy (default 5); 1 is its
# smallest value (atoi, <= 0 means the default). Said in the report: it shapes the latency.
APPQ_RETRY_S = 1


def agent_phones(n: int) -> list[str]:
    """demo-1001…demo-1008 from the seed, then demo-1010… (demo-1009 is baresip's)."""
    names = [f"demo-{1001 + i}" for i in range(8)]
    ext = 1010
    while len(names) < n:
        names.append(f"demo-{ext}")
        ext += 1
    return names[:n]


# ---- platform ---------------------------------------------------------------------

@dataclass
class Platform:
    settings: Settings
    platform_ast: asterisk.Instance
    lab_ast: asterisk.Instance
    pids: dict[str, int]
    phones: list[str]
    users: dict[str, int]  # phone → agent user id


def prepare_db(settings: Settings, phones: list[str]) -> dict[str, int]:
    """Extra desk phones, agent users bound to them, the queue and the flow → DID."""
    engine = make_engine(settings.database_url)
    users: dict[str, int] = {}
    try:
        with transaction(make_sessionmaker(engine)) as s:
            tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
            if tenant is None:
                raise BenchError("the demo tenant is missing after seeding")
            tenant.licences = max(tenant.licences or 0, len(phones) + 2)
            for n, name in enumerate(phones, 1):
                phone = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == name))
                if phone is None:  # the lab renders a desk phone for every platform phone
                    phone = PhoneEndpoint(tenant_id=tenant.id, name=name, extension=name[5:],
                                          secret=generate_sip_secret())
                    s.add(phone)
                user = User(tenant_id=tenant.id, login=f"bench{n:02d}", role=Role.AGENT,
                            display_name=f"Bench agent {n}", password_hash="x")
                s.add(user)
                s.flush()
                phone.user_id = user.id
                users[name] = user.id
            queue = Queue(tenant_id=tenant.id, name=QUEUE, strategy="longest_idle",
                          ring_timeout_s=RING_TIMEOUT_S, wrap_up_s=0, recording="never",
                          announce_every_s=None, no_agents="wait")
            s.add(queue)
            s.flush()
            for name in phones:
                s.add(QueueMember(queue_id=queue.id, user_id=users[name], penalty=0))
            s.flush()
            doc: dict[str, Any] = {"format_version": 1, "id": QUEUE, "name": "ACD bench", "start": "q",
                   "settings": {"language": "en-US", "voice": "en", "max_duration_s": 600},
                   "nodes": {"q": {"type": "queue", "queue": QUEUE, "priority": 0}}}
            version = flow_store.save_draft(s, tenant.id, QUEUE, doc)
            flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
            did_store.bind_did(s, tenant.id, DID, QUEUE)
    finally:
        engine.dispose()
    return users


def start_platform(settings: Settings, agents: int,
                   controlplane_argv: list[str] | None = None) -> Platform:
    """Fresh isolated platform + lab + control plane, agents configured (not logged in).
    ``controlplane_argv``: in place of ``python -m controlplane.cli controlplane`` (e.g.
    ``bench/cp_counters.py``)."""
    runtime = Path(RUNTIME)
    supervisor.down(settings)
    if runtime.exists():
        asterisk.release_mounts(asterisk.installation(settings), runtime)
        shutil.rmtree(runtime)
    stack.database(settings)
    phones = agent_phones(agents)
    if BARESIP_PHONE in phones:
        raise BenchError(f"{BARESIP_PHONE} is baresip's, not a lab desk phone")
    users = prepare_db(settings, phones)
    stack.start_redis(settings)
    platform_ast = stack.start_platform_asterisk(settings)
    lab_ast = stack.start_lab(settings)
    cp = stack.spawn(settings, "controlplane", controlplane_argv
                     or [sys.executable, "-m", "controlplane.cli", "controlplane"])

    def registered() -> bool:
        contacts = platform_ast.cli("pjsip show contacts")
        return ("Registered" in platform_ast.cli("pjsip show registrations")
                and all(f"{p}/" in contacts for p in phones))

    until(registered, 60, f"the trunk and all {agents} agent desk phones registered")
    until(lambda: check_ari(settings), 30, "the control plane connected to ARI")
    pids = {"asterisk": int((platform_ast.dir("run") / "asterisk.pid").read_text()),
            "lab": int((lab_ast.dir("run") / "asterisk.pid").read_text()), "controlplane": cp,
            "redis": stack.pid_alive(settings, "redis") or 0}
    return Platform(settings, platform_ast, lab_ast, pids, phones, users)


def stop_platform(settings: Settings) -> None:
    supervisor.down(settings)
    asterisk.release_mounts(asterisk.installation(settings), Path(RUNTIME))


def _statuses(settings: Settings, users: dict[str, int]) -> dict[str, str | None]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            out: dict[str, str | None] = {}
            for phone, uid in users.items():
                row = s.scalars(select(AgentStatusLog).where(AgentStatusLog.user_id == uid)
                                .order_by(AgentStatusLog.id.desc())).first()
                out[phone] = row.to_status if row else None
            return out
    finally:
        engine.dispose()


def login_agents(p: Platform) -> None:
    """``*50`` (log in) then ``*51`` (ready) from every agent's desk phone, checked in the log."""
    for phone in p.phones:
        labcall.phone_dials(p.settings, phone, "*50", hangup_after=3)
    until(lambda: all(s not in (None, "logged_out") for s in _statuses(p.settings, p.users).values()),
          30, "every agent logged in after *50")
    for phone in p.phones:
        labcall.phone_dials(p.settings, phone, "*51", hangup_after=3)
    until(lambda: all(s == "ready" for s in _statuses(p.settings, p.users).values()),
          30, "every agent ready after *51")
    # the feature-code calls must be gone before traffic starts (they are phone channels too)
    until(lambda: active_channels(p.platform_ast) == 0, 20, "the feature-code calls to end")


def active_channels(instance: asterisk.Instance) -> int:
    found = re.search(r"^(\d+) active channels?", instance.cli("core show channels count"), re.M)
    if found is None:
        raise BenchError("`core show channels count` printed no channel count")
    return int(found.group(1))


def answers_in_own_log(p: Platform, system: str, t0: float, t1: float) -> int | None:
    """Answers in [t0, t1] by the system's own queue log: Centrala's ``acd_queue_log``
    (``answer``) or app_queue's ``queue_log`` (``CONNECT``); a cross-check of the observer."""
    if system == "app_queue":
        path = p.platform_ast.dir("log") / "queue_log"
        if not path.exists():
            return None
        rows = (line.split("|") for line in path.read_text().splitlines())
        first = math.floor(t0)  # queue_log times are whole seconds, truncated
        return sum(1 for r in rows if len(r) > 4 and r[4] == "CONNECT" and first <= int(r[0]) <= t1)
    engine = make_engine(p.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            lo, hi = datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t1, UTC)
            return s.scalar(select(func.count()).select_from(QueueLog).where(
                QueueLog.kind == "answer", QueueLog.at >= lo, QueueLog.at <= hi))
    finally:
        engine.dispose()


# ---- Asterisk's own app_queue ---------------------------------------------------------

def queues_conf(phones: list[str]) -> str:
    """The app_queue twin of the Centrala queue: same members, no announcements."""
    lines = [
        "[general]", "persistentmembers = no", "autofill = yes", "shared_lastcall = no", "",
        f"[{QUEUE}]", "strategy = leastrecent", f"timeout = {RING_TIMEOUT_S}",
        f"retry = {APPQ_RETRY_S}", "wrapuptime = 0", "ringinuse = no", "autopause = no",
        "joinempty = yes", "leavewhenempty = no", "musicclass = default",
        "announce-frequency = 0", "periodic-announce-frequency = 0", "announce-position = no",
        "announce-holdtime = no", "reportholdtime = no", "timeoutrestart = no",
    ]
    lines += [f"member => PJSIP/{phone}" for phone in phones]
    return "\n".join(lines) + "\n"


def appq_dialplan() -> str:
    # An exact extension sorts before the rendered `_[+0-9].` pattern, so only the DID moves.
    return (f"[from-trunk](+)\nexten => {DID},1,Goto({APPQ_CONTEXT},s,1)\n\n"
            f"[{APPQ_CONTEXT}]\nexten => s,1,Answer()\n same => n,Queue({QUEUE})\n"
            " same => n,Hangup()\n")


def switch_to_app_queue(p: Platform) -> None:
    """Point the DID at ``Queue()`` in this runtime's config and check it took."""
    etc = p.platform_ast.dir("etc")
    (etc / "queues.conf").write_text(queues_conf(p.phones))
    (etc / APPQ_INCLUDE).write_text(appq_dialplan())
    ext = etc / "extensions.conf"
    text = ext.read_text()
    if APPQ_INCLUDE not in text:
        ext.write_text(text.rstrip("\n") + f"\n\n#include {APPQ_INCLUDE}\n")
    p.platform_ast.fix_ownership()
    out = p.platform_ast.cli("module load app_queue.so")
    if "Loaded" not in out and "already" not in out.lower():
        raise BenchError(f"module load app_queue.so failed: {out.strip()}")
    p.platform_ast.cli("dialplan reload")
    shown = p.platform_ast.cli(f"dialplan show {DID}@from-trunk")
    if APPQ_CONTEXT not in shown:
        raise BenchError(f"the DID {DID} is not routed to app_queue after reload:\n{shown}")
    queue = p.platform_ast.cli(f"queue show {QUEUE}")
    missing = [ph for ph in p.phones if f"PJSIP/{ph}" not in queue]
    if missing or "Unavailable" in queue:
        raise BenchError(f"app_queue queue {QUEUE} is not ready (missing {missing}):\n{queue}")


# ---- the observer -------------------------------------------------------------------

@dataclass
class Leg:
    """One platform channel of interest: a caller (from the trunk) or an agent leg."""

    id: str
    kind: str  # "caller" | "agent"
    phone: str  # the agent's endpoint ("" for a caller)
    created: float
    destroyed: float | None = None
    connected: float | None = None  # first time in one bridge with the other side
    peer: str | None = None


@dataclass
class Observed:
    """What the platform's ARI told the observer (Asterisk's event timestamps)."""

    phones: set[str]
    legs: dict[str, Leg] = field(default_factory=dict)
    events: int = 0

    def classify(self, name: str) -> tuple[str, str] | None:
        if name.startswith(f"PJSIP/{LAB_TRUNK}-"):
            return "caller", ""
        if name.startswith("PJSIP/"):
            endpoint = name[6:].rsplit("-", 1)[0]
            if endpoint in self.phones:
                return "agent", endpoint
        return None

    def take(self, ev: dict[str, Any]) -> None:
        self.events += 1
        kind = ev.get("type")
        ch = ev.get("channel") or {}
        if kind == "ChannelCreated":
            found = self.classify(ch.get("name", ""))
            if found is not None:
                self.legs[ch["id"]] = Leg(ch["id"], found[0], found[1], ast_ts(ev["timestamp"]))
        elif kind == "ChannelDestroyed":
            leg = self.legs.get(ch.get("id", ""))
            if leg is not None and leg.destroyed is None:
                leg.destroyed = ast_ts(ev["timestamp"])
        elif kind == "ChannelEnteredBridge":
            members = [self.legs[i] for i in ev["bridge"].get("channels", []) if i in self.legs]
            callers = [m for m in members if m.kind == "caller"]
            agents = [m for m in members if m.kind == "agent"]
            if callers and agents:
                at = ast_ts(ev["timestamp"])
                for a, b in ((callers[0], agents[0]), (agents[0], callers[0])):
                    if a.connected is None:
                        a.connected, a.peer = at, b.id


async def observe(settings: Settings, seen: Observed, connected: asyncio.Event) -> None:
    """Feed every platform ARI event to ``seen`` until cancelled (reconnects)."""
    await benchkit.observe(settings, OBSERVER_APP, seen.take, connected)
