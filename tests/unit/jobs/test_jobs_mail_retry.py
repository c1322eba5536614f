"""A mail job whose SMTP server refuses once is retried by RQ and the mail arrives.

Real pieces: a migrated SQLite database, a throwaway redis-server, an aiosmtpd server on
loopback that answers ``451`` to the first message and keeps the next, and an RQ worker
(``SimpleWorker``, in process, burst). The link is asked for as the panel asks for it
(:func:`controlplane.tenants.store.request_link`: link row + outbox row), the outbox is
drained into RQ, and the scheduled retry is made due instead of waiting its 10 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from helpers import ThrowawayRedis, free_port
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs import outbox
from controlplane.migrate import upgrade
from controlplane.models import Role, Tenant, User
from controlplane.models.user_tokens import UserToken
from controlplane.tenants import store
from controlplane.tenants.tokens import Purpose


class RefuseOnce:
    """An SMTP handler: ``451`` (try again later) for the first message, then keep them."""

    def __init__(self) -> None:
        self.refused = 0
        self.kept: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if not self.refused:
            self.refused += 1
            return "451 4.3.0 try again later"
        self.kept.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[RefuseOnce, int]]:
    handler, port = RefuseOnce(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[redis.Redis]:
    server = ThrowawayRedis(tmp_path).start()
    client = redis.Redis(port=server.port, socket_connect_timeout=1, socket_timeout=5)
    yield client
    client.close()
    server.stop()


def test_a_refused_mail_is_retried_and_arrives(tmp_path: Path, smtp: tuple[RefuseOnce, int],
                                               conn: redis.Redis,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    handler, port = smtp
    url = f"sqlite:///{tmp_path / 'mail.db'}"
    upgrade(url)
    for key, value in {"CENTRALA_DATABASE_URL": url, "CENTRALA_RUNTIME_DIR": str(tmp_path),
                       "CENTRALA_SMTP_URL": f"smtp://127.0.0.1:{port}"}.items():
        monkeypatch.setenv(key, value)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with transaction(factory) as s:
            tenant = Tenant(domain="poczta.example", name="Poczta")
            s.add(tenant)
            s.flush()
            user = User(tenant_id=tenant.id, login="ola", role=Role.ADMIN, password_hash="",
                        email="ola@poczta.example")
            s.add(user)
            s.flush()
            link = store.request_link(s, user, Purpose.ACTIVATION, by="test", source="",
                                      now=datetime.now(UTC))
            link_id = link.id
        queue = Queue("default", connection=conn)
        assert outbox.drain(factory, lambda _name: queue).sent == 1
        job = Job.fetch(f"mail-link-{link_id}", connection=conn)
        assert job.retries_left == store.MAIL_RETRY["max"]

        SimpleWorker([queue], connection=conn).work(burst=True)
        job.refresh()
        assert handler.refused == 1 and handler.kept == []
        assert job.get_status() == JobStatus.SCHEDULED  # RQ's retry, 10 s from now
        assert job.retries_left == store.MAIL_RETRY["max"] - 1
        registry = queue.scheduled_job_registry
        assert job.id in registry.get_job_ids()
        when = registry.get_scheduled_time(job)
        assert 5 <= (when - datetime.now(UTC)).total_seconds() <= 11

        registry.remove(job)  # make the retry due now instead of in 10 s
        queue.enqueue_job(job)
        SimpleWorker([queue], connection=conn).work(burst=True)
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED and job.return_value() == "sent"
        assert [rcpt for rcpt, _ in handler.kept] == [["ola@poczta.example"]]
        with factory() as s:
            row = s.get(UserToken, link_id)
            assert row is not None and row.sent_at is not None
    finally:
        engine.dispose()


def test_a_bad_retry_option_fails_where_the_job_is_made() -> None:
    with pytest.raises(TypeError, match="retry_schedule option"):
        outbox.make_spec(store.MAIL_JOB, (1,), options={outbox.RETRY: {"tries": 3}})
