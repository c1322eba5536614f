"""The long-report job on a real database (SQLite and PostgreSQL): built span by span with
its progress committed, written as XLSX under a temporary name then renamed, a break reason
seen only in a later span still gets its column, and a finished export is not rebuilt."""

from __future__ import annotations

import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from controlplane.db import transaction
from controlplane.jobs import report_export
from controlplane.models import Role, Tenant, User
from controlplane.models.acd import AgentStatusLog
from controlplane.models.reports import ReportExport
from controlplane.reports.filters import Filters
from controlplane.reports.tables import Column


def test_columns_of_later_spans_are_merged_in_place() -> None:
    first = [Column("period", "period"), Column("break:lunch", "seconds"),
             Column("logged_in", "seconds")]
    later = [Column("period", "period"), Column("break:lunch", "seconds"),
             Column("break:training", "seconds"), Column("logged_in", "seconds")]
    merged = report_export._merge(first, later)
    assert [c.key for c in merged] == ["period", "break:lunch", "break:training", "logged_in"]


def test_a_long_agent_time_report_is_built_as_xlsx(factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with transaction(factory) as s:
        t = Tenant(domain="job.example", name="Job", time_zone="UTC")
        s.add(t)
        s.flush()
        u = User(tenant_id=t.id, login="a", display_name="Ala", role=Role.AGENT,
                 password_hash="")
        s.add(u)
        s.flush()
        start = datetime(2026, 10, 1, 8, tzinfo=UTC)
        s.add_all([
            AgentStatusLog(tenant_id=t.id, user_id=u.id, from_status="logged_out",
                           to_status="ready", reason=None, at=start),
            AgentStatusLog(tenant_id=t.id, user_id=u.id, from_status="ready",
                           to_status="logged_out", reason=None, at=start + timedelta(hours=8)),
            # a break reason only in the last span
            AgentStatusLog(tenant_id=t.id, user_id=u.id, from_status="logged_out",
                           to_status="break", reason="training",
                           at=start + timedelta(days=40)),
            AgentStatusLog(tenant_id=t.id, user_id=u.id, from_status="break",
                           to_status="logged_out", reason=None,
                           at=start + timedelta(days=40, hours=1)),
        ])
        f = Filters(date(2026, 10, 1), date(2026, 11, 15))
        row = ReportExport(tenant_id=t.id, user_id=u.id, report="agent_time",
                           file_format="xlsx",
                           params=report_export.params_of(f, {"logged_in": "Zalogowany"}, "Czas"),
                           expires_at=datetime.now(UTC) + timedelta(hours=1))
        s.add(row)
        s.flush()
        export_id = row.id
    url = factory.kw["bind"].url.render_as_string(hide_password=False)
    assert report_export.build_report(export_id, url, str(tmp_path)) == 2
    with factory() as s:
        done = s.get(ReportExport, export_id)
        assert done is not None
        assert (done.state, done.done, done.total, done.rows) == ("done", 7, 7, 2)
    path = report_export.file_path(tmp_path, export_id, "xlsx")
    assert path.is_file() and not path.with_name(path.name + ".part").exists()
    with zipfile.ZipFile(path) as zf:
        strings = zf.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in \
            zf.namelist() else zf.read("xl/worksheets/sheet1.xml").decode()
    assert "Zalogowany" in strings and "break:training" in strings and "Ala" in strings
    assert report_export.build_report(export_id, url, str(tmp_path)) == 2  # not rebuilt
