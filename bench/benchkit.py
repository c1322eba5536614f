"""What the lab benchmarks share: polling, CPU counters, Asterisk timestamps, the lab's AMI,
an isolated platform + lab.

Imported by ``bench/ivr_latency.py``, ``bench/acd_bench_lab.py``,
``bench/acd_vs_app_queue.py`` and ``bench/ivr_capacity.py`` (run as scripts: ``bench/``
is on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import websockets

from controlplane import asterisk, stack, supervisor
from controlplane.config import Settings
from controlplane.health import check_ari

CLK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


class BenchError(RuntimeError):
    """A part of the bench did not come up or the run produced nothing to measure."""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (raises if the process is gone)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def ast_ts(raw: str) -> float:
    """Asterisk's ``2025-01-02T10:11:12.345+0000`` as epoch seconds."""
    return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def basic_auth(settings: Settings) -> str:
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password}".encode()).decode()
    return f"Basic {token}"


def until(fn: Callable[[], T | None], timeout: float, what: str, interval: float = 0.5) -> T:
    """Poll ``fn`` until it returns something truthy; :class:`BenchError` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            if (value := fn()):
                return value
        except Exception as err:  # noqa: BLE001 - not ready yet
            last = err
        if time.monotonic() > deadline:
            extra = f" (last error: {last})" if last else ""
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(interval)


async def sse_events(resp: Any) -> AsyncIterator[tuple[str, str]]:
    """``(event name, data)`` of each block of a server-sent-events response (aiohttp's),
    as it arrives; data lines joined with newlines, the name ``message`` when none is given."""
    buf = ""
    async for chunk in resp.content.iter_any():
        buf += chunk.decode()
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            lines = block.splitlines()
            name = next((ln[7:] for ln in lines if ln.startswith("event: ")), "message")
            yield name, "\n".join(ln[6:] for ln in lines if ln.startswith("data: "))


def pct(values: list[float], q: float) -> float | None:
    """The ``q`` quantile by nearest rank (None for no values)."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


async def observe(settings: Settings, app: str, take: Callable[[dict[str, Any]], None],
                  connected: asyncio.Event) -> None:
    """Feed every platform ARI event (an observer app with ``subscribeAll``) to ``take``
    until cancelled; reconnects."""
    url = settings.ari_url.replace("http://", "ws://") + f"/events?app={app}&subscribeAll=true"
    auth = basic_auth(settings)
    while True:
        try:
            async with websockets.connect(url, additional_headers={"Authorization": auth},
                                          max_size=2**22, ping_interval=None) as ws:
                connected.set()
                async for message in ws:
                    take(json.loads(message))
        except (OSError, websockets.WebSocketException) as err:
            log(f"observer disconnected: {err}; reconnecting")
            await asyncio.sleep(0.5)


class LabAmi:
    """One AMI connection to the lab for many Originates. With ``events="call"`` it also
    follows the hang-ups of channels whose id starts with ``prefix`` (:meth:`watch`)."""

    def __init__(self, settings: Settings, prefix: str = "", events: str = "off") -> None:
        self.settings = settings
        self.prefix = prefix
        self.events = events
        self.pending: dict[str, asyncio.Future[dict[str, str]]] = {}
        self.ended: dict[str, asyncio.Future[None]] = {}  # lab channel id → hung up
        self.by_action: dict[str, str] = {}  # originate ActionID → lab channel id
        self.seq = 0

    async def __aenter__(self) -> LabAmi:
        s = self.settings
        self.reader, self.writer = await asyncio.open_connection(s.bind_address, s.lab.ami)
        await self.reader.readline()
        self.task = asyncio.create_task(self._read())
        reply = await self.action({"Action": "Login", "Username": "lab",
                                   "Secret": s.secret("lab_ami_password"), "Events": self.events})
        if reply.get("Response") != "Success":
            raise BenchError(f"lab AMI login failed: {reply}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        self.writer.close()

    def _end(self, uid: str) -> None:
        fut = self.ended.pop(uid, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def _read(self) -> None:
        msg: dict[str, str] = {}
        while line := await self.reader.readline():
            text = line.decode(errors="replace").rstrip("\r\n")
            if text:
                key, _, value = text.partition(":")
                msg.setdefault(key.strip(), value.strip())
                continue
            event = msg.get("Event")
            if event == "Hangup" and self.prefix and msg.get("Uniqueid", "").startswith(self.prefix):
                self._end(msg["Uniqueid"])
            elif event == "OriginateResponse" and msg.get("Response") != "Success":
                self._end(self.by_action.pop(msg.get("ActionID", ""), msg.get("Uniqueid", "")))
            elif "Response" in msg:
                fut = self.pending.pop(msg.get("ActionID", ""), None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
            msg = {}

    async def action(self, fields: dict[str, str], timeout: float = 10) -> dict[str, str]:
        self.seq += 1
        aid = f"b{self.seq}"
        fut: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self.pending[aid] = fut
        if fields.get("Action") == "Originate" and "ChannelId" in fields:
            self.by_action[aid] = fields["ChannelId"]
        self.writer.write("".join(f"{k}: {v}\r\n" for k, v in {**fields, "ActionID": aid}.items())
                          .encode() + b"\r\n")
        await self.writer.drain()
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(aid, None)

    def watch(self, uid: str) -> asyncio.Future[None]:
        """A future set when the lab channel ``uid`` hangs up (or its originate failed)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ended[uid] = fut
        return fut


# ---- an isolated platform + lab ------------------------------------------------------

@dataclass
class Isolated:
    """A fresh platform + lab + control plane started by :func:`start_isolated`."""

    platform_ast: asterisk.Instance
    lab_ast: asterisk.Instance
    pids: dict[str, int]  # platform, lab, controlplane, redis


def start_isolated(settings: Settings, prepare: Callable[[Settings], None],
                   controlplane_argv: list[str] | None = None) -> Isolated:
    """Wipe ``settings.runtime_dir``, migrate and seed a fresh database, run ``prepare`` on
    it, start Redis, the platform Asterisk, the lab and the control plane (``argv`` in
    place of ``python -m controlplane.cli controlplane``, e.g. to run it under counters),
    and wait until the trunk is registered and the control plane is on ARI."""
    runtime = settings.runtime_dir
    supervisor.down(settings)
    if runtime.exists():
        asterisk.release_mounts(asterisk.installation(settings), runtime)
        shutil.rmtree(runtime)
    stack.database(settings)
    prepare(settings)
    stack.start_redis(settings)
    platform_ast = stack.start_platform_asterisk(settings)
    lab_ast = stack.start_lab(settings)
    cp = stack.spawn(settings, "controlplane", controlplane_argv
                     or [sys.executable, "-m", "controlplane.cli", "controlplane"])
    until(lambda: "Registered" in platform_ast.cli("pjsip show registrations"), 40,
          "the platform's trunk registered at the lab carrier")
    until(lambda: check_ari(settings), 30, "the control plane connected to ARI")
    return Isolated(platform_ast, lab_ast, {
        "platform": int((platform_ast.dir("run") / "asterisk.pid").read_text()),
        "lab": int((lab_ast.dir("run") / "asterisk.pid").read_text()), "controlplane": cp,
        "redis": stack.pid_alive(settings, "redis") or 0})


def deploy_ivr_flow(settings: Settings, flow: dict[str, Any], did: str) -> None:
    """Save, publish and bind ``flow`` to ``did`` for the demo tenant, and synthesise its
    prompts now (no caller of the bench waits for espeak)."""
    from sqlalchemy import select

    from controlplane.db import make_engine, make_sessionmaker, transaction
    from controlplane.ivr import did_store
    from controlplane.ivr import store as flow_store
    from controlplane.models import Tenant
    from controlplane.seed import DEMO_DOMAIN
    from controlplane.tts import EspeakEngine, cache_dir, prefetch

    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
            if tenant is None:
                raise BenchError("the demo tenant is missing after seeding")
            version = flow_store.save_draft(s, tenant.id, flow["id"], flow)
            flow_store.publish(s, version.flow_id, version.version, tenant_id=tenant.id)
            did_store.bind_did(s, tenant.id, did, flow["id"])
            parsed = flow_store.parsed(version)
    finally:
        engine.dispose()
    prefetch(EspeakEngine(cache_dir(settings)), parsed)


def stop_isolated(settings: Settings) -> None:
    """Stop everything :func:`start_isolated` started and release its bind mounts."""
    supervisor.down(settings)
    asterisk.release_mounts(asterisk.installation(settings), settings.runtime_dir)
