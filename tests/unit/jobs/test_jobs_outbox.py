"""The job outbox against a real SQLite database and a real redis-server that is stopped
and started again: a job queued while Redis is down is kept, queued once when it is back,
and run by a real RQ worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import soundfile
from helpers import ThrowawayRedis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from controlplane.db import transaction
from controlplane.jobs import outbox
from controlplane.jobs.hlr import check_campaign
from controlplane.jobs.recordings import verify_recording
from controlplane.models import CallRecord
from controlplane.models.outbox import JobOutbox


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    srv = ThrowawayRedis(tmp_path).start()
    yield srv
    srv.stop()


@pytest.fixture
def conn(server: ThrowawayRedis) -> Iterator[redis.Redis]:
    # short timeouts: a dead server must fail fast, not hang the test
    client = redis.Redis(port=server.port, socket_connect_timeout=1, socket_timeout=2)
    yield client
    client.close()


@pytest.fixture
def sqlite_factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield url, make_sessionmaker(engine)
    engine.dispose()


def _call_with_recording(factory, tmp_path: Path, call_id: str = "c-1") -> None:  # type: ignore[no-untyped-def]
    wav = tmp_path / f"{call_id}.wav"
    soundfile.write(str(wav), [0.0] * 16000, 8000)  # 2 s
    from datetime import UTC, datetime

    with transaction(factory) as s:
        s.add(CallRecord(call_id=call_id, direction="inbound", caller="48600100200",
                         callee="48221000001", status="ended", phase="ended",
                         caller_channel=call_id, started_at=datetime.now(UTC),
                         recording_path=str(wav)))


def _rows(factory) -> list[JobOutbox]:  # type: ignore[no-untyped-def]
    with factory() as s:
        return list(s.scalars(select(JobOutbox).order_by(JobOutbox.id)))


def test_redis_up_queues_at_once(conn, sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    url, factory = sqlite_factory
    queue = Queue("default", connection=conn)
    done = outbox.enqueue(queue, factory, verify_recording, "c-1", url, job_id="verify-c-1")
    assert done == outbox.Outcome("verify-c-1", True)
    assert queue.job_ids == ["verify-c-1"] and _rows(factory) == []
    # the same job again (a second ENDED save): not queued twice
    assert outbox.enqueue(queue, factory, verify_recording, "c-1", url, job_id="verify-c-1")
    assert queue.job_ids == ["verify-c-1"]


def test_job_queued_while_redis_is_down_runs_once_when_it_is_back(  # type: ignore[no-untyped-def]
        server, conn, sqlite_factory, tmp_path: Path) -> None:
    url, factory = sqlite_factory
    _call_with_recording(factory, tmp_path)
    queue = Queue("default", connection=conn)
    server.kill()

    done = outbox.enqueue(queue, factory, verify_recording, "c-1", url, job_id="verify-c-1")
    assert done == outbox.Outcome("verify-c-1", False)
    [row] = _rows(factory)
    assert (row.func, row.args, row.sent_at) == (
        "controlplane.jobs.recordings.verify_recording", ["c-1", url], None)
    assert "ConnectionError" in row.last_error
    assert outbox.pending(factory) == 1

    # still down: the drain keeps the row and counts the attempt
    assert outbox.drain(factory, lambda name: Queue(name, connection=conn)) == \
        outbox.Drained(0, 0, 1)
    assert _rows(factory)[0].attempts == 1

    server.start()
    assert outbox.drain(factory, lambda name: Queue(name, connection=conn)) == \
        outbox.Drained(1, 0, 0)
    assert outbox.pending(factory) == 0 and _rows(factory)[0].sent_at is not None
    assert queue.job_ids == ["verify-c-1"]
    assert outbox.drain(factory, lambda name: Queue(name, connection=conn)) == outbox.Drained()

    SimpleWorker([queue], connection=conn).work(burst=True)
    job = queue.fetch_job("verify-c-1")
    assert job is not None and job.get_status() == "finished" and job.return_value() == 2.0
    with factory() as s:
        assert s.scalar(select(CallRecord.recording_duration_s)) == 2.0


def test_a_row_queued_but_not_stamped_is_not_queued_again(conn, sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    """The drain died between queuing the job and stamping its row: the marker says so."""
    url, factory = sqlite_factory
    queue = Queue("default", connection=conn)
    spec = outbox.make_spec(verify_recording, ("c-1", url), job_id="verify-c-1")
    outbox.keep(factory, spec)
    outbox.keep(factory, spec)  # kept twice (two failing attempts): one row
    assert len(_rows(factory)) == 1
    assert outbox.push(queue, spec) is True  # …and the process died here
    assert outbox.drain(factory, lambda name: Queue(name, connection=conn)) == \
        outbox.Drained(0, 1, 0)
    assert queue.job_ids == ["verify-c-1"] and outbox.pending(factory) == 0


def test_concurrent_drains_queue_each_job_once(conn, sqlite_factory) -> None:  # type: ignore[no-untyped-def]
    url, factory = sqlite_factory
    for i in range(30):
        outbox.keep(factory, outbox.make_spec(verify_recording, (f"c-{i}", url),
                                              job_id=f"verify-c-{i}"))
    results: list[outbox.Drained] = []

    def run() -> None:
        client = redis.Redis(port=conn.connection_pool.connection_kwargs["port"])
        results.append(outbox.drain(factory, lambda name: Queue(name, connection=client)))
        client.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r.sent for r in results) == 30
    assert sorted(Queue("default", connection=conn).job_ids) == sorted(
        f"verify-c-{i}" for i in range(30))
    assert outbox.pending(factory) == 0


def test_options_and_keyword_arguments_survive_the_outbox(  # type: ignore[no-untyped-def]
        server, conn, sqlite_factory) -> None:
    _, factory = sqlite_factory
    queue = Queue("default", connection=conn)
    server.kill()
    done = outbox.enqueue(queue, factory, check_campaign, 7, skip_uncertain=True,
                          options={"job_timeout": 3600})
    assert not done.queued and done.job_id.startswith("job-")
    server.start()
    outbox.drain(factory, lambda name: Queue(name, connection=conn))
    job = queue.fetch_job(done.job_id)
    assert job is not None
    assert (job.func_name, job.args, job.kwargs, job.timeout) == (
        "controlplane.jobs.hlr.check_campaign", (7,), {"skip_uncertain": True}, 3600)


@pytest.mark.parametrize("bad", [object(), {1: "x"}, float("nan"), b"bytes"])
def test_jobs_take_ids_not_objects(conn, sqlite_factory, bad) -> None:  # type: ignore[no-untyped-def]
    _, factory = sqlite_factory
    with pytest.raises(TypeError, match="verify_recording"):
        outbox.enqueue(Queue("default", connection=conn), factory, verify_recording, bad)
    with pytest.raises(TypeError, match="unknown job options"):
        outbox.enqueue(Queue("default", connection=conn), factory, verify_recording, "c",
                       options={"retry": 3})
    with pytest.raises(TypeError, match="top-level"):
        outbox.enqueue(Queue("default", connection=conn), factory, lambda: None)
