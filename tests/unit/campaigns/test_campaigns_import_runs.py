"""Contact imports as jobs, on both engines: every batch its own transaction, progress in
the table, rejected rows kept and downloadable, a failed batch keeps the ones before it
and a second run resumes after them, a locked database is waited out, one run per import,
and the RQ job run by a real worker on a real Redis."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
import redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import import_runs, store
from controlplane.campaigns.csv_import import RowError
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs import imports as import_jobs
from controlplane.models import CampaignRecord, Contact
from controlplane.models.base import utcnow
from controlplane.models.imports import ContactImport, ContactImportFile

# batch_rows=2: lines 2-3, 4-5, 6-7, 8-9, 10
FILE = (
    "phone,first_name\n"  # 1
    "600100200,Ewa\n"  # 2 new
    "600100300,Stored\n"  # 3 updates the stored contact (600100300 + 600100301)
    "600100201,Jan\n"  # 4 new
    "bad,Bad\n"  # 5 rejected
    "600100202,Boom\n"  # 6 the test trigger refuses this one: batch 3 fails
    "600100203,Ola\n"  # 7
    "600100200,Dup\n"  # 8 duplicate of line 2 (a batch committed by the first run)
    "600100301,Again\n"  # 9 the stored contact line 3 updated
    "600100204,Last\n"  # 10
)
REJECTED = [
    RowError(5, "phone", "invalid phone: 'bad': not a phone number (no digits to read)"),
    RowError(8, "phone", "duplicate: +48600100200 is on line 2"),
    RowError(9, "phone", "same contact as line 3 (its numbers are stored on it)"),
]


def _new(factory: sessionmaker[Session], world, data: bytes = FILE.encode()) -> int:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        return import_runs.create(s, world.a, world.campaign, "contacts.csv", data).id


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _trigger(factory: sessionmaker[Session], on: bool) -> None:
    """A real database error on the row named Boom (no mock in the import's path)."""
    with transaction(factory) as s:
        if s.get_bind().dialect.name == "sqlite":
            s.execute(text(
                "CREATE TRIGGER boom BEFORE INSERT ON contact WHEN NEW.first_name = 'Boom' "
                "BEGIN SELECT RAISE(ABORT, 'boom: refused by the test'); END"
                if on else "DROP TRIGGER boom"))
        elif on:
            s.execute(text(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.first_name = 'Boom' "
                "THEN RAISE EXCEPTION 'boom: refused by the test'; END IF; RETURN NEW; END $$ "
                "LANGUAGE plpgsql"))
            s.execute(text("CREATE TRIGGER boom BEFORE INSERT ON contact FOR EACH ROW "
                           "EXECUTE FUNCTION boom()"))
        else:
            s.execute(text("DROP TRIGGER boom ON contact"))


def test_a_failed_batch_keeps_the_batches_before_it_and_a_rerun_resumes(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        store.add_contact(s, world.a, ["600100300", "600100301"], "PL")
    import_id = _new(factory, world)
    _trigger(factory, on=True)
    seen: list[tuple[str, int, int, int]] = []
    failed = import_runs.run(
        factory, import_id, batch_rows=2,
        on_batch=lambda p: seen.append((p.state, p.rows_read, p.imported, p.rejected)),
    )
    assert seen == [("running", 2, 2, 0), ("running", 4, 3, 1)]
    assert (failed.state, failed.rows_read, failed.imported, failed.rejected) == ("failed", 4, 3, 1)
    assert "boom: refused by the test" in failed.error
    # batches 1 and 2 stay: Ewa, Jan and the stored contact are in the campaign
    assert (_count(factory, Contact), _count(factory, CampaignRecord)) == (3, 3)
    with factory() as s:
        assert import_runs.rejected_rows(s, world.a, import_id) == REJECTED[:1]
        assert s.get(ContactImportFile, import_id) is not None  # kept for the rerun

    _trigger(factory, on=False)
    done = import_runs.run(factory, import_id, batch_rows=2)
    assert (done.state, done.rows_read, done.imported, done.updated, done.rejected, done.error) == (
        "done", 9, 6, 0, 3, "")
    assert (_count(factory, Contact), _count(factory, CampaignRecord)) == (6, 6)
    with factory() as s:
        # the rows after the resume were checked against the rows before it
        assert import_runs.rejected_rows(s, world.a, import_id) == REJECTED
        assert s.get(ContactImportFile, import_id) is None  # done: the upload is dropped
    again = import_runs.run(factory, import_id)  # a finished import: nothing happens
    assert again == done


def test_progress_and_the_rejected_rows_as_csv(factory, world) -> None:  # type: ignore[no-untyped-def]
    data = (
        "phone,=1+1\n"
        f"600100200,{'x' * 1001}\n"
        "600100201,fine\n"
        "+1 202 555,\n"
        '600100202,"a, ""quoted"" value"\n'
    ).encode()
    import_id = _new(factory, world, data)
    with factory() as s:
        queued = import_runs.progress(s, world.a, import_id)
    assert (queued.state, queued.rows_read, queued.size_bytes) == ("queued", 0, len(data))
    done = import_runs.run(factory, import_id, batch_rows=3)
    assert (done.state, done.rows_read, done.imported, done.updated, done.rejected) == (
        "done", 4, 2, 0, 2)
    assert done.started_at is not None and done.finished_at is not None
    with factory() as s:
        rows = import_runs.rejected_rows(s, world.a, import_id)
        with pytest.raises(import_runs.NotFound):
            import_runs.progress(s, world.b, import_id)  # another tenant sees nothing
    assert import_runs.rejected_csv(rows).splitlines() == [
        "line,column,reason",
        "2,'=1+1,longer than 1000 characters",  # a formula in a spreadsheet: made inert
        "4,phone,invalid phone: '+1 202 555': too short for +1",
    ]


def test_a_header_the_import_cannot_use_fails_it_with_the_reasons(factory, world) -> None:  # type: ignore[no-untyped-def]
    import_id = _new(factory, world, b"name,email\nEwa,e@x\n")
    failed = import_runs.run(factory, import_id)
    assert (failed.state, failed.error, failed.rejected) == (
        "failed", "the header row is unusable", 1)
    with factory() as s:
        assert import_runs.rejected_rows(s, world.a, import_id) == [
            RowError(1, "", "no phone column (name one 'phone')")]
    not_utf8 = _new(factory, world, b"phone\n\xff\n")
    assert import_runs.run(factory, not_utf8).error.startswith("line 2: not UTF-8 text")


def test_one_run_per_import(factory, world) -> None:  # type: ignore[no-untyped-def]
    import_id = _new(factory, world)
    with transaction(factory) as s:  # a live run elsewhere: its heartbeat is fresh
        s.execute(update(ContactImport).where(ContactImport.id == import_id)
                  .values(state="running", heartbeat_at=utcnow()))
    assert import_runs.run(factory, import_id).state == "running"
    assert _count(factory, Contact) == 0
    with transaction(factory) as s:  # its worker died long ago: taken over
        s.execute(update(ContactImport).where(ContactImport.id == import_id)
                  .values(heartbeat_at=utcnow() - timedelta(minutes=10)))
    assert import_runs.run(factory, import_id).state == "done"


def test_a_batch_waits_out_a_locked_database(db_url: str, factory, world) -> None:  # type: ignore[no-untyped-def]
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's single writer lock")
    import_id = _new(factory, world)
    impatient = make_engine(db_url, busy_timeout_ms=50)
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            holder.execute("ROLLBACK")  # ... and lets go while the import backs off

    try:
        done = import_runs.run(make_sessionmaker(impatient), import_id, sleep=sleep)
    finally:
        holder.close()
        impatient.dispose()
    assert waits == [0.1, 0.2, 0.4]  # locked three times, then in
    assert (done.state, done.imported) == ("done", 7)


def test_the_job_on_a_real_worker(  # type: ignore[no-untyped-def]
    db_url: str, factory, world, redis_port: int, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("CENTRALA_DATABASE_URL", db_url)
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(tmp_path))
    connection = redis.Redis(port=redis_port)
    connection.flushall()
    jobs = Queue("default", connection=connection)
    import_id = _new(factory, world)
    outcome = import_jobs.enqueue(factory, jobs, import_id)
    assert outcome.queued and outcome.job_id == f"contact-import-{import_id}"
    with factory() as s:
        assert s.get(ContactImport, import_id).job_id == outcome.job_id  # type: ignore[union-attr]
    SimpleWorker([jobs], connection=connection).work(burst=True)
    with factory() as s:
        done = import_runs.progress(s, world.a, import_id)
    assert (done.state, done.imported, done.rejected) == ("done", 7, 2)
    assert jobs.fetch_job(outcome.job_id).return_value()["state"] == "done"  # type: ignore[union-attr]
    connection.close()


def test_the_upload_name_is_kept_printable(factory, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:  # PostgreSQL refuses NUL in text: never let one through
        made = import_runs.create(s, world.a, world.campaign, "a\x00b\r\n.csv", b"phone\n")
    assert made.filename == "ab.csv"
