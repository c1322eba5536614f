"""The reports page and API on the real panel (SQLite, Redis): rows from the logs, roles and
tenants kept apart, bad input named, a long range refused inline and built by an RQ job
(a real worker) with its progress, CSV (BOM, semicolons and decimal commas) and XLSX files,
Polish and English pages with the chart's data block."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from rq import Queue as RqQueue
from rq import SimpleWorker
from sqlalchemy import delete, select

from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.acd import Queue, QueueLog
from controlplane.models.outbox import JobOutbox
from controlplane.models.reports import ReportExport
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


@pytest.fixture
def calls(app: Flask, world: Any, clock: Any) -> Iterator[dict[str, Any]]:
    """A queue of the demo tenant (UTC) and, on the clock's day, two answered calls (in 5 s
    and 30 s, the first talked 125.5 s) and one abandoned after 12 s."""
    clock.now = clock.now.replace(hour=15, minute=0, second=0, microsecond=0)
    day = clock.now.replace(hour=0)
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        agent = s.scalar(select(User).where(User.tenant_id == world.demo_tenant,
                                            User.login == "agent1"))
        assert agent is not None
        q = Queue(tenant_id=world.demo_tenant, name=f"Obsługa-{uuid.uuid4().hex[:4]}",
                  sl_threshold_s=20.0)
        s.add(q)
        s.flush()

        def row(call: str, kind: str, h: int, sec: float, user: int | None = None) -> QueueLog:
            return QueueLog(tenant_id=world.demo_tenant, queue_id=q.id, interaction_id=call,
                            kind=kind, at=day + timedelta(hours=h, seconds=sec), user_id=user)

        s.add_all([row("r1", "enter", 9, 0), row("r1", "answer", 9, 5, agent.id),
                   row("r1", "end", 9, 130.5), row("r2", "enter", 10, 0),
                   row("r2", "answer", 10, 30, agent.id), row("r3", "enter", 11, 0),
                   row("r3", "abandon", 11, 12)])
        ids = {"queue": q.id, "queue_name": q.name, "agent": agent.id,
               "day": day.date().isoformat()}
    yield ids
    with transaction(factory) as s:
        s.execute(delete(QueueLog).where(QueueLog.queue_id == ids["queue"]))
        s.execute(delete(Queue).where(Queue.id == ids["queue"]))


def api(client: Any, path: str, **params: Any) -> Any:
    return client.get(path, query_string=params)


def test_calls_per_queue_api_rows(client, login, calls) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = api(client, "/api/v1/reports/calls_by_queue", **{"from": calls["day"],
                                                           "to": calls["day"]})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    (row,) = [r for r in body["rows"] if r["queue"] == calls["queue"]]
    assert (row["entered"], row["answered"], row["abandoned"]) == (3, 2, 1)
    assert row["service_level_pct"] == pytest.approx(33.3) and row["avg_handle_s"] == 125.5
    assert row["queue_name"] == calls["queue_name"]
    assert row["period"] == f"{calls['day']}T00:00+00:00"
    assert {"key": "service_level_pct", "kind": "pct", "label": "Service level (%)"} in \
        body["columns"]
    hourly = api(client, "/api/v1/reports/abandons", interval="hour",
                 queues=str(calls["queue"]), **{"from": calls["day"]}).get_json()
    (ab,) = hourly["rows"]
    assert ab["period"].endswith("T11:00+00:00") and ab["wait:10-30"] == 1


def test_roles_and_tenants(client, login, calls) -> None:  # type: ignore[no-untyped-def]
    login(AGENT1)
    assert client.get("/reports/calls_by_queue").status_code == 403
    assert api(client, "/api/v1/reports/calls_by_queue").status_code == 403
    login(ACME_ADMIN)
    rows = api(client, "/api/v1/reports/calls_by_queue", **{"from": calls["day"]}).get_json()
    assert all(r["queue"] != calls["queue"] for r in rows["rows"])


def test_bad_input_is_named(client, login, calls) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(client, "/api/v1/reports/calls_by_queue", **{"from": "2026-12-05",
                                                           "to": "2026-12-01"})
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["parameter"] == "to"
    resp = api(client, "/api/v1/reports/calls_by_queue", queues="1,x")
    assert resp.status_code == 400 and "queues" in resp.get_json()["error"]["message"]
    resp = api(client, "/api/v1/reports/calls_by_queue", queues="99999999999")
    assert resp.status_code == 400
    assert api(client, "/api/v1/reports/nonsense").status_code == 404
    page = client.get("/reports/calls_by_queue?from=2026-12-05&to=2026-12-01")
    assert page.status_code == 200 and "must not be before" in page.get_data(as_text=True)


def test_a_long_range_is_refused_inline(client, login, calls) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = api(client, "/api/v1/reports/agent_time", **{"from": "2026-01-01",
                                                       "to": "2026-03-01"})
    assert resp.status_code == 400
    assert resp.get_json()["error"]["id"] == "report_too_long"
    page = client.get("/reports/agent_time?from=2026-01-01&to=2026-03-01")
    assert page.status_code == 200 and "Export in the background" in page.get_data(as_text=True)


def test_page_in_polish(client, login, calls, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    html = client.get(f"/reports/calls_by_queue?from={calls['day']}&to={calls['day']}"
                      f"&queues={calls['queue']}").get_data(as_text=True)
    assert "Raporty" in html and "Połączenia na kolejkę" in html and "Poziom obsługi (%)" in html
    assert calls["queue_name"] in html and "33,3" in html and "2 min 06 s" in html
    chart = json.loads(re.search(r'id="report-chart-data">(.*?)</script>', html, re.S)[1])
    assert [s["data"] for s in chart["series"][:2]] == [[2.0], [1.0]]
    assert "<script>" not in html  # CSP: no inline script
    multi = client.get(f"/reports/calls_by_queue?from={calls['day']}&queues={calls['queue']}"
                       f"&queues={calls['queue']}")
    assert multi.status_code == 200  # a multi-select's repeated parameter


def test_csv_and_xlsx_downloads(client, login, calls) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    q = f"from={calls['day']}&to={calls['day']}&queues={calls['queue']}"
    got = client.get(f"/reports/calls_by_queue/export?format=csv_semicolon&{q}")
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("text/csv")
    text = got.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0][:3] == ["Period", "Queue id", "Queue"]
    assert rows[1][rows[0].index("Service level (%)")] == "33,3"
    assert rows[1][0] == f"{calls['day']} 00:00"
    plain = client.get(f"/reports/calls_by_queue/export?format=csv&{q}").data.decode()
    assert "33.3" in plain and "," in plain.splitlines()[0]
    xlsx = client.get(f"/reports/calls_by_queue/export?format=xlsx&{q}")
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.data)) as zf:
        assert "xl/worksheets/sheet1.xml" in zf.namelist()
        shared = zf.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in \
            zf.namelist() else zf.read("xl/worksheets/sheet1.xml").decode()
        assert "Service level (%)" in shared and calls["queue_name"] in shared


def test_a_long_report_is_built_by_a_job(client, login, csrf, app, calls, settings,  # type: ignore[no-untyped-def]
                                         redis_port, monkeypatch) -> None:
    factory = app.extensions["centrala"].sessions
    login(ADMIN)
    day = calls["day"]
    first = (date.fromisoformat(day) - timedelta(days=40)).isoformat()
    resp = client.post("/api/v1/reports/exports", json={
        "report": "calls_by_queue", "format": "csv",
        "query": {"from": first, "to": day, "queues": str(calls["queue"])}},
        headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 202, resp.get_json()
    export = resp.get_json()["export"]
    try:
        with factory() as s:
            job = s.scalar(select(JobOutbox).where(
                JobOutbox.job_id == f"report-export-{export['id']}"))
            assert job is not None and job.func.endswith("report_export.build_report")
            args = list(job.args)
        monkeypatch.setenv("CENTRALA_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(settings.runtime_dir))
        connection = redis.Redis(port=redis_port)
        queue = RqQueue("default", connection=connection)
        queue.enqueue_call(job.func, args=args)
        SimpleWorker([queue], connection=connection).work(burst=True)
        status = client.get(f"/api/v1/reports/exports/{export['id']}").get_json()["export"]
        assert status["state"] == "done", status
        assert status["done"] == status["total"] == 6  # 41 days in spans of a week
        assert status["rows"] == 1
        with client.get(status["download_url"]) as got:
            assert got.status_code == 200
            lines = got.data.decode("utf-8").lstrip("\ufeff").splitlines()
        assert lines[0].startswith("Period,Queue id,Queue") and len(lines) == 2
        login(SUPERVISOR)  # another user's export
        assert client.get(f"/api/v1/reports/exports/{export['id']}").status_code == 404
        assert client.get(status["download_url"]).status_code == 404
    finally:
        with transaction(factory) as s:
            s.execute(delete(JobOutbox).where(JobOutbox.job_id.like("report-export-%")))
            s.execute(delete(ReportExport))


def test_days_at_the_calendars_ends_are_refused(client, login) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    for params in ({"from": "9999-12-31"}, {"to": "0001-01-02"}, {"from": "1969-12-31"}):
        resp = api(client, "/api/v1/reports/calls_by_queue", **params)
        assert resp.status_code == 400, (params, resp.status_code)
        assert client.get("/reports/agent_time", query_string=params).status_code == 200


def test_page_in_english(client, login, calls) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    html = client.get(f"/reports/abandons?from={calls['day']}&to={calls['day']}"
                      ).get_data(as_text=True)
    assert ">Reports</a>" in html and "Abandoned calls" in html and "Waited 10–30 s" in html
    assert "Export in the background" in html and 'id="report-chart-data"' in html
