"""The audit log page, CSV and ``/api/v1/audit-events``: one tenant's events, filtered,
paged, secrets masked, admins only."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from controlplane.db import transaction
from controlplane.security import audit

from .conftest import do_login
from .test_web_access_login import _client, seats  # noqa: F401  (a fixture)


def _add(app, tenant_id, kind, at, actor="boss@x", detail=None):
    with transaction(app.extensions["centrala"].sessions) as s:
        audit.record(s, kind, tenant_id=tenant_id, actor=actor, source="10.0.0.1",
                     detail=detail or {}).at = at


def _admin(app, seats):  # noqa: F811
    c = _client(app)
    assert do_login(c, seats.address("boss")).status_code == 302
    return c


def test_api_filters_pages_and_masks(app, seats, world):  # noqa: F811
    t = seats.tenant_id
    # 23:30 UTC on 1 March is already 2 March in Warsaw: the day filter is the tenant's.
    _add(app, t, "user.changed", datetime(2026, 3, 1, 23, 30, tzinfo=UTC), actor="ala@x",
         detail={"before": {"password": "old-secret", "role": "agent"},
                 "after": {"password": "new-secret", "role": "supervisor"},
                 "api_token": "abc", "note": "ok"})
    _add(app, t, "user.changed", datetime(2026, 3, 1, 12, 0, tzinfo=UTC), actor="ola@x")
    _add(app, world.acme_tenant, "user.changed", datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    c = _admin(app, seats)
    got = c.get("/api/v1/audit-events?action=user.&since=2026-03-02&until=2026-03-02")
    assert got.status_code == 200, got.get_data(as_text=True)
    body = got.get_json()
    assert body["total"] == 1  # the other tenant's row and the 1 March one are not here
    (event,) = body["events"]
    assert event["actor"] == "ala@x" and event["source"] == "10.0.0.1"
    assert event["detail"] == {"before": {"password": "••••", "role": "agent"},
                               "after": {"password": "••••", "role": "supervisor"},
                               "api_token": "••••", "note": "ok"}
    assert "secret" not in got.get_data(as_text=True)
    actors = [e["actor"] for e in c.get("/api/v1/audit-events?actor=ola").get_json()["events"]]
    assert actors == ["ola@x"]
    paged = c.get("/api/v1/audit-events?per_page=25&page=1").get_json()
    assert paged["total"] >= 3 and len(paged["events"]) == paged["total"]  # + the login
    bad = c.get("/api/v1/audit-events?per_page=7")
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "per_page"


def test_page_and_csv_in_the_tenants_time(app, seats):  # noqa: F811
    _add(app, seats.tenant_id, "access.policy_changed", datetime(2026, 7, 1, 10, 0, tzinfo=UTC),
         detail={"before": {"networks": []}, "after": {"networks": ["10.0.0.0/8"]}})
    c = _admin(app, seats)
    page = c.get("/security/audit").get_data(as_text=True)
    assert "Dziennik zdarzeń" in page and "Zmiana ustawień dostępu" in page
    assert "12:00:00" in page  # 10:00 UTC is noon in Warsaw in July
    assert "Zalogowanie" in page  # the admin's own login, labelled
    resp = c.get("/security/audit.csv?action=access.")
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0][0] == "time (Europe/Warsaw)"
    assert rows[1][:5] == ["2026-07-01 12:00:00", "access.policy_changed",
                           "Zmiana ustawień dostępu", "boss@x", "10.0.0.1"]
    assert len(rows) == 2


def test_only_admins(app, seats):  # noqa: F811
    c = _client(app)
    assert do_login(c, seats.address("sup")).status_code == 302
    for url in ("/security/audit", "/security/audit.csv", "/api/v1/audit-events"):
        assert c.get(url).status_code == 403
