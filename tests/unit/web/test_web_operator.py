"""The platform operator's pages and ``/api/v1/tenants``: only operators reach them (403
for a tenant's admin, 401 logged out); creating a tenant queues its administrator's
activation mail; deactivating one logs its users out and keeps them out. A tenant's
admin edits their own tenant's name, language and zone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from controlplane.db import transaction
from controlplane.models import User
from controlplane.models.base import utcnow
from controlplane.models.outbox import JobOutbox
from controlplane.models.user_tokens import UserToken
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from controlplane.tenants import service, store

PW = "operator password 123"


def _with_password(app: Flask, user_id: int, password: str = PW) -> None:
    with transaction(app.extensions["centrala"].sessions) as s:
        user = s.get(User, user_id)
        assert user is not None
        user.password_hash = hash_password(password)


@pytest.fixture
def operator(app: Flask) -> Iterator[str]:
    created = service.create_operator(app.extensions["centrala"].sessions,
                                      f"op-{uuid.uuid4().hex[:6]}@centrala.example",
                                      by="test", now=utcnow())
    _with_password(app, created.user_id)
    yield created.address


ROUTES = [("get", "/operator/tenants"), ("get", "/operator/mail"), ("get", "/api/v1/tenants"),
          ("post", "/api/v1/tenants"), ("get", "/operator/tenants/1"),
          ("patch", "/api/v1/tenants/1")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_only_operators_reach_the_operator_routes(client: FlaskClient, login, csrf,
                                                  method: str, path: str) -> None:
    login(f"admin@{DEMO_DOMAIN}")
    resp = getattr(client, method)(path, json={} if method != "get" else None,
                                   headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 403


def test_logged_out_api_is_401(client: FlaskClient) -> None:
    assert client.get("/api/v1/tenants").status_code == 401


def test_operator_creates_lists_edits_and_deactivates(app: Flask, client: FlaskClient,
                                                      login, login_form, csrf,
                                                      operator: str) -> None:
    login(operator, PW)
    domain = f"op{uuid.uuid4().hex[:6]}.example"
    hdr = {"X-CSRF-Token": csrf(client)}
    bad = client.post("/api/v1/tenants", json={"domain": "not a domain", "admin_email": "x",
                                               "licences": 0}, headers=hdr)
    assert bad.status_code == 400
    assert {p["field"] for p in bad.get_json()["error"]["details"]["errors"]} >= {
        "domain", "admin_email", "licences"}
    resp = client.post("/api/v1/tenants", json={"domain": domain,
                                                "admin_email": f"szef@{domain}",
                                                "licences": 3}, headers=hdr)
    assert resp.status_code == 201, resp.get_json()
    tenant = resp.get_json()["tenant"]
    assert resp.get_json()["admin"] == f"szef@{domain}"
    with app.extensions["centrala"].sessions() as s:
        link = s.scalars(select(UserToken).where(UserToken.tenant_id == tenant["id"])).one()
        assert s.scalar(select(JobOutbox).where(JobOutbox.job_id == f"mail-link-{link.id}"))
    assert client.post("/api/v1/tenants", json={"domain": domain, "admin_email": f"b@{domain}",
                                                "licences": 3},
                       headers=hdr).status_code == 409
    listed = client.get(f"/api/v1/tenants?q={domain}").get_json()
    assert listed["total"] == 1 and listed["tenants"][0]["users"] == 1
    assert store.OPERATOR_DOMAIN not in str(client.get("/api/v1/tenants").get_json())
    page = client.get("/operator/tenants")
    assert page.status_code == 200 and domain in page.get_data(as_text=True)
    changed = client.patch(f"/api/v1/tenants/{tenant['id']}",
                           json={"licences": 7, "time_zone": "Europe/London"}, headers=hdr)
    assert changed.get_json()["tenant"]["licences"] == 7
    assert client.patch(f"/api/v1/tenants/{tenant['id']}", json={"time_zone": "Mars/Base"},
                        headers=hdr).status_code == 400

    # the admin activates (password set here), logs in; deactivation ends that and logins
    with app.extensions["centrala"].sessions() as s:
        admin_id = s.scalar(select(User.id).where(User.tenant_id == tenant["id"]))
    assert admin_id is not None
    _with_password(app, admin_id)
    admin = app.test_client()  # no `with`: its requests interleave with the operator's
    assert login_form(admin, f"szef@{domain}", PW).status_code == 302
    assert client.post(f"/operator/tenants/{tenant['id']}/active",
                       data={"csrf_token": csrf(client)}).status_code == 302
    assert admin.get("/users").status_code == 302  # logged out
    assert login_form(admin, f"szef@{domain}", PW).status_code == 200  # refused
    assert client.get(f"/api/v1/tenants/{tenant['id']}").get_json()["tenant"]["active"] is False


def test_operator_form_shows_problems_by_field(client: FlaskClient, login, csrf,
                                               operator: str) -> None:
    login(operator, PW)
    resp = client.post("/operator/tenants", data={"domain": "x", "admin_email": "nope",
                                                  "licences": "many",
                                                  "csrf_token": csrf(client)})
    assert resp.status_code == 400
    text = resp.get_data(as_text=True)
    assert "firma.pl" in text and "jan@firma.pl" in text


def test_mail_page_lists_kept_mail(client: FlaskClient, login, operator: str, settings) -> None:
    from controlplane.mail.catcher import store as keep
    from controlplane.mail.send import build_message

    msg = build_message("a@b.pl", "kto@firma.pl", "Temat próbny", "Treść próbna")
    keep(settings.mail_dir, bytes(msg), ["kto@firma.pl"])
    login(operator, PW)
    text = client.get("/operator/mail").get_data(as_text=True)
    assert "Temat próbny" in text and "kto@firma.pl" in text and "Treść próbna" in text


def test_tenant_admin_edits_own_settings_only(app: Flask, client: FlaskClient, login,
                                              csrf) -> None:
    domain = f"ts{uuid.uuid4().hex[:6]}.example"
    from controlplane.tenants.schemas import TenantCreate

    created = service.create_tenant(app.extensions["centrala"].sessions,
                                    TenantCreate(domain=domain, admin_email=f"a@{domain}",
                                                 licences=2),
                                    by="test", source="test", now=utcnow())
    _with_password(app, created.user_id)
    login(created.address, PW)
    hdr = {"X-CSRF-Token": csrf(client)}
    assert client.get("/tenant/settings").status_code == 200
    resp = client.patch("/api/v1/tenant", json={"name": "Nowa nazwa", "locale": "en",
                                                "time_zone": "America/New_York"}, headers=hdr)
    assert resp.status_code == 200
    assert resp.get_json()["tenant"] == {"id": created.tenant_id, "domain": domain,
                                         "name": "Nowa nazwa", "locale": "en",
                                         "time_zone": "America/New_York", "licences": 2}
    assert client.patch("/api/v1/tenant", json={"licences": 99},
                        headers=hdr).status_code == 400  # the operator's, not theirs
    form = client.post("/tenant/settings", data={"name": "Z formularza", "locale": "pl",
                                                 "time_zone": "Europe/Warsaw",
                                                 "csrf_token": csrf(client)})
    assert form.status_code == 302
    assert client.get("/api/v1/tenant").get_json()["tenant"]["name"] == "Z formularza"


def test_agents_cannot_edit_tenant_settings(client: FlaskClient, login) -> None:
    login(f"agent1@{DEMO_DOMAIN}")
    assert client.get("/tenant/settings").status_code == 403
    assert client.get("/api/v1/tenant").status_code == 403
