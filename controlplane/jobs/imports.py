"""RQ job: a contact import (:mod:`controlplane.campaigns.import_runs`), one job per import.

Take ids, not objects (STYLE.md §7): the file waits in the database, the job gets the
import's id. Safe to retry: a second run of a finished import does nothing, and a run of
a failed or abandoned one resumes after its last committed batch.

Who queues: the CLI through the outbox (:func:`controlplane.jobs.outbox.enqueue`: on RQ at
once, or kept in the database while Redis is down). The panel only writes the job into
the outbox (:func:`keep`): its Redis user may not touch RQ's keys, so a compromised panel
cannot run jobs; the control plane's outbox drain queues it within seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from rq import Queue
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import import_runs
from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs import outbox
from controlplane.models.imports import ContactImport

log = logging.getLogger(__name__)

JOB_TIMEOUT_S = 3600


def job_id(import_id: int) -> str:
    """The RQ job id of an import (one job per import, whoever queues it)."""
    return f"contact-import-{import_id}"


def run_import(import_id: int, *, database_url: str | None = None) -> dict[str, Any]:
    """The job: run the import (see :func:`controlplane.campaigns.import_runs.run`);
    returns its final progress."""
    engine = make_engine(database_url or load_settings().database_url)
    try:
        done = import_runs.run(make_sessionmaker(engine), import_id)
    finally:
        engine.dispose()
    log.info("%s", done)
    return done.to_json()


def _spec(import_id: int) -> outbox.JobSpec:
    return outbox.make_spec(
        run_import, (import_id,), job_id=job_id(import_id),
        options={"job_timeout": JOB_TIMEOUT_S},
    )


def _note(factory: sessionmaker[Session], import_id: int) -> None:
    with transaction(factory) as s:
        s.execute(
            update(ContactImport).where(ContactImport.id == import_id)
            .values(job_id=job_id(import_id))
        )


def enqueue(factory: sessionmaker[Session], queue: Queue, import_id: int) -> outbox.Outcome:
    """Queue the import's job now (or keep it in the outbox while Redis is down)."""
    _note(factory, import_id)
    return outbox.enqueue(
        queue, factory, run_import, import_id, job_id=job_id(import_id),
        options={"job_timeout": JOB_TIMEOUT_S},
    )


def keep(factory: sessionmaker[Session], import_id: int) -> None:
    """Leave the import's job in the outbox for the control plane to queue (the panel)."""
    _note(factory, import_id)
    outbox.keep(factory, _spec(import_id))
