"""``/reports``: the reports page (admins and supervisors), its downloads.

* ``GET /reports/<name>`` -- a filter form (range in the tenant's zone, interval, queues,
  agents, campaign), the report's chart (``web/static/reports.js`` with Chart.js, data in a
  JSON block: no inline script) and its table. No range given: the last 7 days. A range
  too long to read during a request shows why, and the background export.
* ``GET /reports/<name>/export?format=csv|csv_semicolon|xlsx&…`` -- the same table as a
  file, built now (within the same caps as the page).
* ``GET /reports/exports/<id>/download`` -- a background export's file, for its creator.

The page's multi-selects send ``queues``/``agents`` once per choice; they are joined into
the API's comma-separated form before the query is validated like the API's.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, send_file, url_for

from controlplane.jobs.report_export import file_path
from controlplane.models import Role
from controlplane.reports import exports, store
from controlplane.reports.exceptions import ReportTooLong
from controlplane.reports.filters import MAX_DAYS_INLINE, REPORTS
from controlplane.reports.http import labels, present
from controlplane.reports.http.api import mine
from controlplane.reports.http.common import build, check_name, filters
from controlplane.reports.http.schemas import ExportQuery, ReportQuery
from web.auth import current_user, login_required
from web.errors import Invalid, NotFound
from web.services import services
from web.validation import parse

bp = Blueprint("reports", __name__)
ROLES = (Role.ADMIN, Role.SUPERVISOR)
DEFAULT_DAYS = 7


def _args(model: type[ReportQuery]) -> tuple[ReportQuery, dict[str, str]]:
    """The query string as ``model``, repeated multi-select values joined first."""
    raw = request.args.to_dict(flat=False)
    joined = {k: ",".join(v for v in vs if v) if k in ("queues", "agents") else vs[-1]
              for k, vs in raw.items()}
    return parse(model, joined, parameters=True), joined


@bp.get("/reports")
@login_required(*ROLES)
def index() -> Any:
    return redirect(url_for("reports.page", name=REPORTS[0]))


@bp.get("/reports/<name>")
@login_required(*ROLES)
def page(name: str) -> Any:
    """One report: filters, chart and table."""
    check_name(name)
    error = too_long = None
    report = None
    try:
        query, _raw = _args(ReportQuery)
        f = filters(query, DEFAULT_DAYS)
        report = build(name, f)
    except Invalid as err:
        error, f = err.message, filters(ReportQuery(), DEFAULT_DAYS)
    except ReportTooLong as err:
        too_long = err.message
    tenant_id = current_user().tenant_id
    with services().sessions() as s:
        options = {"queues": [(q, n) for q, (n, _) in store.queues(s, tenant_id).items()],
                   "agents": list(store.agents(s, tenant_id).items()),
                   "campaigns": [(c, n) for c, (n, _, _) in store.campaigns(s, tenant_id).items()]}
    params = f.as_params()
    return render_template(
        "reports.html", name=name, titles=labels.TITLES, intervals=labels.INTERVALS,
        filters=f, params=params, options=options, error=error, too_long=too_long,
        max_days=MAX_DAYS_INLINE,
        table=present.table(report) if report else None,
        chart=present.chart(report) if report and report.rows else None,
        title=labels.TITLES[name],
    )


@bp.get("/reports/<name>/export")
@login_required(*ROLES)
def export(name: str) -> Response:
    """The report as a CSV or XLSX file, built now."""
    check_name(name)
    query, _ = _args(ExportQuery)
    assert isinstance(query, ExportQuery)
    report = build(name, filters(query, DEFAULT_DAYS))
    title = str(labels.TITLES[name])
    data = exports.to_bytes(query.format, title, report.columns, report.rows,
                            present.headers(report))
    f = report.filters
    file_name = f"{name}-{f.first.isoformat()}-{f.last.isoformat()}.{exports.SUFFIX[query.format]}"
    return Response(data, mimetype=exports.MIME[query.format], headers={
        "Content-Disposition": f'attachment; filename="{file_name}"',
        "Cache-Control": "no-store"})


@bp.get("/reports/exports/<int:export_id>/download")
@login_required(*ROLES)
def download(export_id: int) -> Response:
    svc = services()
    with svc.sessions() as s:
        row = mine(s, export_id)
        state, fmt, report, params = row.state, row.file_format, row.report, row.params
    path = file_path(svc.settings.runtime_dir, export_id, fmt)
    if state != "done" or not path.is_file():
        raise NotFound("this export is not ready")
    f = params.get("filters", {})
    name = f"{report}-{f.get('first', '')}-{f.get('last', '')}.{exports.SUFFIX[fmt]}"
    return send_file(path, mimetype=exports.MIME[fmt], as_attachment=True,
                     download_name=name, max_age=0)
