"""``centrala controlplane``: the asyncio daemon, and the composition root of its parts."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import json
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import uvloop
from rq import Queue

from controlplane import bus
from controlplane.acd import commands as acd_commands
from controlplane.acd.service import QueueService
from controlplane.amd_live import preload_detector
from controlplane.calls.campaign_glue import CampaignCalls
from controlplane.calls.queue_connector import QueueConnector
from controlplane.calls.routing_cache import RouteCache
from controlplane.calls.service import CallService
from controlplane.calls.transfers import Target
from controlplane.chat.service import ChatService
from controlplane.config import Settings
from controlplane.db import make_engine, make_sessionmaker
from controlplane.desk.acd import TicketConnector
from controlplane.dialer.preview import PreviewDialer
from controlplane.dialer.runner import CampaignRunner
from controlplane.engine.ami import AmiClient
from controlplane.engine.ari_ import AriClient
from controlplane.jobs import desk_rules, recordings_retention, recordings_sftp
from controlplane.jobs.outbox_drain import run_drain
from controlplane.jobs.periodic import run_every
from controlplane.jobs.worker import queue
from controlplane.live import raise_if_cancelled
from controlplane.logs import setup_logging
from controlplane.security.ban_service import BanWatcher
from controlplane.security.command_guard import CommandGuard, refusal_body
from controlplane.supervision.service import SupervisionService
from controlplane.tts import EspeakEngine
from controlplane.webhooks.service import WebhookDispatcher

log = logging.getLogger("centrala.controlplane")
HEARTBEAT_EVERY_S = 2.0
IO_THREADS = 8  # see io_executor


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    asyncio.get_running_loop().set_default_executor(io_executor())
    engine = make_engine(settings.database_url)
    redis = aioredis.Redis.from_url(settings.redis_url_for("controlplane"))
    factory = make_sessionmaker(engine)
    tts = EspeakEngine(settings.runtime_dir / "platform" / "sounds" / "tts")
    async with AriClient(settings.ari_url, settings.ari_user, settings.ari_password,
                         settings.ari_app) as ari, aiohttp.ClientSession() as http:
        jobs = queue(settings, "controlplane")
        calls = CallService(settings, ari, factory, redis, jobs, tts=tts, http=http)
        calls.routes = RouteCache(factory)  # DID → binding, flow, calendars (routing_cache)
        chats = ChatService(factory, redis)  # the ACD's chat connector, chat.* commands
        tickets = TicketConnector(factory, redis)  # the ACD's ticket connector, ticket.*
        acd = QueueService(factory, redis, QueueConnector(calls), chat_connector=chats,
                           ticket_connector=tickets)
        calls.acd = chats.acd = tickets.acd = acd
        # Dialer attempts; the campaign runner / compliance log hook in via campaigns.on_result.
        campaigns = calls.campaigns = CampaignCalls(calls)
        dialer = CampaignRunner(factory, campaigns, acd)
        campaigns.on_result = dialer.on_result  # compliance rows, retries, pacing
        preview = PreviewDialer(factory, calls)  # agents' preview calls (calls.end_hooks)
        supervision = SupervisionService(settings, calls)  # listen/whisper/barge (end_hooks)
        ami = AmiClient(settings.bind_address, settings.platform.ami, settings.ami_user,
                        settings.ami_password, redis, on_contact=acd.contact_status)
        sip_bans = BanWatcher(settings, factory, redis, ami)  # brute force → PJSIP ACL
        sip_bans.attach()
        tasks = [asyncio.create_task(sip_bans.run(), name="sip-bans"),
                 asyncio.create_task(ari.run_events(calls.on_event, calls.reconcile,
                                                     wants=calls.router.wanted),
                                     name="ari-events"),
                 asyncio.create_task(ami.run(), name="ami"),
                 asyncio.create_task(_heartbeat(redis, ari, ami), name="heartbeat"),
                 asyncio.create_task(calls.audit_live_view(), name="live-view-audit"),
                 asyncio.create_task(acd.run(), name="acd"),
                 asyncio.create_task(chats.start(), name="chats-restore"),
                 asyncio.create_task(tickets.run(), name="tickets"),  # restore, then sweeps
                 asyncio.create_task(campaigns.run(), name="dialer-amd"),
                 asyncio.create_task(dialer.run(), name="dialer"),
                 # jobs kept while Redis was down are queued when it is back
                 asyncio.create_task(run_drain(
                     factory, lambda name: Queue(name, connection=jobs.connection)),
                     name="job-outbox"),
                 # webhook events → deliveries → RQ jobs, retries when due
                 asyncio.create_task(WebhookDispatcher(factory, jobs).run(), name="webhooks"),
                 # recordings past their tenant's retention: the RQ job, once an hour
                 asyncio.create_task(run_every(factory, jobs, recordings_retention.JOB,
                                               recordings_retention.PREFIX,
                                               recordings_retention.EVERY_S),
                                     name="recordings-retention"),
                 # recordings not yet on their tenant's SFTP server: the RQ job, every minute
                 asyncio.create_task(run_every(factory, jobs, recordings_sftp.JOB,
                                               recordings_sftp.PREFIX, recordings_sftp.EVERY_S),
                                     name="recordings-sftp"),
                 # the desk's time-triggered business rules: the RQ job, once a minute
                 asyncio.create_task(run_every(factory, jobs, desk_rules.JOB, desk_rules.PREFIX,
                                               desk_rules.EVERY_S), name="desk-rules"),
                 asyncio.create_task(_commands(redis, acd, campaigns, calls, preview,
                                               guard=CommandGuard(factory),
                                               supervision=supervision, chats=chats,
                                               tickets=tickets),
                                     name="commands"),
                 asyncio.create_task(_app_events(settings, supervision.app, supervision.on_event,
                                                 supervision.on_connect), name="supervision"),
                 asyncio.create_task(_preload(ari), name="preload")]
        await stop.wait()
        log.info("stopping: calls in progress stay up in Asterisk and are adopted on restart")
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await calls.records.close()  # the call records still held, written before we go
    await redis.aclose()
    engine.dispose()


async def _app_events(settings: Settings, app: str, on_event: Any, on_connect: Any) -> None:
    """Hold the events websocket of a Stasis app of its own (supervision's ``<app>-sv``):
    its channels never reach the call service."""
    async with AriClient(settings.ari_url, settings.ari_user, settings.ari_password, app) as ari:
        await ari.run_events(on_event, on_connect)


async def _preload(ari: AriClient, delay_s: float = 1.0) -> None:
    """Import the AMD detector's numeric libraries in a thread once the daemon is connected
    and has had a moment to take its calls back (they are left out of start-up so that a
    restart is quick)."""
    await ari.connected.wait()
    await asyncio.sleep(delay_s)
    # Its own thread, not the default executor: the import takes seconds of one worker,
    # which the first calls' look-ups and record writes would otherwise queue behind.
    pool = ThreadPoolExecutor(1, thread_name_prefix="amd-preload")
    try:
        await asyncio.get_running_loop().run_in_executor(pool, preload_detector)
    finally:
        pool.shutdown(wait=False)
    freeze_heap()


def freeze_heap() -> None:
    """Move everything alive now (modules, SciPy, SQLAlchemy's mappers, the route cache) out
    of the garbage collector's sight, once (:func:`gc.freeze`). A full collection otherwise
    walks those millions of objects with the event loop stopped: at 75 calls/s one took
    ~135 ms, the whole of the IVR's INVITE→200 p99 (``bench/cp_counters.py`` counts the
    pauses). Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


def io_executor() -> ThreadPoolExecutor:
    """The daemon's default executor (``asyncio.to_thread``): database look-ups and writes,
    TTS synthesis, audio checks. Sized deliberately, not min(32, cores + 4): the work is
    GIL-bound ORM code between short waits, so more threads only add contention with the
    event loop, while fewer would let one slow job (a TTS synthesis, a write waiting on
    SQLite's lock) hold up every call's route look-up behind it."""
    return ThreadPoolExecutor(IO_THREADS, thread_name_prefix="cp-io")


async def _heartbeat(redis: aioredis.Redis, ari: AriClient, ami: AmiClient) -> None:
    """Tell the panel and health checks that the daemon lives and what it is connected to."""
    while True:
        beat = {"pid": os.getpid(), "ari": ari.connected.is_set(), "ami": ami.healthy.is_set(),
                "at": time.time()}
        try:
            await redis.set(bus.HEARTBEAT_KEY, json.dumps(beat), ex=bus.HEARTBEAT_TTL_S)
        except aioredis.RedisError as err:
            raise_if_cancelled()
            log.warning("heartbeat not written: %s", err)
        await asyncio.sleep(HEARTBEAT_EVERY_S)


class CommandHandlers:
    """The daemon's side of the bus's command table: one handler per command name
    (:data:`controlplane.bus.COMMANDS`), each handing the command to its service. A
    service left out (None, in tests) makes its commands log a warning and do nothing."""

    def __init__(self, redis: aioredis.Redis, acd: QueueService | None,
                 dialer: CampaignCalls | None = None, calls: CallService | None = None,
                 preview: PreviewDialer | None = None,
                 supervision: SupervisionService | None = None,
                 chats: ChatService | None = None,
                 tickets: TicketConnector | None = None) -> None:
        self.redis, self.acd, self.dialer = redis, acd, dialer
        self.calls, self.preview, self.supervision = calls, preview, supervision
        self.chats, self.tickets = chats, tickets

    def table(self) -> bus.CommandTable:
        return bus.bind({
            "acd.reload": self.acd_reload,
            "acd.webphone": self.acd_reload,  # the same re-read, asked by the agent
            "acd.agent": self.acd_agent,
            "calls.record": self.calls_record,
            **dict.fromkeys(bus.TRANSFER_COMMANDS, self.calls_transfer),
            "supervision": self.supervise,
            **dict.fromkeys(bus.PREVIEW_COMMANDS, self.dialer_preview),
            "dialer.place": self.dialer_place,
            **dict.fromkeys(bus.CHAT_COMMANDS, self.chat),
            **dict.fromkeys(bus.TICKET_COMMANDS, self.ticket),
        })

    async def acd_reload(self, got: bus.Received) -> None:
        if self.acd is None:
            _unavailable(got, "acd")
            return
        await self.acd.reload(int(got.command["tenant_id"]))

    async def acd_agent(self, got: bus.Received) -> None:
        """The panel waits for the reply. On the panel stream ``by`` is the verified
        actor (None when agents act on themselves), whatever the entry says."""
        if self.acd is None:
            _unavailable(got, "acd")
            return
        command = got.command
        if not got.admin:
            own = command.get("user_id") == command.get("actor_id")
            command = {**command, "by": None if own else got.actor}
        await acd_commands.handle(command, self.acd, self.redis)

    async def calls_record(self, got: bus.Received) -> None:
        if self.calls is None:
            _unavailable(got, "calls")
            return
        by = str(got.command.get("by") or "admin") if got.admin else got.actor
        await self.calls.record_on_demand(str(got.command["call_id"]), by)

    async def calls_transfer(self, got: bus.Received) -> None:
        """The panel waits for the reply; the guard checked the call and the queue."""
        if self.calls is None:
            _unavailable(got, "calls")
            return
        by = str(got.command.get("by") or "admin") if got.admin else got.actor
        kind, field = bus.TRANSFER_COMMANDS[str(got.command["cmd"])]
        target = Target(kind.removeprefix("consult_"), str(got.command[field]))
        call_id, tenant_id = str(got.command["call_id"]), int(got.command["tenant_id"])
        t = self.calls.transfers
        body = await (t.end_consult(call_id, tenant_id, target.value, by)
                      if kind == "consult_end" else
                      t.consult(call_id, tenant_id, target, by) if kind.startswith("consult")
                      else t.transfer(call_id, tenant_id, target, by))
        await acd_commands.push_reply(self.redis, got.command, body)

    async def supervise(self, got: bus.Received) -> None:
        """The panel waits for the reply; the actor is the guard's verified supervisor."""
        if self.supervision is None:
            _unavailable(got, "supervision")
            return
        await self.supervision.handle(got.command, got.actor, self.redis)

    async def chat(self, got: bus.Received) -> None:
        """A visitor's chat command, or an agent's (the panel waits for its reply)."""
        if self.chats is None:
            _unavailable(got, "chat")
            return
        await self.chats.handle(got)

    async def ticket(self, got: bus.Received) -> None:
        """``ticket.sync`` (re-read the ticket), or an agent's answer to an offer."""
        if self.tickets is None:
            _unavailable(got, "ticket")
            return
        await self.tickets.handle(got)

    async def dialer_preview(self, got: bus.Received) -> None:
        if self.preview is None:
            _unavailable(got, "preview")
            return
        await self.preview.handle(got.command, self.redis)  # the panel waits for the reply

    async def dialer_place(self, got: bus.Received) -> None:
        if self.dialer is None:
            _unavailable(got, "dialer")
            return
        self.dialer.submit(got.command)  # placed in a task: the reader never waits


def _unavailable(got: bus.Received, service: str) -> None:
    log.warning("command %s: no %s service in this process", got.command, service)


async def _commands(redis: aioredis.Redis, acd: QueueService | None,
                    dialer: CampaignCalls | None = None, calls: CallService | None = None,
                    preview: PreviewDialer | None = None, *, guard: CommandGuard,
                    supervision: SupervisionService | None = None,
                    chats: ChatService | None = None,
                    tickets: TicketConnector | None = None) -> None:
    """Read the command streams (:mod:`controlplane.bus`): the panel's and the admin one
    (operators and tests, writable by the Redis admin user only).

    Every entry passes ``guard`` first (:mod:`controlplane.security.command_guard`): a panel
    command is carried out only if its ``actor_id`` user of ``tenant_id`` may do it; a
    refused one is audited and answered on its reply key, never carried out. What passes
    goes to its handler through the command table (:class:`CommandHandlers`).
    Entries added before the daemon started are not replayed (the daemon loads
    everything at start).
    """
    table = CommandHandlers(redis, acd, dialer, calls, preview, supervision, chats,
                            tickets).table()
    # Explicit ids, never "$" again: a read that times out must not skip what came meanwhile.
    last: dict[Any, Any] = {}  # stream name → last id read (redis-py types are loose)
    for stream in (bus.PANEL_STREAM, bus.ADMIN_STREAM):
        try:
            newest = await redis.xrevrange(stream, count=1)
        except aioredis.RedisError:
            newest = []  # Redis is down: replay what is there later (a reload twice is harmless)
        last[stream] = newest[0][0] if newest else "0-0"
    while True:
        # A stop must stop the reader: redis-py may turn the cancellation into an error that
        # the handlers below survive, so it is checked on every round (at most 2 s apart).
        raise_if_cancelled()
        try:
            # Block for less than the client's socket timeout (5 s by default).
            batches: Any = await redis.xread(dict(last), block=2000, count=50)
        except (aioredis.RedisError, OSError) as err:
            raise_if_cancelled()
            log.warning("commands stream: %s", err)
            await asyncio.sleep(2)
            continue
        for raw_stream, entries in batches or []:
            stream = raw_stream.decode() if isinstance(raw_stream, bytes) else str(raw_stream)
            for entry_id, fields in entries:
                last[stream] = entry_id
                try:
                    await _one(redis, table, guard, stream, fields)
                except Exception:  # noqa: BLE001 - one bad command must not stop the reader
                    raise_if_cancelled()
                    log.exception("command %s failed", fields)


async def _one(redis: aioredis.Redis, table: bus.CommandTable, guard: CommandGuard,
               stream: str, fields: Any) -> None:
    """Check one entry and carry it out (or answer its refusal)."""
    try:
        command = json.loads(fields[b"data"])
    except (KeyError, ValueError):
        command = None  # refused (and audited) by the guard as malformed
    checked = await guard.check(stream, command)
    if not checked.verdict.ok:
        if isinstance(command, dict) and "reply" in command:
            await acd_commands.push_reply(redis, command, refusal_body(checked.verdict))
        return
    got = bus.Received(command, stream == bus.ADMIN_STREAM, checked.actor)
    handler = table.handler(got)
    if handler is None:
        log.warning("unknown command %s", command)
        return
    await handler(got)


def _single_instance(settings: Settings, wait: bool = False) -> int:
    """Hold an exclusive lock for the process lifetime: two daemons would both steer calls.

    ``wait``: a standby (the supervisor keeps one) waits for the lock instead of leaving, with
    every module already imported: when the active daemon dies, the kernel frees its lock
    and the standby takes over at once, where a cold start would spend seconds importing."""
    path = settings.runtime_dir / "run" / "controlplane.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            raise SystemExit(f"another control plane is running (lock {path})") from None
        log.info("standby: another control plane is active; taking over when it is gone")
        fcntl.flock(fd, fcntl.LOCK_EX)
        log.info("standby: the active control plane is gone; taking over")
    return fd


def run(settings: Settings, standby: bool = False) -> None:
    setup_logging(settings, "controlplane")
    _single_instance(settings, wait=standby)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve(settings, stop)

    # uvloop: the loop's own machinery (ready queue, selector, self-pipe wake-ups of every
    # thread hop) was the largest single share of the daemon's CPU under queue load
    # (py-spy --gil of bench/acd_vs_app_queue.py: ~30 % in the asyncio loop itself).
    uvloop.run(main())
