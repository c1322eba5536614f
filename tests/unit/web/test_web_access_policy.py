"""The IP allow-list page and ``/api/v1/ip-allow-list``: admins only, saved lists never
lock out their author, every change audited with before and after."""

from __future__ import annotations

from sqlalchemy import select

from controlplane.models import SecurityEvent

from .conftest import csrf_of, do_login
from .test_web_access_login import _client, seats  # noqa: F401  (a fixture)


def _admin(app, seats, address="10.0.0.5"):  # noqa: F811
    c = _client(app, address)
    assert do_login(c, seats.address("boss")).status_code == 302
    return c


def _put(c, body):
    return c.put("/api/v1/ip-allow-list", json=body, headers={"X-CSRF-Token": csrf_of(c)})


def test_api_reads_and_saves_the_list(app, seats):  # noqa: F811
    c = _admin(app, seats)
    assert c.get("/api/v1/ip-allow-list").get_json() == {
        "networks": [], "one_workstation": True, "your_address": "10.0.0.5"}
    resp = _put(c, {"networks": ["10.0.0.9/8", "2001:DB8::/32"], "one_workstation": False})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["networks"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert c.get("/api/v1/ip-allow-list").get_json()["one_workstation"] is False
    with app.extensions["centrala"].sessions() as s:
        (event,) = s.scalars(select(SecurityEvent).where(
            SecurityEvent.tenant_id == seats.tenant_id,
            SecurityEvent.kind == "access.policy_changed"))
    assert event.detail == {
        "before": {"networks": [], "one_workstation": True},
        "after": {"networks": ["10.0.0.0/8", "2001:db8::/32"], "one_workstation": False}}
    assert _put(c, {"networks": []}).get_json()["networks"] == []  # empty: everyone


def test_a_list_that_locks_the_admin_out_is_refused(app, seats):  # noqa: F811
    c = _admin(app, seats)
    resp = _put(c, {"networks": ["192.0.2.0/24"]})
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["details"]["field"] == "networks"
    assert "10.0.0.5" in err["message"] and "odcięłoby" in err["message"]
    assert c.get("/api/v1/ip-allow-list").get_json()["networks"] == []
    page = c.post("/security/access", data={"csrf_token": csrf_of(c),
                                            "networks": "192.0.2.0/24", "one_workstation": "on"})
    assert page.status_code == 422 and "odcięłoby Ci dostęp" in page.get_data(as_text=True)


def test_bad_networks_are_named(app, seats):  # noqa: F811
    c = _admin(app, seats)
    resp = _put(c, {"networks": ["10.0.0.0/8", "10.0.0.300"]})
    assert resp.status_code == 400
    assert "entry 2 ('10.0.0.300')" in resp.get_json()["error"]["message"]
    page = c.post("/security/access", data={"csrf_token": csrf_of(c), "networks": "nonsense"})
    assert page.status_code == 422 and "entry 1 (&#39;nonsense&#39;)" in page.get_data(as_text=True)


def test_page_saves_and_only_admins_reach_it(app, seats):  # noqa: F811
    c = _admin(app, seats)
    page = c.get("/security/access").get_data(as_text=True)
    assert "Dozwolone adresy IP" in page and "10.0.0.5" in page
    resp = c.post("/security/access", data={"csrf_token": csrf_of(c),
                                            "networks": "10.0.0.0/8\n\n2001:db8::/32\n"})
    assert resp.status_code == 302
    assert c.get("/api/v1/ip-allow-list").get_json()["networks"] == ["10.0.0.0/8",
                                                                     "2001:db8::/32"]
    assert c.get("/api/v1/ip-allow-list").get_json()["one_workstation"] is False  # unticked
    agent = _client(app, "10.0.0.6")
    assert do_login(agent, seats.address("a1")).status_code == 302
    assert agent.get("/security/access").status_code == 403
    assert agent.get("/api/v1/ip-allow-list").status_code == 403
