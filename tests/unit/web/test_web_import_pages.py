"""The contact-import pages: the upload form (columns explained, past imports), an upload
through the page (the API's code: the job waits in the outbox), the progress page whose
script polls the progress JSON, and the link to the rejected rows; tenants and roles."""

from __future__ import annotations

import io
import itertools
import re

import pytest
from sqlalchemy import select

from controlplane.campaigns import store
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.jobs.imports import run_import
from controlplane.models import Tenant
from controlplane.models.outbox import JobOutbox
from controlplane.seed import DEMO_DOMAIN

SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT = f"agent1@{DEMO_DOMAIN}"
ACME = "boss@acme.example"
CSV = b"phone,first_name,segment\n600200300,Ewa,gold\n12,Bad,\n600200301,Ola,\n"
_names = itertools.count()


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"TESTING": True, "IMPORT_MAX_BYTES": 100 * 1024}


@pytest.fixture
def campaign(settings) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        demo = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        assert demo is not None
        campaign_id = store.create_campaign(s, demo, f"import page {next(_names)}").id
    engine.dispose()
    return campaign_id


def _post(client, csrf, campaign_id: int, data: bytes | None, name: str = "list.csv"):  # type: ignore[no-untyped-def]
    form: dict[str, object] = {"csrf_token": csrf(client)}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    return client.post(f"/campaigns/{campaign_id}/import", data=form,
                       content_type="multipart/form-data")


def test_upload_through_the_page_then_progress(client, login, csrf, campaign, settings) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    page = client.get(f"/campaigns/{campaign}/import").get_data(as_text=True)
    assert "first_name" in page and "timezone" in page and 'enctype="multipart/form-data"' in page
    listed = client.get("/campaigns").get_data(as_text=True)
    assert f"/campaigns/{campaign}/import" in listed

    resp = _post(client, csrf, campaign, CSV)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    import_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as s:  # the API's path: the job waits in the outbox
        job = s.scalar(select(JobOutbox).where(JobOutbox.job_id == f"contact-import-{import_id}"))
        assert job is not None
    engine.dispose()

    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-state="queued"' in page and 'data-total="3"' in page
    assert f'data-progress-url="/api/v1/imports/{import_id}"' in page
    assert "import_progress.js" in page and "<script>" not in page
    run_import(import_id, database_url=settings.database_url)  # what the worker runs
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in page
    assert re.search(r'data-field="imported">2<', page) and re.search(
        r'data-field="rejected">1<', page)
    assert f'href="/api/v1/imports/{import_id}/rejected.csv"' in page
    assert 'id="rejected-link" hidden' not in page
    past = client.get(f"/campaigns/{campaign}/import").get_data(as_text=True)
    assert f'data-import="{import_id}"' in past and "list.csv" in past
    js = client.get("/static/import_progress.js")
    assert js.status_code == 200 and b"setTimeout" in js.data
    js.close()


def test_bad_uploads_show_the_form_again(client, login, csrf, campaign) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = _post(client, csrf, campaign, None)
    assert resp.status_code == 400 and 'data-error-for="file"' in resp.get_data(as_text=True)
    resp = _post(client, csrf, campaign, "ą".encode("utf-16"))
    assert resp.status_code == 400 and 'data-error-for="file"' in resp.get_data(as_text=True)
    resp = _post(client, csrf, campaign, b"phone\n" + b"1" * (101 * 1024))
    assert resp.status_code == 413
    assert _post(client, csrf, 999999, CSV).status_code == 404


def test_import_pages_in_polish(client, login, campaign, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    page = client.get(f"/campaigns/{campaign}/import").get_data(as_text=True)
    assert "Importuj kontakty" in page and "Poprzednie importy" in page


def test_other_tenants_and_agents_get_nothing(client, login, csrf, campaign, settings) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    resp = _post(client, csrf, campaign, CSV)
    progress = resp.headers["Location"]
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME)
    assert client.get(f"/campaigns/{campaign}/import").status_code == 404
    assert client.get(progress).status_code == 404
    assert _post(client, csrf, campaign, CSV).status_code == 404
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(AGENT)
    assert client.get(f"/campaigns/{campaign}/import").status_code == 403
    assert client.get(progress).status_code == 403
