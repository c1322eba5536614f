"""RQ job: a long report (a range longer than a request may read) written to a file, with
its progress in ``report_export``.

The panel writes the export row: the report, its filters as they were validated, the file
format and the headers in the user's language (:mod:`controlplane.reports.http.labels`),
and leaves this job in the outbox (the control plane queues it, as for the recordings ZIP).
:func:`build_report` cuts the range into spans of whole intervals of about a week
(:func:`controlplane.reports.periods.chunks`), builds each with the same service the page
uses (uncapped), commits ``done`` of ``total`` spans after each for the page's progress
bar, then writes ``<runtime>/exports/report-<id>.<csv|xlsx>`` under a temporary name and
renames it (:mod:`controlplane.jobs.file_exports`, shared with the ZIP). Past
``expires_at`` the download is refused and a later export removes the file. Idempotent: a
finished export is not rebuilt.

A span reads only its own rows, so a call that waits or talks across a span's edge counts
as it does across any interval's edge (``controlplane.reports.calls``).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from controlplane.config import load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs import file_exports
from controlplane.models.reports import ReportExport
from controlplane.reports import exports, service
from controlplane.reports.filters import Filters
from controlplane.reports.periods import Interval, chunks
from controlplane.reports.tables import Column

log = logging.getLogger(__name__)

KEEP_S = file_exports.KEEP_S
JOB_TIMEOUT_S = 3600


def file_path(runtime_dir: Path, export_id: int, file_format: str) -> Path:
    suffix = exports.SUFFIX[file_format]
    return file_exports.exports_dir(runtime_dir) / f"report-{export_id}.{suffix}"


def filters_of(params: dict[str, Any]) -> Filters:
    f = params["filters"]
    return Filters(date.fromisoformat(f["first"]), date.fromisoformat(f["last"]),
                   Interval(f["interval"]), tuple(f.get("queues", ())),
                   tuple(f.get("agents", ())), f.get("campaign"))


def params_of(f: Filters, headers: dict[str, str], title: str) -> dict[str, Any]:
    """What the export row keeps (JSON): the filters, the headers and the sheet's title."""
    return {"filters": {"first": f.first.isoformat(), "last": f.last.isoformat(),
                        "interval": f.interval.value, "queues": list(f.queues),
                        "agents": list(f.agents), "campaign": f.campaign},
            "headers": headers, "title": title}


def _merge(columns: list[Column], more: list[Column]) -> list[Column]:
    """The union of two spans' columns (a dynamic one, a break reason, may appear in
    either): a new column goes right after the column it follows in ``more``."""
    out = list(columns)
    for i, c in enumerate(more):
        keys = [x.key for x in out]
        if c.key in keys:
            continue
        before = more[i - 1].key if i else None
        out.insert(keys.index(before) + 1 if before in keys else len(out), c)
    return out


def build_report(export_id: int, database_url: str | None = None,
                 runtime_dir: str | None = None) -> int:
    """Build the export's file; returns how many rows it holds."""
    settings = load_settings()
    if runtime_dir:
        settings = settings.with_runtime(Path(runtime_dir))
    engine = make_engine(database_url or settings.database_url)
    try:
        factory = make_sessionmaker(engine)
        with transaction(factory) as s:
            row = s.get(ReportExport, export_id)
            if row is None or row.state == "done":
                return row.rows if row is not None else 0
            tenant_id, name, fmt = row.tenant_id, row.report, row.file_format
            params = dict(row.params)
            f = filters_of(params)
            spans = chunks(f.first, f.last, f.interval)
            row.state, row.done, row.total = "running", 0, len(spans)
        columns: list[Column] = []
        rows: list[dict[str, Any]] = []
        now = datetime.now(UTC).timestamp()
        try:
            for n, (first, last) in enumerate(spans, start=1):
                part = Filters(first, last, f.interval, f.queues, f.agents, f.campaign)
                with factory() as s:
                    report = service.run(s, tenant_id, name, part, now, inline=False)
                columns = _merge(columns, report.columns) if columns else report.columns
                rows += report.rows
                with transaction(factory) as s:
                    s.get(ReportExport, export_id).done = n  # type: ignore[union-attr]
            for r in rows:
                for c in columns:
                    if ":" in c.key:
                        r.setdefault(c.key, 0)
            folder = file_exports.exports_dir(settings.runtime_dir)
            folder.mkdir(parents=True, exist_ok=True)
            file_exports.sweep(folder, "report-*", datetime.now(UTC))
            target = file_path(settings.runtime_dir, export_id, fmt)
            headers = params.get("headers", {})
            with file_exports.written(target) as part_path:
                if fmt == "xlsx":
                    exports.write_xlsx(str(part_path), params.get("title", name), columns,
                                       rows, headers)
                else:
                    with part_path.open("w", encoding="utf-8", newline="") as out:
                        exports.write_csv(out, columns, rows, headers,
                                          semicolon=fmt == "csv_semicolon")
        except Exception as err:
            with transaction(factory) as s:
                failed = s.get(ReportExport, export_id)
                if failed is not None:
                    failed.state, failed.error = "failed", str(err)[:500]
            raise
        with transaction(factory) as s:
            done = s.get(ReportExport, export_id)
            if done is not None:
                done.state, done.file_name, done.rows = "done", target.name, len(rows)
    finally:
        engine.dispose()
    log.info("report export %s (%s): %d rows", export_id, name, len(rows))
    return len(rows)
