"""Outbound routes in the admin room: list in order, create, edit, move, delete, the API with
its 400s by field, the trunk delete guard (409 naming the route), audit, roles, tenants,
Polish."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Tenant, Trunk
from controlplane.models.outbound_routes import OutboundRoute
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    with transaction(factory) as s:
        s.execute(delete(OutboundRoute))
        s.execute(delete(Trunk).where(Trunk.host.like("route-test-%")))
    engine.dispose()


def trunks(store, domain: str, n: int = 2) -> list[int]:  # type: ignore[no-untyped-def]
    """``n`` trunks of the tenant ``domain`` (hosts route-test-<domain>-<i>)."""
    with transaction(store) as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.domain == domain))
        rows = [Trunk(tenant_id=tid, name=f"rt-{domain.split('.')[0]}-{i}",
                      host=f"route-test-{domain}-{i}", username="u", secret="s" * 20)
                for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def api(client, csrf, method: str, path: str, body=None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def test_routes_api_crud_order_and_errors_by_field(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    t1, t2 = trunks(store, DEMO_DOMAIN)
    [acme] = trunks(store, "acme.example", 1)
    login(ADMIN)
    made = api(client, csrf, "POST", "/api/v1/outbound-routes",
               {"name": "mobiles", "prefixes": ["485", "+486"], "trunk_ids": [t2, t1],
                "strip": 2, "prepend": "0"})
    assert made.status_code == 201, made.get_json()
    mobiles = made.get_json()["outbound_route"]
    assert mobiles["trunks"] == ["rt-demo-1", "rt-demo-0"] and mobiles["position"] == 0
    default = api(client, csrf, "POST", "/api/v1/outbound-routes",
                  {"name": "default", "trunk_ids": [t1]}).get_json()["outbound_route"]
    assert default["position"] == 1 and default["prefixes"] == [] and default["enabled"]
    # a malformed prefix: 400 from the schema, naming the field
    bad = api(client, csrf, "POST", "/api/v1/outbound-routes",
              {"name": "x", "prefixes": ["48x"], "trunk_ids": [t1]})
    assert bad.status_code == 400 and "prefixes" in bad.get_json()["error"]["message"]
    # another tenant's trunk: 400 naming trunk_ids; nothing saved
    foreign = api(client, csrf, "POST", "/api/v1/outbound-routes",
                  {"name": "x", "trunk_ids": [acme]})
    assert foreign.status_code == 400
    assert foreign.get_json()["error"]["details"]["field"] == "trunk_ids"
    dup = api(client, csrf, "POST", "/api/v1/outbound-routes",
              {"name": "Mobiles", "trunk_ids": [t1]})
    assert dup.status_code == 400 and dup.get_json()["error"]["details"]["field"] == "name"
    # update: fields not sent keep their value; position reorders
    upd = api(client, csrf, "PUT", f"/api/v1/outbound-routes/{default['id']}",
              {"position": 0, "caller_id": "+48221000000"})
    assert upd.status_code == 200, upd.get_json()
    assert upd.get_json()["outbound_route"]["trunk_ids"] == [t1]
    listed = api(client, csrf, "GET", "/api/v1/outbound-routes").get_json()
    assert [r["name"] for r in listed["outbound_routes"]] == ["default", "mobiles"]
    assert listed["total"] == 2
    assert api(client, csrf, "GET", "/api/v1/outbound-routes?q=486").get_json()["total"] == 1
    assert api(client, csrf, "GET", "/api/v1/outbound-routes?sort=bogus").status_code in (400, 422)
    # the trunk a route uses cannot be deleted: 409 naming the route
    used = api(client, csrf, "DELETE", f"/api/v1/trunks/{t2}")
    assert used.status_code == 409
    assert used.get_json()["error"]["details"]["used_by"] == ["route mobiles"]
    assert api(client, csrf, "DELETE",
               f"/api/v1/outbound-routes/{mobiles['id']}").status_code == 200
    assert api(client, csrf, "GET", f"/api/v1/outbound-routes/{mobiles['id']}").status_code == 404
    with store() as s:
        kinds = set(s.scalars(select(SecurityEvent.kind).where(
            SecurityEvent.kind.like("route.%"))))
    assert {"route.created", "route.updated", "route.deleted"} <= kinds
    # another tenant sees none of it
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME_ADMIN)
    assert api(client, csrf, "GET", f"/api/v1/outbound-routes/{default['id']}").status_code == 404
    assert api(client, csrf, "GET", "/api/v1/outbound-routes").get_json()["total"] == 0
    assert api(client, csrf, "DELETE",
               f"/api/v1/outbound-routes/{default['id']}").status_code == 404


def test_routes_pages_create_move_edit_delete(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    t1, t2 = trunks(store, DEMO_DOMAIN)
    login(ADMIN)
    empty = client.get("/admin/routes").get_data(as_text=True)
    assert "No routes yet" in empty and 'href="/admin/routes/new"' in empty
    for name, prefixes, trunk in (("first", "", t1), ("second", "486, 487", t2)):
        resp = client.post("/admin/routes/new", data={
            "name": name, "prefixes": prefixes, "trunk_1": str(trunk), "trunk_2": "",
            "trunk_3": "", "strip": "0", "prepend": "", "caller_id": "", "enabled": "1",
            "csrf_token": csrf(client)})
        assert resp.status_code == 302, resp.get_data(as_text=True)
    bad = client.post("/admin/routes/new", data={
        "name": "", "prefixes": "48a", "trunk_1": "", "strip": "99", "csrf_token": csrf(client)})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for field in ("name", "prefixes", "trunk_ids", "strip"):
        assert f'data-error-for="{field}"' in html
    with store() as s:
        ids = {r.name: r.id for r in s.scalars(select(OutboundRoute))}
    page = client.get("/admin/routes").get_data(as_text=True)
    assert page.index("first") < page.index("second") and "any number" in page
    client.post(f"/admin/routes/{ids['second']}/move",
                data={"direction": "up", "csrf_token": csrf(client)})
    page = client.get("/admin/routes").get_data(as_text=True)
    assert page.index(">second<") < page.index(">first<")
    form = client.get(f"/admin/routes/{ids['second']}").get_data(as_text=True)
    assert "486, 487" in form and 'data-confirm="Delete this route?"' in form
    client.post(f"/admin/routes/{ids['first']}/delete", data={"csrf_token": csrf(client)})
    page = client.get("/admin/routes").get_data(as_text=True)
    assert ">first<" not in page and "numbers no route matches cannot be dialled" in page
    with store() as s:
        assert s.scalar(select(OutboundRoute.position).where(
            OutboundRoute.id == ids["second"])) == 0


@pytest.mark.parametrize("who", [f"supervisor@{DEMO_DOMAIN}", f"agent1@{DEMO_DOMAIN}"])
def test_routes_are_for_admins(client, login, csrf, who) -> None:  # type: ignore[no-untyped-def]
    login(who)
    assert client.get("/admin/routes").status_code == 403
    assert api(client, csrf, "GET", "/api/v1/outbound-routes").status_code == 403
    assert api(client, csrf, "POST", "/api/v1/outbound-routes", {}).status_code == 403


def test_route_pages_speak_polish(client, login, csrf, store, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    page = client.get("/admin/routes").get_data(as_text=True)
    assert "Trasy wychodzące" in page
    form = client.get("/admin/routes/new").get_data(as_text=True)
    assert "Prefiksy" in form and "Łącze główne" in form
