"""The admin room: phones, DIDs and agent skills through the pages and ``/api/v1``, against
the real SQLite database and Redis of the panel fixtures. Roles (admins only), tenant
isolation, field errors, a configuration Asterisk would refuse (nothing saved, files
untouched), credentials shown on demand (audited), regenerated, the QR code, and the
registration state read from the daemon's contact hash."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.admin.apply import etc_dir
from controlplane.bus import COMMANDS_STREAM, CONTACTS_KEY
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Did, PhoneEndpoint, Trunk, User
from controlplane.models.acd import AgentSkill
from controlplane.models.security import SecurityEvent
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


@pytest.fixture
def store(settings):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    yield factory
    # What the tests made: phones 7xxx, DIDs 4899…, skills t-…, and the broken trunk.
    with transaction(factory) as s:
        s.execute(delete(Did).where(Did.number.like("4899%")))
        s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.extension.like("7%")))
        s.execute(delete(AgentSkill).where(AgentSkill.skill.like("t-%")))
        s.execute(delete(Trunk).where(Trunk.name == "broken-trunk"))
    engine.dispose()


def api(client, csrf, method: str, path: str, body: Any = None):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def uid(store, login: str, tenant_id: int) -> int:  # type: ignore[no-untyped-def]
    with store() as s:
        found = s.scalar(select(User.id).where(User.login == login, User.tenant_id == tenant_id))
    assert found is not None
    return found


def fields(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    err = resp.get_json()["error"]
    assert err["id"] == "invalid_form", err
    return {e["field"]: e["message"] for e in err["details"]["errors"]}


ROUTES = [
    ("GET", "/admin/phones"), ("GET", "/admin/phones/new"), ("GET", "/admin/dids"),
    ("GET", "/admin/skills"), ("GET", "/api/v1/phones"), ("POST", "/api/v1/phones"),
    ("GET", "/api/v1/dids"), ("POST", "/api/v1/dids"), ("GET", "/api/v1/skills"),
    ("GET", "/api/v1/agent-skills"), ("POST", "/api/v1/agent-skills"),
]


@pytest.mark.parametrize("who", [SUPERVISOR, AGENT1])
def test_only_admins_reach_the_admin_room(client, login, csrf, store, who) -> None:  # type: ignore[no-untyped-def]
    login(who)
    for method, path in ROUTES:
        resp = api(client, csrf, method, path, {} if method == "POST" else None)
        assert resp.status_code == 403, (method, path, resp.status_code)


def test_a_phone_is_created_applied_and_listed(client, login, csrf, store, settings, world,
                                                redis_client) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    agent2 = uid(store, "agent2", world.demo_tenant)
    resp = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7001", "user_id": agent2})
    assert resp.status_code == 201, resp.get_json()
    out = resp.get_json()
    phone, creds = out["phone"], out["credentials"]
    assert phone["name"] == "demo-7001" and phone["user"] == "agent2"
    assert phone["registration"] == "unregistered"
    assert len(creds["password"]) >= 32 and creds["username"] == "demo-7001"
    assert creds["provisioning"].startswith("sip:demo-7001:")
    # Applied: the rendered pjsip.conf holds the phone with its generated password (no
    # Asterisk runs here, so the reload is reported as not done, the files are in place).
    pjsip = (etc_dir(settings) / "pjsip.conf").read_text()
    assert "[demo-7001]" in pjsip and creds["password"] in pjsip
    assert "pjsip.conf" in out["applied"]["changed"] and out["applied"]["ok"] is False
    assert "reload" in out["applied"]["error"].lower() or "not" in out["applied"]["error"]
    # The ACD was told (the phone's user is how an agent gets rung).
    assert any('"acd.reload"' in f["data"] for _, f in redis_client.xrange(COMMANDS_STREAM))
    # Listed, with the password nowhere in the list.
    listing = api(client, csrf, "GET", "/api/v1/phones?q=7001").get_json()
    assert [p["name"] for p in listing["phones"]] == ["demo-7001"]
    assert creds["password"] not in str(listing)
    with store() as s:
        events = s.scalars(select(SecurityEvent.kind).where(SecurityEvent.kind == "phone.created"))
        assert "phone.created" in list(events)


def test_field_errors_name_the_field(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    bob = uid(store, "bob", world.acme_tenant)
    resp = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7x", "user_id": bob})
    assert resp.status_code == 422
    assert set(fields(resp)) == {"extension", "user_id"}
    assert str(bob) in fields(resp)["user_id"]
    assert api(client, csrf, "POST", "/api/v1/phones", {"extension": "7002"}).status_code == 201
    dup = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7002"})
    assert dup.status_code == 422 and "extension" in fields(dup)
    assert api(client, csrf, "POST", "/api/v1/phones", {"extension": "7003",
                                                        "transport": "tls"}).status_code == 400
    bad_sort = api(client, csrf, "GET", "/api/v1/phones?sort=secret")
    assert bad_sort.status_code == 422 and "sort" in fields(bad_sort)


def test_paging_filter_and_sort(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    for ext in ("7011", "7012", "7013"):
        assert api(client, csrf, "POST", "/api/v1/phones", {"extension": ext}).status_code == 201
    out = api(client, csrf, "GET", "/api/v1/phones?q=701&sort=-extension&per_page=2").get_json()
    assert [p["extension"] for p in out["phones"]] == ["7013", "7012"]
    assert (out["total"], out["pages"], out["page"]) == (3, 2, 1)
    out = api(client, csrf, "GET", "/api/v1/phones?q=701&sort=-extension&per_page=2&page=2").get_json()
    assert [p["extension"] for p in out["phones"]] == ["7011"]
    page = client.get("/admin/phones?q=701&sort=extension&per_page=2").get_data(as_text=True)
    assert "7011" in page and "7012" in page and "7013" not in page


def test_tenants_never_see_each_others_phones(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    made = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7021"}).get_json()
    demo_id = made["phone"]["id"]
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME_ADMIN)
    names = [p["name"] for p in api(client, csrf, "GET", "/api/v1/phones").get_json()["phones"]]
    assert names == ["acme-2001"]
    for method, path in [("GET", f"/api/v1/phones/{demo_id}"), ("PUT", f"/api/v1/phones/{demo_id}"),
                         ("DELETE", f"/api/v1/phones/{demo_id}"),
                         ("POST", f"/api/v1/phones/{demo_id}/credentials"),
                         ("POST", f"/api/v1/phones/{demo_id}/credentials/regenerate")]:
        resp = api(client, csrf, method, path, {} if method == "PUT" else None)
        assert resp.status_code == 404, (method, path)
    assert client.get(f"/admin/phones/{demo_id}").status_code == 404
    assert "demo-7021" not in client.get("/admin/phones").get_data(as_text=True)


def test_credentials_on_demand_audited_regenerated_with_qr(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    made = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7031"}).get_json()
    pid, first = made["phone"]["id"], made["credentials"]["password"]
    assert first not in client.get(f"/admin/phones/{pid}").get_data(as_text=True)
    page = client.post(f"/admin/phones/{pid}/credentials", data={"csrf_token": csrf(client)})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and first in html
    assert 'src="data:image/svg+xml' in html
    with store() as s:
        shown = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "phone.credentials.shown")
                          .order_by(SecurityEvent.id.desc())).first()
        assert shown is not None and shown.detail == {"phone": "demo-7031"}
        assert first not in str(shown.detail)
    again = api(client, csrf, "POST", f"/api/v1/phones/{pid}/credentials/regenerate").get_json()
    second = again["credentials"]["password"]
    assert second != first and len(second) >= 32
    assert api(client, csrf, "POST", f"/api/v1/phones/{pid}/credentials").get_json()[
        "credentials"]["password"] == second


def test_registration_state_comes_from_the_daemons_contact_hash(client, login, csrf, store,
                                                                redis_client) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    pid = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7041"}).get_json()["phone"]["id"]
    redis_client.hset(CONTACTS_KEY, "demo-7041", "Reachable")
    assert api(client, csrf, "GET", f"/api/v1/phones/{pid}").get_json()["phone"][
        "registration"] == "registered"
    assert 'data-registration="registered"' in client.get("/admin/phones?q=7041").get_data(as_text=True)
    redis_client.hset(CONTACTS_KEY, "demo-7041", "Unreachable")
    assert api(client, csrf, "GET", f"/api/v1/phones/{pid}").get_json()["phone"][
        "registration"] == "unreachable"


def test_a_configuration_asterisk_would_refuse_saves_nothing(client, login, csrf, store, settings,
                                                             world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    api(client, csrf, "POST", "/api/v1/phones", {"extension": "7051"})  # files exist
    before = (etc_dir(settings) / "pjsip.conf").read_text()
    with transaction(store) as s:  # something else is wrong: a trunk with a bad host
        s.add(Trunk(tenant_id=world.demo_tenant, name="broken-trunk", host="bad host!",
                    username="x", secret="y" * 20))
    resp = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7052"})
    assert resp.status_code == 422
    err = resp.get_json()["error"]
    assert err["id"] == "config_refused"
    assert any(p["field"] == "host" and "broken-trunk" in p["obj"] for p in err["details"]["problems"])
    with store() as s:
        assert s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.extension == "7052")) is None
    assert (etc_dir(settings) / "pjsip.conf").read_text() == before
    # The form says it too, beside the fields.
    page = client.post("/admin/phones/new", data={"extension": "7053", "transport": "udp",
                                                  "csrf_token": csrf(client)})
    assert page.status_code == 422
    assert "broken-trunk" in page.get_data(as_text=True)


def test_the_form_creates_edits_and_deletes(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    agent2 = uid(store, "agent2", world.demo_tenant)
    resp = client.post("/admin/phones/new", data={"extension": "7061", "name": "", "user_id": "",
                                                  "transport": "udp", "csrf_token": csrf(client)})
    assert resp.status_code == 302
    pid = int(resp.headers["Location"].rstrip("/").split("/")[-1])
    resp = client.post(f"/admin/phones/{pid}", data={"extension": "7062", "name": "",
                                                     "user_id": str(agent2), "transport": "tcp",
                                                     "csrf_token": csrf(client)})
    assert resp.status_code == 302
    with store() as s:
        phone = s.get(PhoneEndpoint, pid)
        assert phone is not None
        assert (phone.extension, phone.user_id, phone.transport) == ("7062", agent2, "tcp")
    bad = client.post(f"/admin/phones/{pid}", data={"extension": "", "transport": "udp",
                                                    "csrf_token": csrf(client)})
    assert bad.status_code == 422 and 'data-error-for="extension"' in bad.get_data(as_text=True)
    assert client.post(f"/admin/phones/{pid}/delete",
                       data={"csrf_token": csrf(client)}).status_code == 302
    with store() as s:
        assert s.get(PhoneEndpoint, pid) is None


def test_dids_route_to_exactly_one_target(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    pid = api(client, csrf, "POST", "/api/v1/phones", {"extension": "7071"}).get_json()["phone"]["id"]
    neither = api(client, csrf, "POST", "/api/v1/dids", {"number": "48990000001"})
    assert neither.status_code == 422 and "phone_id" in fields(neither)
    both = api(client, csrf, "POST", "/api/v1/dids", {"number": "48990000001", "phone_id": pid,
                                                      "flow_id": 1})
    assert both.status_code == 422
    with store() as s:
        acme_phone = s.scalar(select(PhoneEndpoint.id).where(PhoneEndpoint.name == "acme-2001"))
    other = api(client, csrf, "POST", "/api/v1/dids", {"number": "48990000001",
                                                       "phone_id": acme_phone})
    assert other.status_code == 422 and str(acme_phone) in fields(other)["phone_id"]
    made = api(client, csrf, "POST", "/api/v1/dids", {"number": "48990000001", "phone_id": pid})
    assert made.status_code == 201, made.get_json()
    did = made.get_json()["did"]
    assert (did["target"], did["phone"]) == ("phone", "7071")
    dup = api(client, csrf, "POST", "/api/v1/dids", {"number": "+48 990 000 001", "phone_id": pid})
    assert dup.status_code == 422 and "number" in fields(dup)
    # The phone is in use: it cannot be deleted while the DID routes to it.
    used = api(client, csrf, "DELETE", f"/api/v1/phones/{pid}")
    assert used.status_code == 409 and used.get_json()["error"]["details"]["used_by"] == [
        "DID 48990000001"]
    listed = api(client, csrf, "GET", "/api/v1/dids?q=4899").get_json()
    assert [d["number"] for d in listed["dids"]] == ["48990000001"]
    assert "48990000001" in client.get("/admin/dids").get_data(as_text=True)
    assert api(client, csrf, "DELETE", f"/api/v1/dids/{did['id']}").status_code == 200
    assert api(client, csrf, "DELETE", f"/api/v1/phones/{pid}").status_code == 200


def test_agent_skills(client, login, csrf, store, world) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    agent2 = uid(store, "agent2", world.demo_tenant)
    made = api(client, csrf, "POST", "/api/v1/agent-skills", {"user_id": agent2,
                                                              "skill": "t-polish", "level": 7})
    assert made.status_code == 201, made.get_json()
    sid = made.get_json()["agent_skill"]["id"]
    dup = api(client, csrf, "POST", "/api/v1/agent-skills", {"user_id": agent2, "skill": "t-polish"})
    assert dup.status_code == 422 and "skill" in fields(dup)
    bob = uid(store, "bob", world.acme_tenant)
    assert "user_id" in fields(api(client, csrf, "POST", "/api/v1/agent-skills",
                                   {"user_id": bob, "skill": "t-x"}))
    assert api(client, csrf, "PUT", f"/api/v1/agent-skills/{sid}", {"level": 9}).get_json()[
        "agent_skill"]["level"] == 9
    assert {"skill": "t-polish", "agents": 1} in api(client, csrf, "GET", "/api/v1/skills").get_json()["skills"]
    page = client.post("/admin/skills", data={"user_id": str(agent2), "skill": "t-german",
                                              "level": "3", "csrf_token": csrf(client)})
    assert page.status_code == 302
    assert "t-german" in client.get("/admin/skills").get_data(as_text=True)
    assert api(client, csrf, "DELETE", f"/api/v1/agent-skills/{sid}").status_code == 200
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(ACME_ADMIN)
    assert "t-german" not in str(api(client, csrf, "GET", "/api/v1/agent-skills").get_json())


@pytest.fixture(autouse=True)
def _no_leftovers(store) -> Iterator[None]:  # type: ignore[no-untyped-def]
    yield


def test_admin_pages_speak_polish(client, login, csrf, store, demo_in_polish) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    page = client.get("/admin/phones").get_data(as_text=True)
    assert "Telefony" in page and "Numer wewnętrzny" in page
    bad = client.post("/admin/phones/new", data={"extension": "1x", "transport": "udp",
                                                 "csrf_token": csrf(client)})
    assert bad.status_code == 422
    assert 'data-error-for="extension">od 2 do 10 cyfr<' in bad.get_data(as_text=True)
    for path in ("/admin/dids", "/admin/dids/new", "/admin/skills", "/admin/phones/new"):
        assert client.get(path).status_code == 200, path
