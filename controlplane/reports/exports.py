"""A report's table as a file: CSV (commas, or semicolons with decimal commas for Polish
Excel) or XLSX.

Both formats print the columns the page shows, headed by the user's words (handed in: the
job that writes a long report has no request, so the words are chosen when it is queued).
CSV starts with a UTF-8 byte-order mark, without which Excel reads Polish letters as
Windows-1250; values are the raw figures (seconds as whole numbers, percentages as
numbers), ``period`` the interval's local start ``YYYY-MM-DD HH:MM``. XLSX keeps types:
numbers as numbers, durations as Excel durations (``[h]:mm:ss``), periods as dates, so
they sum and sort in a spreadsheet. ``xlsxwriter`` writes in constant memory, row by row.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import IO, Any

import xlsxwriter

from controlplane.reports.tables import Column

BOM = "\ufeff"
MIME = {"csv": "text/csv; charset=utf-8", "csv_semicolon": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
SUFFIX = {"csv": "csv", "csv_semicolon": "csv", "xlsx": "xlsx"}


def _period(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=None)  # local wall clock
    except ValueError:
        return None


def _csv_value(value: Any, kind: str, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if kind == "period":
        moment = _period(value)
        return moment.strftime("%Y-%m-%d %H:%M") if moment else str(value)
    if isinstance(value, float):
        text = f"{value:.1f}" if kind == "pct" else f"{value:g}"
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def write_csv(out: IO[str], columns: Sequence[Column], rows: Sequence[Mapping[str, Any]],
              headers: Mapping[str, str], *, semicolon: bool = False) -> int:
    """Write the table to ``out`` (text, opened with ``newline=""``); returns the rows."""
    w = csv.writer(out, delimiter=";" if semicolon else ",")
    out.write(BOM)
    w.writerow([headers.get(c.key, c.key) for c in columns])
    for r in rows:
        w.writerow([_csv_value(r.get(c.key), c.kind, semicolon) for c in columns])
    return len(rows)


def write_xlsx(target: str | IO[bytes], title: str, columns: Sequence[Column],
               rows: Sequence[Mapping[str, Any]], headers: Mapping[str, str]) -> int:
    """Write the table as one sheet named after ``title`` into ``target`` (a path or a
    binary file); returns the rows."""
    book = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False})
    try:
        sheet = book.add_worksheet(_sheet_name(title))
        bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
        formats = {"seconds": book.add_format({"num_format": "[h]:mm:ss"}),
                   "pct": book.add_format({"num_format": "0.0"}),
                   "number": book.add_format({"num_format": "0.0#"}),
                   "period": book.add_format({"num_format": "yyyy-mm-dd hh:mm"})}
        for j, c in enumerate(columns):
            sheet.write_string(0, j, headers.get(c.key, c.key), bold)
            sheet.set_column(j, j, 18 if c.kind in ("text", "period") else 12)
        sheet.freeze_panes(1, 0)
        for i, r in enumerate(rows, start=1):
            for j, c in enumerate(columns):
                value = r.get(c.key)
                if value is None:
                    continue
                if c.kind == "period" and (moment := _period(value)) is not None:
                    sheet.write_datetime(i, j, moment, formats["period"])
                elif c.kind == "seconds" and isinstance(value, int | float):
                    sheet.write_number(i, j, value / 86400.0, formats["seconds"])
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    sheet.write_string(i, j, str(value))
                else:
                    sheet.write_number(i, j, value, formats.get(c.kind))
    finally:
        book.close()
    return len(rows)


def _sheet_name(title: str) -> str:
    """Excel's rules: at most 31 characters, none of ``[]:*?/\\``."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip()
    return (clean or "Report")[:31]


def to_bytes(fmt: str, title: str, columns: Sequence[Column],
             rows: Sequence[Mapping[str, Any]], headers: Mapping[str, str]) -> bytes:
    """The whole file in memory (a report built during a request: bounded rows)."""
    if fmt == "xlsx":
        buf = io.BytesIO()
        write_xlsx(buf, title, columns, rows, headers)
        return buf.getvalue()
    text = io.StringIO(newline="")
    write_csv(text, columns, rows, headers, semicolon=fmt == "csv_semicolon")
    return text.getvalue().encode("utf-8")
