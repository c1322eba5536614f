"""Reading a contacts CSV: limits, header columns, and each row parsed or rejected with
its line, column and reason (the rules are in :mod:`controlplane.campaigns.csv_import`).

Limits: a file over ``MAX_FILE_BYTES`` or ``MAX_LINES`` is refused whole
(:class:`FileRejected`); a field over ``MAX_FIELD_BYTES`` makes its row rejected ("field
too long (N bytes, max M)"), never a traceback from the csv module.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from controlplane.campaigns import numbers
from controlplane.campaigns.exceptions import CampaignError
from controlplane.campaigns.exceptions import FileRejected as FileRejected
from controlplane.campaigns.fields import PRIORITY_RANGE, ContactFields, check_timezone

FIELDS = ("first_name", "last_name", "email", "timezone", "priority")
MAX_LEN = {"first_name": 100, "last_name": 100, "email": 254, "custom": 1000}
MAX_FIELD_BYTES = 16 * 1024  # any one value; longer is a rejected row, not a traceback
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_LINES = 1_000_000
BATCH_ROWS = 1000  # rows per transaction: its writes hold SQLite for ~0.1 s (bench/csv_import.py)
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
class Columns:
    header: list[str]  # as written
    phones: list[int]
    known: dict[str, int]
    custom: list[int]


Record = tuple[int, list[str]]  # (first line number, cells)


def check_size(size: int) -> None:
    """:class:`FileRejected` when a file of ``size`` bytes is over the limit."""
    if size > MAX_FILE_BYTES:
        raise FileRejected(
            f"the file is {size} bytes, more than the {MAX_FILE_BYTES} allowed "
            f"({MAX_FILE_BYTES // 2**20} MiB): split it"
        )


def decode(data: bytes) -> str:
    """The file's text (UTF-8, a byte-order mark dropped); :class:`FileRejected` if not."""
    check_size(len(data))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise FileRejected(
            f"line {line}: not UTF-8 text (byte {err.start}); save the file as UTF-8 CSV"
        ) from err


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _delimiter(first_line: str) -> str:
    return max(",;\t", key=first_line.count)


def _columns(header: list[str]) -> tuple[Columns | None, list[RowError]]:
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    phones: list[int] = []
    known: dict[str, int] = {}
    custom: list[int] = []
    for i, name in enumerate(header):
        if _too_long(name):
            errors.append(RowError(1, f"#{i + 1}", _too_long_reason(name)))
            continue
        if "\x00" in name:
            errors.append(RowError(1, f"#{i + 1}", "contains a NUL character"))
            continue
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
    return (None if errors else Columns(header, phones, known, custom)), errors


def _too_long(text: str) -> bool:
    # a character is at most 4 bytes: only long values pay for the encode
    return len(text) * 4 > MAX_FIELD_BYTES and len(text.encode()) > MAX_FIELD_BYTES


def _too_long_reason(text: str) -> str:
    return f"field too long ({len(text.encode())} bytes, max {MAX_FIELD_BYTES})"


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    phones: list[tuple[str, numbers.Normalised]]  # (column, number)
    fields: ContactFields
    priority: int | None


def parse(
    line: int, cells: list[str], cols: Columns, region: str, errors: list[RowError]
) -> Row | None:
    before = len(errors)
    while len(cells) > len(cols.header) and not cells[-1].strip():
        cells = cells[:-1]  # trailing delimiters, as spreadsheets write them
    for i, cell in enumerate(cells):
        name = cols.header[i] if i < len(cols.header) else f"#{i + 1}"
        if _too_long(cell):
            errors.append(RowError(line, name, _too_long_reason(cell)))
        elif "\x00" in cell:  # PostgreSQL refuses it in text; nobody means it
            errors.append(RowError(line, name, "contains a NUL character"))
    if len(errors) > before:
        return None
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
            check_timezone(timezone)
        except CampaignError as err:
            errors.append(RowError(line, cols.header[cols.known["timezone"]], str(err)))
    priority: int | None = None
    text = value("priority")
    if text is not None:
        if re.fullmatch(r"\d{1,3}", text) and int(text) in PRIORITY_RANGE:
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
    fields = ContactFields(
        first_name=value("first_name"),
        last_name=value("last_name"),
        email=value("email"),
        timezone=timezone,
        custom=custom,
    )
    return Row(line, phones, fields, priority)


def _records(text: Iterable[str], delimiter: str) -> Iterator[Record]:
    """(first line number, cells) of every non-blank record; quoted values may span lines."""
    reader = csv.reader(text, delimiter=delimiter)
    last = 0
    for cells in reader:
        start, last = last + 1, reader.line_num
        if any(c.strip() for c in cells):
            yield start, cells


def open_csv(text: str) -> tuple[Columns | None, Iterator[Record], list[RowError]]:
    """The header's columns (None when the header is unusable), the data records and the
    header's problems. :class:`FileRejected` for a file over ``MAX_LINES`` lines."""
    # The csv module's own per-field limit (process-wide, 128 KiB by default) would raise
    # mid-file with no line or column; the file is bounded, so lift it to the file's bound
    # and let _parse reject long fields with a proper reason.
    csv.field_size_limit(MAX_FILE_BYTES)
    text = text.removeprefix("\ufeff")
    lines = text.splitlines(keepends=True)
    if len(lines) > MAX_LINES:
        raise FileRejected(f"the file has {len(lines)} lines, more than the {MAX_LINES} allowed")
    if not lines or not lines[0].strip():
        empty = RowError(1, "", "the file is empty (expected a header row)")
        return None, iter(()), [empty]
    rows = _records(lines, _delimiter(lines[0]))
    _, header = next(rows)
    cols, errors = _columns(header)
    return cols, rows, errors


def batches(records: Iterable[Record], size: int = BATCH_ROWS) -> Iterator[list[Record]]:
    """``records`` in lists of ``size``."""
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
