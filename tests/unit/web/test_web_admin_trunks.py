"""Trunks in the admin room: identified by address (unique platform-wide), named by the
platform, the carrier's password write-only, rendered into PJSIP on save, roles, tenants."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from controlplane.admin.apply import etc_dir
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Did, Trunk
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
SECRET = "carrier-given-secret-123"


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    with transaction(factory) as s:
        s.execute(delete(Did).where(Did.number.like("4898%")))
        s.execute(delete(Trunk).where(Trunk.host.like("192.0.2.%")))
    engine.dispose()


def api(client, csrf, method: str, path: str, body=None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def fields(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    err = resp.get_json()["error"]
    assert err["id"] == "invalid_form", err
    return {e["field"]: e["message"] for e in err["details"]["errors"]}


def test_trunks_crud_by_address_with_a_write_only_password(client, login, csrf, store,
                                                          settings) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    body = {"host": "192.0.2.10", "username": "acct1", "secret": SECRET, "register": False}
    made = api(client, csrf, "POST", "/api/v1/trunks", {**body, "name": "lab-carrier"})
    assert made.status_code == 400  # a name is the platform's, never the client's
    made = api(client, csrf, "POST", "/api/v1/trunks", body)
    assert made.status_code == 201, made.get_json()
    trunk = made.get_json()["trunk"]
    assert trunk["name"].startswith("demo-trunk-") and trunk["register"] is False
    assert SECRET not in str(made.get_json())
    pjsip = (etc_dir(settings) / "pjsip.conf").read_text()
    assert f"[{trunk['name']}]" in pjsip and "match = 192.0.2.10" in pjsip
    # One address, one trunk (platform-wide): the second is refused by field.
    dup = api(client, csrf, "POST", "/api/v1/trunks", {**body, "username": "acct2"})
    assert dup.status_code == 422 and "host" in fields(dup)
    missing = api(client, csrf, "POST", "/api/v1/trunks", {"host": "192.0.2.11"})
    assert missing.status_code == 422 and {"username", "secret"} <= set(fields(missing))
    # Update without the password keeps it.
    upd = api(client, csrf, "PUT", f"/api/v1/trunks/{trunk['id']}", {"channels": 5})
    assert upd.status_code == 200 and upd.get_json()["trunk"]["channels"] == 5
    with store() as s:
        row = s.get(Trunk, trunk["id"])
        assert row is not None and row.secret == SECRET
    page = client.get(f"/admin/trunks/{trunk['id']}").get_data(as_text=True)
    assert "192.0.2.10" in page and SECRET not in page
    # A DID arriving on it: the trunk cannot go.
    with transaction(store) as s:
        s.add(Did(tenant_id=row.tenant_id, number="48980000001", trunk_id=trunk["id"]))
    used = api(client, csrf, "DELETE", f"/api/v1/trunks/{trunk['id']}")
    assert used.status_code == 409 and used.get_json()["error"]["details"]["used_by"] == [
        "DID 48980000001"]
    with transaction(store) as s:
        s.execute(delete(Did).where(Did.number == "48980000001"))
    assert api(client, csrf, "DELETE", f"/api/v1/trunks/{trunk['id']}").status_code == 200
    assert "192.0.2.10" not in (etc_dir(settings) / "pjsip.conf").read_text()


def test_trunk_form_and_tenants(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = client.post("/admin/trunks/new", data={
        "host": "192.0.2.20", "port": "5060", "transport": "udp", "username": "acct",
        "secret": SECRET, "channels": "10", "register": "1", "csrf_token": csrf(client)})
    assert resp.status_code == 302
    tid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    bad = client.post("/admin/trunks/new", data={
        "host": "not a host", "port": "0", "transport": "udp", "username": "acct",
        "secret": SECRET, "channels": "10", "csrf_token": csrf(client)})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'data-error-for="host"' in html
    assert 'data-error-for="port"' in html and SECRET not in html
    assert "192.0.2.20" in client.get("/admin/trunks").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME_ADMIN)
    assert api(client, csrf, "GET", f"/api/v1/trunks/{tid}").status_code == 404
    assert "192.0.2.20" not in str(api(client, csrf, "GET", "/api/v1/trunks").get_json())


@pytest.mark.parametrize("who", [f"supervisor@{DEMO_DOMAIN}", f"agent1@{DEMO_DOMAIN}"])
def test_trunks_are_for_admins(client, login, csrf, who) -> None:  # type: ignore[no-untyped-def]
    login(who)
    assert client.get("/admin/trunks").status_code == 403
    assert api(client, csrf, "GET", "/api/v1/trunks").status_code == 403
    assert api(client, csrf, "POST", "/api/v1/trunks", {}).status_code == 403


def test_trunk_pages_speak_polish(client, login, csrf, store, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    assert "Adres operatora" in client.get("/admin/trunks/new").get_data(as_text=True)
    bad = client.post("/admin/trunks/new", data={"host": "", "port": "5060", "transport": "udp",
                                                 "username": "a", "secret": "b", "channels": "1",
                                                 "csrf_token": csrf(client)})
    assert 'data-error-for="host">adres IP lub nazwa hosta operatora<' in bad.get_data(as_text=True)
