"""Import a CSV file of contacts into a campaign, reporting every bad row.

The header row names the columns (case and spaces do not matter): ``phone`` — and any
further ``phone2``, ``phone_home``, ``phone mobile``… (the first filled one is the number
dialled) — ``first_name``, ``last_name``, ``email``, ``timezone`` (IANA name), ``priority``
(0-100, higher dials sooner); every other column becomes a custom field. The delimiter
(``,``, ``;`` or tab) is the one the header uses most; a UTF-8 byte-order mark is ignored.

A row is rejected, with its line number, column and reason, for: no phone; a phone that
is not a valid number (read in the campaign's default region); an unknown time zone; a
bad priority; a value too long; a phone already given by an earlier row of the file, or
stored on a contact an earlier row already updated; phones stored on two different
contacts (a number repeated within one row is simply kept once). A rejected row changes nothing; every other row is applied in the caller's
transaction. Importing the same file again updates the same contacts and records
(``updated``) instead of adding new ones (``imported``).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from controlplane.campaigns import numbers, store
from controlplane.campaigns.exceptions import CampaignError
from controlplane.models.campaigns import Campaign

FIELDS = ("first_name", "last_name", "email", "timezone", "priority")
MAX_LEN = {"first_name": 100, "last_name": 100, "email": 254, "custom": 1000}
_PHONE = re.compile(r"phone(\d+|_.*)?")


@dataclass(frozen=True, slots=True)
class RowError:
    """Why ``line`` (1 = the header) was rejected: ``column`` as written in the header
    ("" when it is about the whole row) and ``reason``."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """``imported``: rows that added the contact to the campaign; ``updated``: rows whose
    contact was in it already; ``rejected``: every problem, in file order."""

    imported: int
    updated: int
    rejected: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Columns:
    header: list[str]  # as written
    phones: list[int]
    known: dict[str, int]
    custom: list[int]


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _delimiter(first_line: str) -> str:
    return max(",;\t", key=first_line.count)


def _columns(header: list[str]) -> tuple[_Columns | None, list[RowError]]:
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    phones: list[int] = []
    known: dict[str, int] = {}
    custom: list[int] = []
    for i, name in enumerate(header):
        key = _key(name)
        if not key:
            errors.append(RowError(1, f"#{i + 1}", "a column has no name"))
            continue
        if key in seen:
            errors.append(RowError(1, name, f"same column as #{seen[key] + 1}"))
            continue
        seen[key] = i
        if _PHONE.fullmatch(key):
            phones.append(i)
        elif key in FIELDS:
            known[key] = i
        else:
            custom.append(i)
    if not phones:
        errors.append(RowError(1, "", "no phone column (name one 'phone')"))
    return (None if errors else _Columns(header, phones, known, custom)), errors


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    phones: list[tuple[str, numbers.Normalised]]  # (column, number)
    fields: store.ContactFields
    priority: int | None


def _parse(
    line: int, cells: list[str], cols: _Columns, region: str, errors: list[RowError]
) -> _Row | None:
    before = len(errors)
    while len(cells) > len(cols.header) and not cells[-1].strip():
        cells = cells[:-1]  # trailing delimiters, as spreadsheets write them
    if len(cells) > len(cols.header):
        errors.append(RowError(line, "", f"{len(cells)} values for {len(cols.header)} columns"))
        return None
    cells = [c.strip() for c in cells] + [""] * (len(cols.header) - len(cells))
    phones: list[tuple[str, numbers.Normalised]] = []
    for i in cols.phones:
        if cells[i]:
            try:
                phone = numbers.normalise(cells[i], region)
            except CampaignError as err:  # InvalidNumber, or UnknownRegion of the campaign
                errors.append(RowError(line, cols.header[i], f"invalid phone: {err}"))
                continue
            if all(phone.e164 != p.e164 for _, p in phones):  # a number repeated in the row
                phones.append((cols.header[i], phone))
    if not phones and len(errors) == before:
        errors.append(RowError(line, cols.header[cols.phones[0]], "missing phone"))

    def value(name: str) -> str | None:
        i = cols.known.get(name)
        return cells[i] if i is not None and cells[i] else None

    for name in ("first_name", "last_name", "email"):
        text = value(name)
        if text is not None and len(text) > MAX_LEN[name]:
            errors.append(
                RowError(
                    line, cols.header[cols.known[name]], f"longer than {MAX_LEN[name]} characters"
                )
            )
    timezone = value("timezone")
    if timezone is not None:
        try:
            store.check_timezone(timezone)
        except CampaignError as err:
            errors.append(RowError(line, cols.header[cols.known["timezone"]], str(err)))
    priority: int | None = None
    text = value("priority")
    if text is not None:
        if re.fullmatch(r"\d{1,3}", text) and int(text) in store.PRIORITY_RANGE:
            priority = int(text)
        else:
            errors.append(
                RowError(
                    line,
                    cols.header[cols.known["priority"]],
                    f"priority {text!r} is not a whole number 0-100",
                )
            )
    custom = {cols.header[i].strip(): cells[i] for i in cols.custom if cells[i]}
    for name, text in custom.items():
        if len(text) > MAX_LEN["custom"]:
            errors.append(RowError(line, name, f"longer than {MAX_LEN['custom']} characters"))
    if len(errors) > before:
        return None
    fields = store.ContactFields(
        first_name=value("first_name"),
        last_name=value("last_name"),
        email=value("email"),
        timezone=timezone,
        custom=custom,
    )
    return _Row(line, phones, fields, priority)


def _records(text: Iterable[str], delimiter: str) -> Iterable[tuple[int, list[str]]]:
    """(first line number, cells) of every non-blank record; quoted values may span lines."""
    reader = csv.reader(text, delimiter=delimiter)
    last = 0
    for cells in reader:
        start, last = last + 1, reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


def import_csv(session: Session, campaign: Campaign, text: str) -> ImportReport:
    """Import the CSV document ``text`` into ``campaign`` (see the module docstring).

    Only reads and writes through ``session``; the caller commits.
    """
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if not lines or not lines[0].strip():
        return ImportReport(0, 0, [RowError(1, "", "the file is empty (expected a header row)")])
    rows = _records(lines, _delimiter(lines[0]))
    _, header = next(iter(rows))
    cols, errors = _columns(header)
    if cols is None:
        return ImportReport(0, 0, errors)
    region = campaign.default_region
    number_line: dict[str, int] = {}  # number -> line of the accepted row that gave it
    contact_line: dict[int, int] = {}  # contact id -> line of the accepted row that updated it
    imported = updated = 0
    for line, cells in rows:
        row = _parse(line, cells, cols, region, errors)
        if row is None:
            continue
        if _duplicate(row, number_line, errors):
            continue
        try:
            owner = store.find_owner(session, campaign.tenant_id, [p.e164 for _, p in row.phones])
        except CampaignError as err:
            errors.append(RowError(line, row.phones[0][0], str(err)))
            continue
        if owner is not None and owner.id in contact_line:
            errors.append(
                RowError(
                    line,
                    row.phones[0][0],
                    f"same contact as line {contact_line[owner.id]} (its numbers are stored on it)",
                )
            )
            continue
        contact, phones, _ = store.upsert_contact(
            session, campaign.tenant_id, [p for _, p in row.phones], row.fields
        )
        _, created = store.attach(session, campaign, contact, phones[0], row.priority)
        imported += created
        updated += not created
        contact_line[contact.id] = line
        for _, p in row.phones:
            number_line[p.e164] = line
    return ImportReport(imported, updated, errors)


def _duplicate(row: _Row, number_line: dict[str, int], errors: list[RowError]) -> bool:
    found = False
    for column, phone in row.phones:
        if phone.e164 in number_line:
            errors.append(
                RowError(
                    row.line,
                    column,
                    f"duplicate: {phone.e164} is on line {number_line[phone.e164]}",
                )
            )
            found = True
    return found
