"""``/api/v1/reports``: every report as JSON rows, and long ones exported by a job.

* ``GET /api/v1/reports/<name>?from=&to=&interval=&queues=&agents=&campaign=`` -- the rows
  the page shows (ids and names, periods as the local start with its offset, durations in
  seconds), the columns with their kind and header; 400 ``report_too_long`` past 31 days
  or 50,000 log rows (export it instead);
* ``POST /api/v1/reports/exports`` ``{"report", "format", "query"}`` -- a job builds the
  file (CSV, CSV with semicolons, XLSX); 202 with its progress;
* ``GET /api/v1/reports/exports/<id>`` -- state and progress (``done`` of ``total`` spans)
  and, once done, the download URL (``GET /reports/exports/<id>/download``).

Admins and supervisors, own tenant only; an export is its creator's and expires after
:data:`controlplane.jobs.report_export.KEEP_S`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify, url_for

from controlplane.db import transaction
from controlplane.jobs import outbox
from controlplane.jobs.report_export import JOB_TIMEOUT_S, KEEP_S, build_report, params_of
from controlplane.models import Role
from controlplane.models.reports import ReportExport
from controlplane.reports import store
from controlplane.reports.http import labels
from controlplane.reports.http.common import build, check_name, filters
from controlplane.reports.http.present import headers
from controlplane.reports.http.schemas import ExportBody, ReportQuery
from web.auth import current_user, login_required
from web.errors import NotFound
from web.services import services
from web.validation import parse, validated

bp = Blueprint("reports_api", __name__)
ROLES = (Role.ADMIN, Role.SUPERVISOR)


@bp.get("/api/v1/reports/<name>")
@login_required(*ROLES)
@validated(query=ReportQuery)
def report(name: str, query: ReportQuery) -> Any:
    """One report's rows (``name``: agent_time, calls_by_queue, calls_by_agent, abandons,
    dispositions, campaigns, hlr); no ``from``: today in the tenant's zone."""
    r = build(check_name(name), filters(query))
    heads = headers(r)
    return jsonify({
        "report": r.name, "time_zone": r.zone, "interval": r.filters.interval.value,
        "from": r.filters.first.isoformat(), "to": r.filters.last.isoformat(),
        "columns": [{"key": c.key, "kind": c.kind, "label": heads[c.key]} for c in r.columns],
        "rows": r.rows,
    })


def export_json(row: ReportExport) -> dict[str, Any]:
    return {
        "id": row.id, "report": row.report, "format": row.file_format, "state": row.state,
        "done": row.done, "total": row.total, "rows": row.rows, "error": row.error,
        "expires_at": row.expires_at.isoformat(),
        "download_url": (url_for("reports.download", export_id=row.id)
                         if row.state == "done" else None),
    }


def mine(s: Any, export_id: int) -> ReportExport:
    user = current_user()
    row = s.get(ReportExport, export_id)
    if (row is None or row.tenant_id != user.tenant_id or row.user_id != user.id
            or row.expires_at <= datetime.now(UTC)):
        raise NotFound("no such export (or it has expired)")
    return row


@bp.post("/api/v1/reports/exports")
@login_required(*ROLES)
@validated(body=ExportBody)
def create_export(body: ExportBody) -> Any:
    """Export a report of any length as a file built in the background; 202 with progress."""
    query = parse(ReportQuery, body.query, parameters=True)
    f = filters(query)
    user, svc = current_user(), services()
    with transaction(svc.sessions) as s:
        breaks = store.break_labels(s, user.tenant_id)
        heads = labels.headers(breaks)
        row = ReportExport(tenant_id=user.tenant_id, user_id=user.id, report=body.report,
                           file_format=body.format,
                           params=params_of(f, heads, str(labels.TITLES[body.report])),
                           expires_at=datetime.now(UTC) + timedelta(seconds=KEEP_S))
        s.add(row)
        s.flush()
        export_id = row.id
        out = export_json(row)
    # after the row's commit: the job must find it
    outbox.keep(svc.sessions, outbox.make_spec(build_report, (export_id,),
                                               job_id=f"report-export-{export_id}",
                                               options={"job_timeout": JOB_TIMEOUT_S}))
    return jsonify({"export": out}), 202


@bp.get("/api/v1/reports/exports/<int:export_id>")
@login_required(*ROLES)
@validated()
def get_export(export_id: int) -> Any:
    """An export's state and progress (``done`` of ``total``) and, once done, its URL."""
    with services().sessions() as s:
        return jsonify({"export": export_json(mine(s, export_id))})
