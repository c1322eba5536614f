"""The contact imports API: upload (multipart, size-limited, CSRF), the job left in the
outbox for the control plane, progress and the rejected rows as CSV; admins and
supervisors of the campaign's tenant only. The job itself is the real one, run here."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest
from sqlalchemy import select

from controlplane.campaigns import store
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs.imports import run_import
from controlplane.models import Tenant
from controlplane.models.outbox import JobOutbox
from controlplane.seed import DEMO_DOMAIN

SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
LIMIT = 200 * 1024  # the test app's upload limit: over the panel's usual 64 KiB
_names = itertools.count()
CSV = b"phone,first_name,priority\n600100200,Ewa,1\n600100201,Ola,x\n=1+2,Eve,\n"


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"TESTING": True, "IMPORT_MAX_BYTES": LIMIT}


@pytest.fixture
def campaign(settings) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        demo = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        assert demo is not None
        campaign_id = store.create_campaign(s, demo, f"imports {next(_names)}").id
    engine.dispose()
    return campaign_id


def upload(client, csrf, campaign_id: int, data: bytes | None, name: str = "c.csv",  # type: ignore[no-untyped-def]
           token: bool = True) -> Any:
    files = {"file": (io.BytesIO(data), name)} if data is not None else {"other": "x"}
    headers = {"X-CSRF-Token": csrf(client)} if token else {}
    return client.post(f"/api/v1/campaigns/{campaign_id}/imports", data=files,
                       headers=headers, content_type="multipart/form-data")


def test_upload_then_progress_then_rejected_rows(client, login, csrf, campaign, settings) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = upload(client, csrf, campaign, CSV, "spring.csv")
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    import_id = body["id"]
    assert (body["state"], body["filename"], body["size_bytes"]) == ("queued", "spring.csv",
                                                                   len(CSV))
    assert body["progress_url"] == f"/api/v1/imports/{import_id}"
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as s:  # the job waits in the outbox for the daemon
        job = s.scalar(select(JobOutbox).where(JobOutbox.job_id == f"contact-import-{import_id}"))
        assert job is not None
        assert (job.func, job.args) == ("controlplane.jobs.imports.run_import", [import_id])
    engine.dispose()

    assert client.get(body["progress_url"]).get_json()["state"] == "queued"
    run_import(import_id, database_url=settings.database_url)  # what the worker runs
    done = client.get(body["progress_url"]).get_json()
    assert {k: done[k] for k in ("state", "rows_read", "imported", "updated", "rejected")} == {
        "state": "done", "rows_read": 3, "imported": 1, "updated": 0, "rejected": 2}

    resp = client.get(body["rejected_url"])
    assert resp.status_code == 200
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="import-{import_id}-rejected.csv"')
    lines = resp.get_data(as_text=True).splitlines()
    assert lines[0] == "line,column,reason"
    assert lines[1] == "3,priority,priority 'x' is not a whole number 0-100"
    assert lines[2].startswith("4,phone,invalid phone: '=1+2'")


def test_an_upload_over_the_panels_usual_limit_but_under_the_imports(  # type: ignore[no-untyped-def]
    client, login, csrf, campaign
) -> None:
    login(ADMIN)
    rows = b"".join(b"6001%05d,Name %d\n" % (n, n) for n in range(5000))
    data = b"phone,first_name\n" + rows
    assert 64 * 1024 < len(data) < LIMIT
    assert upload(client, csrf, campaign, data).status_code == 202


def test_bad_uploads_get_a_clear_error(client, login, csrf, campaign) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = upload(client, csrf, campaign, b"x" * (LIMIT + 1))
    assert resp.status_code == 413
    error = resp.get_json()["error"]
    assert error["id"] == "too_large" and f"larger than the {LIMIT // 1024} KiB" in error["message"]
    resp = upload(client, csrf, campaign, b"x" * (LIMIT + 100 * 1024))  # refused unread
    assert resp.status_code == 413 and resp.get_json()["error"]["id"] == "too_large"
    resp = upload(client, csrf, campaign, None)
    assert resp.status_code == 400
    assert resp.get_json()["error"]["details"]["parameter"] == "file"
    resp = upload(client, csrf, campaign, "phone\n600100200,Żaneta\n".encode("iso-8859-2"))
    assert resp.status_code == 400
    assert "not UTF-8 text" in resp.get_json()["error"]["message"]
    assert upload(client, csrf, campaign, CSV, token=False).status_code == 400  # CSRF
    assert upload(client, csrf, 999_999, CSV).status_code == 404


def test_only_supervisors_and_admins_of_the_tenant(client, login, csrf, campaign) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    import_id = upload(client, csrf, campaign, CSV).get_json()["id"]
    client.post("/logout", headers={"X-CSRF-Token": csrf(client)})
    login(AGENT)
    assert upload(client, csrf, campaign, CSV).status_code == 403
    assert client.get(f"/api/v1/imports/{import_id}").status_code == 403
    client.post("/logout", headers={"X-CSRF-Token": csrf(client)})
    login("boss@acme.example")  # an admin of another tenant
    assert upload(client, csrf, campaign, CSV).status_code == 404
    assert client.get(f"/api/v1/imports/{import_id}").status_code == 404
    assert client.get(f"/api/v1/imports/{import_id}/rejected.csv").status_code == 404


def post_form(client, csrf, campaign_id: int, data: dict[str, Any], query: str = "") -> Any:  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/campaigns/{campaign_id}/imports{query}", data=data,
                       headers={"X-CSRF-Token": csrf(client)},
                       content_type="multipart/form-data")


def problems_of(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert resp.status_code == 400, resp.get_json()
    error = resp.get_json()["error"]
    assert error["id"] == "bad_parameter"
    return {p["field"]: p["message"] for p in error["details"]["errors"]}


def test_the_upload_form_takes_one_file_and_nothing_else(client, login, csrf, campaign) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    missing = problems_of(post_form(client, csrf, campaign, {}))
    assert "attach the CSV as the multipart field 'file'" in missing["file"]
    text = problems_of(post_form(client, csrf, campaign, {"file": "600100200"}))  # no filename
    assert text["file"].startswith("must be a file part with a filename")
    extra = problems_of(post_form(client, csrf, campaign, {
        "file": (io.BytesIO(CSV), "c.csv"), "mode": "replace",
        "photo": (io.BytesIO(b"\x89PNG"), "p.png")}))
    assert set(extra) == {"mode", "photo"}
    assert extra["mode"] == "unknown parameter (allowed: file)"
    twice = problems_of(post_form(client, csrf, campaign, {
        "file": [(io.BytesIO(CSV), "a.csv"), (io.BytesIO(CSV), "b.csv")]}))
    assert twice == {"file": "given more than once"}
    query = problems_of(post_form(client, csrf, campaign, {"file": (io.BytesIO(CSV), "c.csv")},
                                  "?dry_run=1"))
    assert query == {"dry_run": "unknown parameter (this request takes none)"}
    resp = post_form(client, csrf, campaign, {"file": (io.BytesIO(CSV), "c.csv")})
    assert resp.status_code == 202  # and the file is still read whole after all that
    assert resp.get_json()["size_bytes"] == len(CSV)


def test_progress_and_rejected_rows_take_no_parameters(client, login, csrf, campaign) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    import_id = upload(client, csrf, campaign, CSV).get_json()["id"]
    for path in (f"/api/v1/imports/{import_id}", f"/api/v1/imports/{import_id}/rejected.csv"):
        assert client.get(path).status_code == 200
        found = problems_of(client.get(path + "?page=2"))
        assert found == {"page": "unknown parameter (this request takes none)"}
