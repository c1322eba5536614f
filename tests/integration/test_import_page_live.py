"""A CSV uploaded through the panel's import page is imported by the real worker (issue 12
item 9): the page stores the file and leaves the job in the outbox; the running control
plane queues it on RQ; a real ``centrala worker`` process runs it; the progress JSON the
page's script polls goes to ``done`` with the counts, and the rejected rows download."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from helpers import until
from labtools import panel_login
from sqlalchemy import delete, select

from controlplane.campaigns import store
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Campaign, Tenant, User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from web import create_app

pytestmark = pytest.mark.integration
PASSWORD = "import page live test"
ROWS = 300
CSV = ("phone,first_name,last_name,segment\n" + "".join(
    f"+4860{7_000_000 + i:07d},Imię{i},Importowy,live\n" for i in range(ROWS))
    + "not-a-number,Zły,Wiersz,\n").encode()


@pytest.fixture
def admin(platform) -> Iterator[tuple[FlaskClient, int]]:  # type: ignore[no-untyped-def]
    """The panel in-process (real database and Redis) with the demo admin logged in, and a
    fresh campaign of the demo tenant."""
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        user = s.scalar(select(User).join(Tenant).where(User.login == "admin",
                                                        Tenant.domain == DEMO_DOMAIN))
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
        s.execute(delete(Campaign).where(Campaign.name == "import page live"))
        campaign_id = store.create_campaign(s, user.tenant_id, "import page live").id
    app = create_app(config={"TESTING": True}, settings=platform.settings)
    with app.test_client() as client:
        resp = panel_login(client, f"admin@{DEMO_DOMAIN}", PASSWORD)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        yield client, campaign_id
    app.extensions["centrala"].close()
    engine.dispose()


@pytest.fixture
def worker(platform) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """A real ``centrala worker`` (RQ) on the platform's Redis and database."""
    log = (platform.settings.runtime_dir / "import-worker.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "controlplane.cli", "worker"],
                            env={**os.environ, **platform.env}, stdout=log, stderr=log)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def test_a_csv_uploaded_on_the_page_is_imported_by_the_worker(admin, worker) -> None:  # type: ignore[no-untyped-def]
    client, campaign_id = admin
    with client.session_transaction() as sess:
        token = sess["csrf"]
    resp = client.post(f"/campaigns/{campaign_id}/import",
                       data={"csrf_token": token, "file": (io.BytesIO(CSV), "live.csv")},
                       content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "import_progress.js" in page and f'data-total="{ROWS + 1}"' in page
    import_id = int(resp.headers["Location"].rsplit("/", 1)[1])

    seen: list[str] = []

    def done() -> dict[str, Any] | None:
        assert worker.poll() is None, "the worker exited; see import-worker.log"
        body = client.get(f"/api/v1/imports/{import_id}").get_json()
        seen.append(body["state"])
        return body if body["state"] in ("done", "failed") else None

    body = until(done, timeout=90, what="the import done by the worker")
    assert body["state"] == "done", body
    assert {k: body[k] for k in ("rows_read", "imported", "rejected")} == {
        "rows_read": ROWS + 1, "imported": ROWS, "rejected": 1}
    rejected = client.get(f"/api/v1/imports/{import_id}/rejected.csv").get_data(as_text=True)
    lines = rejected.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{ROWS + 2},")  # header, the bad row
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in page
    listing = client.get("/api/v1/contacts", query_string={"q": "607 000 123"}).get_json()
    assert [c["name"] for c in listing["contacts"]] == ["Imię123 Importowy"]
