"""``centrala worker``: an RQ worker on the platform's Redis."""

from __future__ import annotations

from redis import Redis
from rq import Queue, Worker

from controlplane.config import Settings
from controlplane.logs import setup_logging

QUEUES = ("default",)


def queue(settings: Settings, role: str = "admin", connection: Redis | None = None) -> Queue:
    """The job queue, on ``connection`` or a new one as Redis user ``role`` (the daemon
    enqueues as ``controlplane``; the CLI as ``admin``)."""
    return Queue("default", connection=connection or Redis.from_url(settings.redis_url_for(role)))


def run_worker(settings: Settings, burst: bool = False) -> None:
    setup_logging(settings, "worker")
    connection = Redis.from_url(settings.redis_url_for("worker"))
    worker = Worker([Queue(name, connection=connection) for name in QUEUES], connection=connection)
    worker.work(burst=burst, with_scheduler=True)
