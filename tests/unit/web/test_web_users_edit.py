"""One user over ``/api/v1/users/<id>`` and the ``/users/<id>`` page: read, change name,
role and language, deactivate (sessions ended, tokens revoked, seat freed, audited); an
admin cannot deactivate or demote themselves, nor leave the tenant without an admin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.api_access import store as token_store
from controlplane.db import transaction
from controlplane.errors import Conflict
from controlplane.models import ApiToken, Role, SecurityEvent, User
from controlplane.security import access_store
from controlplane.seed import DEMO_DOMAIN
from controlplane.tenants import user_admin
from tests.unit.web.conftest import PASSWORD, do_login

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"


def call(client: FlaskClient, csrf: Callable[[FlaskClient], str], method: str, path: str,
         body: Any = None) -> Any:
    return client.open(path, method=method, json=body, headers={"X-CSRF-Token": csrf(client)})


def _admin_id(app: Flask, world: Any) -> int:
    with app.extensions["centrala"].sessions() as s:
        uid = s.scalar(select(User.id).where(User.tenant_id == world.demo_tenant,
                                             User.login == "admin"))
    assert uid is not None
    return int(uid)


def test_read_change_and_deactivate(app: Flask, client: FlaskClient, login: Callable[..., Any],
                                    csrf: Callable[[FlaskClient], str], world: Any,
                                    person: tuple[int, str]) -> None:
    uid, address = person
    factory = app.extensions["centrala"].sessions
    theirs = app.test_client()
    assert do_login(theirs, address, PASSWORD).status_code == 302
    with transaction(factory) as s:
        _row, secret = token_store.create(s, tenant_id=world.demo_tenant, user_id=uid,
                                          name="theirs", scope="read", expires_at=None,
                                          now=datetime.now(UTC))
        seats = access_store.seats_in_use(s, world.demo_tenant, datetime.now(UTC))
    assert theirs.get("/api/v1/agents/me", headers={"Authorization": f"Bearer {secret}"}
                      ).status_code == 200

    login(ADMIN)
    got = client.get(f"/api/v1/users/{uid}").get_json()["user"]
    assert got["role"] == "supervisor" and got["active"] is True and len(got["sessions"]) == 1
    assert got["locale"] is None and got["phones"] == []

    changed = call(client, csrf, "PUT", f"/api/v1/users/{uid}",
                   {"display_name": "Zofia Zmiana", "role": "agent", "locale": "pl"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["changed"] == {"display_name": ["", "Zofia Zmiana"],
                                             "role": ["supervisor", "agent"],
                                             "locale": [None, "pl"]}
    assert changed.get_json()["user"]["role"] == "agent"
    bad = call(client, csrf, "PUT", f"/api/v1/users/{uid}", {"role": "root"})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "role"
    for null in ({"role": None}, {"active": None}):  # null is not "keep": refused by name
        bad = call(client, csrf, "PUT", f"/api/v1/users/{uid}", null)
        assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] in null

    gone = call(client, csrf, "DELETE", f"/api/v1/users/{uid}")
    assert gone.status_code == 200
    assert gone.get_json()["user"]["active"] is False
    assert gone.get_json()["user"]["sessions"] == []
    # Their browser and their token stop at once; their seat is free.
    assert theirs.get("/api/v1/agents/me").status_code == 401
    assert theirs.get("/api/v1/agents/me", headers={"Authorization": f"Bearer {secret}"}
                      ).status_code == 401
    with factory() as s:
        assert s.scalar(select(ApiToken.revoked_at).where(ApiToken.user_id == uid)) is not None
        assert access_store.seats_in_use(s, world.demo_tenant, datetime.now(UTC)) == seats - 1
        events = [(e.kind, e.detail) for e in s.scalars(
            select(SecurityEvent).where(SecurityEvent.tenant_id == world.demo_tenant)
            .order_by(SecurityEvent.id)) if e.detail.get("user") == address.split("@")[0]]
    assert [k for k, _ in events][-2:] == ["user.updated", "user.deactivated"]
    assert events[-1][1]["sessions"] == 1 and events[-1][1]["tokens"] == 1
    assert events[-1][1]["changed"] == {"active": [True, False]}
    assert do_login(app.test_client(), address, PASSWORD).status_code != 302  # no login

    # Deactivating again changes nothing; activating again lets them log in.
    again = call(client, csrf, "DELETE", f"/api/v1/users/{uid}")
    assert again.status_code == 200 and again.get_json()["changed"] == {}
    assert call(client, csrf, "PUT", f"/api/v1/users/{uid}", {"active": True}).status_code == 200
    assert do_login(app.test_client(), address, PASSWORD).status_code == 302


def test_an_admin_cannot_deactivate_or_demote_themselves(
        app: Flask, client: FlaskClient, login: Callable[..., Any],
        csrf: Callable[[FlaskClient], str], world: Any) -> None:
    me = _admin_id(app, world)
    login(ADMIN)
    for method, body in (("DELETE", None), ("PUT", {"active": False}), ("PUT", {"role": "agent"})):
        resp = call(client, csrf, method, f"/api/v1/users/{me}", body)
        assert resp.status_code == 409, resp.get_json()
        assert "yourself" in resp.get_json()["error"]["message"] \
            or "your own" in resp.get_json()["error"]["message"]
    assert client.get(f"/api/v1/users/{me}").get_json()["user"]["active"] is True


def test_the_last_admin_stays(app: Flask, world: Any) -> None:
    """Whoever acts (here: not one of the tenant's users), the last active admin stays."""
    factory = app.extensions["centrala"].sessions
    actor = user_admin.Actor(0, "operator@platform", "127.0.0.1")
    with factory() as s:
        admin = s.get(User, _admin_id(app, world))
        assert admin is not None
        for values in ({"active": False}, {"role": "agent"}):
            with pytest.raises(Conflict, match="last active administrator"):
                user_admin.update(s, admin, values, actor, datetime.now(UTC))
        s.rollback()


def test_other_tenants_and_roles(app: Flask, client: FlaskClient, login: Callable[..., Any],
                                 csrf: Callable[[FlaskClient], str], world: Any) -> None:
    me = _admin_id(app, world)
    login(ACME_ADMIN)
    assert client.get(f"/api/v1/users/{me}").status_code == 404
    assert call(client, csrf, "DELETE", f"/api/v1/users/{me}").status_code == 404
    assert call(client, csrf, "PUT", f"/api/v1/users/{me}", {"role": "agent"}).status_code == 404
    assert client.get(f"/users/{me}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf(client)})
    login(SUPERVISOR)
    assert client.get(f"/api/v1/users/{me}").status_code == 403
    assert client.get(f"/users/{me}").status_code == 403


def test_the_page_edits_and_deactivates(app: Flask, client: FlaskClient,
                                        login: Callable[..., Any],
                                        csrf: Callable[[FlaskClient], str], world: Any,
                                        person: tuple[int, str], demo_in_polish: None) -> None:
    uid, _address = person
    login(ADMIN)
    assert f'href="/users/{uid}"' in client.get("/users").get_data(as_text=True)
    page = client.get(f"/users/{uid}").get_data(as_text=True)
    assert "Dezaktywuj" in page and 'data-confirm="' in page
    assert "Administracja" in page  # the nav is the admin's, not the shown user's
    resp = client.post(f"/users/{uid}", data={"csrf_token": csrf(client),
                                             "display_name": "Jan Kowalski", "role": "agent",
                                             "locale": "en"})
    assert resp.status_code == 302
    assert "Użytkownik zapisany." in client.get(resp.location).get_data(as_text=True)
    with app.extensions["centrala"].sessions() as s:
        user = s.get(User, uid)
        assert user is not None
        assert (user.display_name, user.role, user.locale) == ("Jan Kowalski", Role.AGENT, "en")
    resp = client.post(f"/users/{uid}/deactivate", data={"csrf_token": csrf(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert resp.location.endswith("/users"), resp.location
    listing = client.get("/users").get_data(as_text=True)
    assert "Użytkownik dezaktywowany" in listing
    # Oneself: refused on the page, in Polish, with no deactivate button offered.
    me = _admin_id(app, world)
    own = client.get(f"/users/{me}").get_data(as_text=True)
    assert f'action="/users/{me}/deactivate"' not in own
    refused = client.post(f"/users/{me}/deactivate", data={"csrf_token": csrf(client)})
    assert refused.status_code == 409
    assert "Nie możesz dezaktywować własnego konta" in refused.get_data(as_text=True)
