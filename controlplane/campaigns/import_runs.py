"""Contact imports as rows of ``contact_import``: create one (the file kept with it), run
it batch by batch, read its progress and its rejected rows.

Theory of operation: :func:`create` stores the upload and a ``queued`` row. :func:`run`
(the RQ job :func:`controlplane.jobs.imports.run_import`, or ``centrala campaign import
--sync``) claims the row with a conditional UPDATE (so two workers never run one import),
then commits every batch in its own transaction together with its rejected rows and the
new counts; other writers wait at most one batch for the database. A batch that finds
the database locked is retried with backoff; one that fails otherwise marks the import
``failed`` with the reason, and the batches before it stay. Running a ``failed`` (or
abandoned ``running``) import again resumes after its last committed batch: the rows
before are re-read, not re-written, to rebuild what later rows are checked against.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Table, delete, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import bulk_contacts, csv_import, csv_rows
from controlplane.campaigns.exceptions import NotFound
from controlplane.db import retry_locked, transaction
from controlplane.models.base import utcnow
from controlplane.models.campaigns import Campaign
from controlplane.models.imports import ContactImport, ContactImportFile, ContactImportRejection

log = logging.getLogger(__name__)
T = TypeVar("T")

STALE_AFTER = timedelta(minutes=5)  # a running import silent this long lost its worker
LOCKED_ATTEMPTS = 6  # per batch, while the database is locked (backoff up to ~3 s)
_REJECTION: Table = ContactImportRejection.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Progress:
    """An import as the panel, the API and the CLI show it."""

    id: int
    campaign_id: int
    filename: str
    size_bytes: int
    state: str
    rows_read: int
    imported: int
    updated: int
    rejected: int
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def to_json(self) -> dict[str, Any]:
        def at(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "id": self.id,
            "campaign_id": self.campaign_id,
            "filename": self.filename,
            "size_bytes": self.size_bytes,
            "state": self.state,
            "rows_read": self.rows_read,
            "imported": self.imported,
            "updated": self.updated,
            "rejected": self.rejected,
            "error": self.error,
            "created_at": at(self.created_at),
            "started_at": at(self.started_at),
            "finished_at": at(self.finished_at),
        }

    def __str__(self) -> str:
        text = (
            f"import #{self.id} {self.state}: {self.rows_read} rows read, {self.imported} "
            f"imported, {self.updated} updated, {self.rejected} rejected"
        )
        return text + (f" ({self.error})" if self.error else "")


def _progress(row: ContactImport) -> Progress:
    return Progress(
        row.id,
        row.campaign_id,
        row.filename,
        row.size_bytes,
        row.state,
        row.rows_read,
        row.imported,
        row.updated,
        row.rejected,
        row.error,
        row.created_at,
        row.started_at,
        row.finished_at,
    )


def create(
    session: Session,
    tenant_id: int,
    campaign_id: int,
    filename: str,
    data: bytes,
    *,
    created_by: int | None = None,
) -> Progress:
    """A ``queued`` import of ``data`` into the tenant's campaign (:class:`NotFound` for
    another tenant's; :class:`~controlplane.campaigns.csv_rows.FileRejected` for a file
    over the size limit). The caller commits, then queues the job."""
    csv_rows.check_size(len(data))
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant_id != tenant_id:
        raise NotFound(f"no campaign #{campaign_id}")
    row = ContactImport(
        tenant_id=tenant_id,
        campaign_id=campaign_id,
        created_by=created_by,
        filename="".join(ch for ch in filename if ch.isprintable())[-200:],  # no NUL, no CR
        size_bytes=len(data),
    )
    session.add(row)
    session.flush()
    session.add(ContactImportFile(import_id=row.id, content=data))
    session.flush()
    return _progress(row)


def _mine(session: Session, tenant_id: int | None, import_id: int) -> ContactImport:
    row = session.get(ContactImport, import_id)
    if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
        raise NotFound(f"no import #{import_id}")
    return row


def progress(session: Session, tenant_id: int | None, import_id: int) -> Progress:
    """The import's progress (``tenant_id`` None: any tenant's); :class:`NotFound`."""
    return _progress(_mine(session, tenant_id, import_id))


def rejected_rows(
    session: Session, tenant_id: int | None, import_id: int
) -> list[csv_rows.RowError]:
    """Every rejected row of the import, in file order."""
    _mine(session, tenant_id, import_id)
    rows = session.execute(
        select(_REJECTION.c.line, _REJECTION.c.column, _REJECTION.c.reason)
        .where(_REJECTION.c.import_id == import_id)
        .order_by(_REJECTION.c.line, _REJECTION.c.id)
    )
    return [csv_rows.RowError(line, column, reason) for line, column, reason in rows]


def rejected_csv(errors: list[csv_rows.RowError]) -> str:
    """``line,column,reason`` as CSV. A cell that a spreadsheet would run as a formula
    (the column and reason quote the uploaded file) is prefixed with an apostrophe."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["line", "column", "reason"])
    for e in errors:
        writer.writerow([e.line, _inert(e.column), _inert(e.reason)])
    return out.getvalue()


def _inert(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ---- running ----------------------------------------------------------------------------


def run(
    factory: sessionmaker[Session],
    import_id: int,
    *,
    batch_rows: int = csv_rows.BATCH_ROWS,
    on_batch: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Progress:
    """Run (or resume) the import; its final progress. Another worker's live run, or a
    finished import, is left alone (its progress is returned)."""

    def locked(what: str, fn: Callable[[], T]) -> T:
        return retry_locked(
            fn, attempts=LOCKED_ATTEMPTS, sleep=sleep, what=f"import #{import_id}: {what}"
        )

    def finish(state: str, error: str) -> Progress:
        return locked("finish", partial(_finish, factory, import_id, state, error))

    if not locked("claim", lambda: _claim(factory, import_id)):
        with factory() as s:
            return progress(s, None, import_id)
    try:
        with factory() as s:
            row = _mine(s, None, import_id)
            campaign_id, start = row.campaign_id, row.next_line
            data = s.scalar(
                select(ContactImportFile.content).where(ContactImportFile.import_id == import_id)
            )
            if data is None:
                raise csv_rows.FileRejected("the uploaded file is gone")
            text = csv_rows.decode(data)
            del data
            cols, records, errors = csv_rows.open_csv(text)
            if cols is None:
                locked("header", lambda: _reject_header(factory, import_id, errors))
                return finish("failed", "the header row is unusable")
            state = csv_import.ImportState()
            if start:
                state, records = _resume(s, import_id, campaign_id, cols, records, start)
        for batch in csv_rows.batches(records, batch_rows):
            outcome = locked(
                f"batch from line {batch[0][0]}",
                partial(_batch, factory, import_id, campaign_id, cols, batch, state),
            )
            state.absorb(outcome)
            if on_batch is not None:
                with factory() as s:
                    on_batch(progress(s, None, import_id))
    except csv_rows.FileRejected as err:
        return finish("failed", str(err))
    except Exception as err:
        log.exception("import #%s failed", import_id)
        return finish("failed", f"{type(err).__name__}: {err}")
    return finish("done", "")


def _claim(factory: sessionmaker[Session], import_id: int) -> bool:
    now = utcnow()
    with transaction(factory) as s:
        claimed = s.execute(
            update(ContactImport)
            .where(
                ContactImport.id == import_id,
                or_(
                    ContactImport.state.in_(("queued", "failed")),
                    (ContactImport.state == "running")
                    & (ContactImport.heartbeat_at < now - STALE_AFTER),
                ),
            )
            .values(state="running", error="", heartbeat_at=now, finished_at=None)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        s.execute(
            update(ContactImport)
            .where(ContactImport.id == import_id, ContactImport.started_at.is_(None))
            .values(started_at=now)
        )
    return True


def _batch(
    factory: sessionmaker[Session],
    import_id: int,
    campaign_id: int,
    cols: csv_rows.Columns,
    batch: list[csv_rows.Record],
    state: csv_import.ImportState,
) -> csv_import.BatchOutcome:
    """One batch, its rejected rows and the new counts in one transaction."""
    with transaction(factory) as s:
        campaign = s.get(Campaign, campaign_id)
        if campaign is None:
            raise NotFound(f"campaign #{campaign_id} was deleted")
        outcome = csv_import.apply_batch(s, campaign, cols, batch, state)
        if outcome.rejected:
            s.execute(insert(_REJECTION), [_rejection(import_id, e) for e in outcome.rejected])
        s.execute(
            update(ContactImport)
            .where(ContactImport.id == import_id)
            .values(
                rows_read=state.rows_read + outcome.rows_read,
                imported=state.imported + outcome.imported,
                updated=state.updated + outcome.updated,
                rejected=state.rejected + len(outcome.rejected),
                next_line=outcome.next_line,
                heartbeat_at=utcnow(),
            )
        )
    return outcome


def _rejection(import_id: int, e: csv_rows.RowError) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "line": e.line,
        "column": e.column[:200],
        "reason": e.reason[:500],
    }


def _reject_header(
    factory: sessionmaker[Session], import_id: int, errors: list[csv_rows.RowError]
) -> None:
    with transaction(factory) as s:
        s.execute(delete(_REJECTION).where(_REJECTION.c.import_id == import_id))
        s.execute(insert(_REJECTION), [_rejection(import_id, e) for e in errors])
        s.execute(
            update(ContactImport).where(ContactImport.id == import_id).values(rejected=len(errors))
        )


def _finish(factory: sessionmaker[Session], import_id: int, state: str, error: str) -> Progress:
    with transaction(factory) as s:
        s.execute(
            update(ContactImport)
            .where(ContactImport.id == import_id)
            .values(state=state, error=error[:500], finished_at=utcnow())
        )
        if state == "done":  # a failed import keeps its file, to be run again
            s.execute(delete(ContactImportFile).where(ContactImportFile.import_id == import_id))
        return progress(s, None, import_id)


def _resume(
    session: Session,
    import_id: int,
    campaign_id: int,
    cols: csv_rows.Columns,
    records: Iterator[csv_rows.Record],
    start: int,
) -> tuple[csv_import.ImportState, Iterator[csv_rows.Record]]:
    """The state after the committed batches (lines before ``start``) and the records
    still to import."""
    row = _mine(session, None, import_id)
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"campaign #{campaign_id} was deleted")
    done: list[csv_rows.Record] = []
    rest: csv_rows.Record | None = None
    for record in records:
        if record[0] >= start:
            rest = record
            break
        done.append(record)
    rejected = set(
        session.scalars(select(_REJECTION.c.line).where(_REJECTION.c.import_id == import_id))
    )
    state = csv_import.ImportState(
        rows_read=row.rows_read, imported=row.imported, updated=row.updated, rejected=row.rejected
    )
    for line, e164s in csv_import.replay(campaign, cols, done, rejected):
        for number in e164s:
            state.number_line[number] = line
    # every accepted row's numbers now sit on the contact it created or updated
    owners = bulk_contacts.owners(session, campaign.tenant_id, state.number_line)
    for number, contact in owners.items():
        line = state.number_line[number]
        state.contact_line[contact] = min(line, state.contact_line.get(contact, line))
    return state, chain([rest] if rest else [], records)
