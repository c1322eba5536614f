"""``centrala desk-mail poller``: the process that reads every tenant's active mailboxes.

Theory of operation. A process of its own, started and restarted by the supervisor like
the SLA prober (:mod:`controlplane.procs.programs`): reading mail is blocking network I/O
against servers we do not control, which belongs neither in the control plane's event loop
nor in the RQ worker's queue (a slow IMAP server would hold a worker that sends replies).
Every :data:`TICK_S` it lists the active mailboxes and polls those whose own interval
(``poll_interval_s``, 30 s by default, set per mailbox on its page) has passed since their
last poll, in a small thread pool (one slow server does not delay the others; a mailbox is
never polled twice at once). Each poll is :func:`controlplane.desk.email.reader.poll`: its
place is stored per mailbox, so this process can die at any time and a new one carries on
without reading a mail twice. A database outage costs a tick, logged.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings
from controlplane.desk.email import reader
from controlplane.models.base import utcnow
from controlplane.models.desk_mail import DeskMailbox

log = logging.getLogger("centrala.desk.mail")
TICK_S = 2.0
WORKERS = 4


def due(rows: list[tuple[int, int, datetime | None]], now: datetime) -> list[int]:
    """The mailboxes (id, interval, last poll) whose interval has passed."""
    return [box_id for box_id, every, last in rows
            if last is None or now - last >= timedelta(seconds=max(5, every))]


def tick(factory: sessionmaker[Session], runtime_dir: Path, pool: ThreadPoolExecutor,
         running: dict[int, Future[reader.Polled]]) -> list[int]:
    """Start the polls that are due; returns the mailbox ids started."""
    for box_id, fut in list(running.items()):
        if fut.done():
            del running[box_id]
            if fut.exception() is not None:
                log.error("mailbox %s: poll failed", box_id, exc_info=fut.exception())
    with factory() as s:
        rows = [(r.id, r.poll_interval_s, r.last_poll_at) for r in s.execute(
            select(DeskMailbox.id, DeskMailbox.poll_interval_s, DeskMailbox.last_poll_at)
            .where(DeskMailbox.active.is_(True)).order_by(DeskMailbox.id))]
    started = []
    for box_id in due(rows, utcnow()):
        if box_id not in running:
            running[box_id] = pool.submit(reader.poll, factory, runtime_dir, box_id)
            started.append(box_id)
    return started


def run(settings: Settings, stop: threading.Event) -> None:
    import redis

    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.desk import acd_sync

    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    # a new ticket is routed by the daemon's ACD: tell it after the commit (the panel's user
    # may append to the command stream; the daemon's sweep catches what does not arrive)
    client = redis.Redis.from_url(settings.redis_url_for("web"), socket_timeout=5.0)
    acd_sync.install(factory, client)
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="mailbox")
    running: dict[int, Future[reader.Polled]] = {}
    log.info("reading the desk's mailboxes")
    try:
        while not stop.is_set():
            try:
                tick(factory, settings.runtime_dir, pool, running)
            except Exception:  # the database is down: try again next tick
                log.exception("mailbox tick failed")
            stop.wait(TICK_S)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        engine.dispose()
        client.close()


def main(settings: Settings) -> int:
    from controlplane.logs import setup_logging

    setup_logging(settings, "mailpoller")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(settings, stop)
    return 0
