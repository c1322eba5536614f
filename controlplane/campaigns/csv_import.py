"""Import a CSV file of contacts into a campaign, batch by batch, reporting every bad row.

The header row names the columns (case and spaces do not matter): ``phone`` — and any
further ``phone2``, ``phone_home``, ``phone mobile``… (the first filled one is the number
dialled) — ``first_name``, ``last_name``, ``email``, ``timezone`` (IANA name), ``priority``
(0-100, higher dials sooner); every other column becomes a custom field. The delimiter
(``,``, ``;`` or tab) is the one the header uses most; a UTF-8 byte-order mark is ignored.

A row is rejected, with its line number, column and reason, for: no phone; a phone that
is not a valid number (read in the campaign's default region); an unknown time zone; a
bad priority; a value too long; a field over ``MAX_FIELD_BYTES``; a phone already given
by an earlier row of the file, or stored on a contact an earlier row already updated;
phones stored on two different contacts (a number repeated within one row is simply kept
once). A rejected row changes nothing. Importing the same file again updates the same
contacts and records (``updated``) instead of adding new ones (``imported``). A file over
``MAX_FILE_BYTES`` or ``MAX_LINES`` is refused whole (:class:`FileRejected`).

Theory of operation: rows go in batches (:func:`apply_batch`). A batch is parsed, then
its numbers are looked up in one query, then every row is decided in file order against
what earlier rows accepted (:class:`ImportState`), then the accepted rows are written in
bulk (:mod:`controlplane.campaigns.bulk_contacts`). :func:`apply_batch` returns what the
batch would add to the state instead of changing it, so the caller absorbs it only once
the batch's transaction has committed: a batch that fails (or is retried because the
database was locked) leaves the state as the last committed batch left it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from controlplane.campaigns import bulk_contacts, store
from controlplane.campaigns.csv_rows import (
    BATCH_ROWS,
    MAX_FIELD_BYTES,
    MAX_FILE_BYTES,
    MAX_LINES,
    Columns,
    FileRejected,
    Record,
    Row,
    RowError,
    batches,
    check_size,
    decode,
    open_csv,
    parse,
)
from controlplane.models.campaigns import Campaign

__all__ = [  # the parsing names are csv_rows', re-exported: callers need one module
    "BATCH_ROWS", "MAX_FIELD_BYTES", "MAX_FILE_BYTES", "MAX_LINES", "BatchOutcome", "Columns",
    "FileRejected", "ImportReport", "ImportState", "Record", "Row", "RowError", "apply_batch",
    "batches", "check_size", "decode", "import_csv", "open_csv", "parse", "replay",
]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """``imported``: rows that added the contact to the campaign; ``updated``: rows whose
    contact was in it already; ``rejected``: every problem, in file order."""

    imported: int
    updated: int
    rejected: list[RowError] = field(default_factory=list)


@dataclass(slots=True)
class ImportState:
    """What later batches must know of earlier ones: the line of the accepted row that
    gave each number, and of the one that updated each stored contact; running counts."""

    number_line: dict[str, int] = field(default_factory=dict)
    contact_line: dict[int, int] = field(default_factory=dict)
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    rejected: int = 0

    def absorb(self, outcome: BatchOutcome) -> None:
        """Take in a batch whose transaction has committed."""
        self.number_line.update(outcome.numbers)
        self.contact_line.update(outcome.contacts)
        self.rows_read += outcome.rows_read
        self.imported += outcome.imported
        self.updated += outcome.updated
        self.rejected += len(outcome.rejected)


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one batch did (written through the session, not yet committed)."""

    rows_read: int
    imported: int
    updated: int
    rejected: list[RowError]
    numbers: dict[str, int]  # number -> line, of the rows accepted
    contacts: dict[int, int]  # stored contact -> line of the row that updated it
    next_line: int  # the first line after the batch


def apply_batch(
    session: Session, campaign: Campaign, cols: Columns, batch: list[Record], state: ImportState
) -> BatchOutcome:
    """Decide and write one batch of records (see the module docstring); does not commit
    and does not change ``state``."""
    errors: dict[int, list[RowError]] = {}
    parsed: list[tuple[int, Row | None]] = []
    for line, cells in batch:
        found: list[RowError] = []
        parsed.append((line, parse(line, cells, cols, campaign.default_region, found)))
        if found:
            errors[line] = found
    wanted = {p.e164 for _, row in parsed if row is not None for _, p in row.phones}
    owners = bulk_contacts.owners(session, campaign.tenant_id, wanted)
    number_line: dict[str, int] = {}
    contact_line: dict[int, int] = {}
    rejected: list[RowError] = []
    accepted: list[bulk_contacts.Accepted] = []
    for line, row in parsed:
        if row is None:
            rejected.extend(errors[line])
            continue
        problem = _decide(row, owners, state, number_line, contact_line)
        if problem:
            rejected.extend(problem)
            continue
        owner = next((owners[p.e164] for _, p in row.phones if p.e164 in owners), None)
        if owner is not None:
            contact_line[owner] = line
        for _, p in row.phones:
            number_line[p.e164] = line
        accepted.append(
            bulk_contacts.Accepted(owner, [p for _, p in row.phones], row.fields, row.priority)
        )
    created = bulk_contacts.write(session, campaign, accepted)
    return BatchOutcome(
        rows_read=len(batch),
        imported=sum(created),
        updated=len(created) - sum(created),
        rejected=rejected,
        numbers=number_line,
        contacts=contact_line,
        next_line=batch[-1][0] + 1 if batch else 0,
    )


def _decide(
    row: Row,
    owners: dict[str, int],
    state: ImportState,
    number_line: dict[str, int],
    contact_line: dict[int, int],
) -> list[RowError]:
    """Why ``row`` cannot be applied after the rows accepted before it ([] if it can).

    ``owners`` is the database as it was before the batch: a number an earlier row of the
    file added is in ``state``/``number_line`` and rejected as a duplicate first."""
    problems = []
    for column, phone in row.phones:
        earlier = number_line.get(phone.e164) or state.number_line.get(phone.e164)
        if earlier is not None:
            problems.append(
                RowError(row.line, column, f"duplicate: {phone.e164} is on line {earlier}")
            )
    if problems:
        return problems
    column = row.phones[0][0]
    held = sorted((p.e164, owners[p.e164]) for _, p in row.phones if p.e164 in owners)
    if len({contact for _, contact in held}) > 1:
        return [RowError(row.line, column, str(store.held_by_two(held)))]
    if held:
        owner = held[0][1]
        earlier = contact_line.get(owner) or state.contact_line.get(owner)
        if earlier is not None:
            return [
                RowError(
                    row.line,
                    column,
                    f"same contact as line {earlier} (its numbers are stored on it)",
                )
            ]
    return []


def import_csv(
    session: Session, campaign: Campaign, text: str, *, batch_rows: int = BATCH_ROWS
) -> ImportReport:
    """Import the CSV document ``text`` into ``campaign`` in the caller's transaction
    (the same batched code as the import job, without its commits).

    Only reads and writes through ``session``; the caller commits.
    """
    cols, records, errors = open_csv(text)
    if cols is None:
        return ImportReport(0, 0, errors)
    state = ImportState()
    for batch in batches(records, batch_rows):
        outcome = apply_batch(session, campaign, cols, batch, state)
        state.absorb(outcome)
        errors.extend(outcome.rejected)
    return ImportReport(state.imported, state.updated, errors)


def replay(
    campaign: Campaign, cols: Columns, records: Iterable[Record], rejected_lines: set[int]
) -> Iterator[tuple[int, list[str]]]:
    """(line, numbers) of the rows an earlier run accepted: every parsed row whose line
    is not among ``rejected_lines`` (a resumed import rebuilds its state from these)."""
    for line, cells in records:
        if line in rejected_lines:
            continue
        row = parse(line, cells, cols, campaign.default_region, [])
        if row is not None:
            yield line, [p.e164 for _, p in row.phones]
