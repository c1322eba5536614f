"""Onboarding by e-mail, end to end with real SMTP: ``centrala tenant create`` → the mail
job (outbox → RQ worker) → the real catcher → the activation link → password → logged in;
a link used twice or expired gets a clear page; "Forgot password?" resets and ends every
session without telling who has an account; invitations from the users page."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from mailcatcher import Catcher, catcher, link_in  # noqa: F401
from rq import Queue, SimpleWorker
from sqlalchemy import select

from controlplane import cli
from controlplane.config import Settings
from controlplane.db import transaction
from controlplane.jobs import outbox
from controlplane.models import SecurityEvent, Tenant, User
from controlplane.models.base import utcnow
from controlplane.models.user_tokens import UserToken
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from controlplane.tenants import service
from controlplane.tenants.schemas import TenantCreate

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def mail(settings: Settings, catcher: Catcher, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
         app: Flask) -> Iterator[Callable[[], int]]:
    """``mail()`` runs what the outbox holds with a real RQ worker (as the daemon's drain
    and ``centrala worker`` would) into the real catcher; returns how many were queued."""
    env = {"CENTRALA_RUNTIME_DIR": str(settings.runtime_dir),
           "CENTRALA_DATABASE_URL": settings.database_url,
           "CENTRALA_REDIS_URL": settings.redis_url,
           "CENTRALA_SMTP_URL": catcher.url,
           "CENTRALA_PUBLIC_URL": "http://panel.test"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    svc = app.extensions["centrala"]
    from redis import Redis

    conn = Redis.from_url(settings.redis_url)
    queue = Queue("default", connection=conn)

    def run() -> int:
        sent = outbox.drain(svc.sessions, lambda _name: queue).sent
        SimpleWorker([queue], connection=conn).work(burst=True)
        return sent

    yield run
    conn.close()


def _domain() -> str:
    return f"t{uuid.uuid4().hex[:8]}.example"


def _audit(app: Flask, kind: str, actor: str) -> int:
    with app.extensions["centrala"].sessions() as s:
        return len(s.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind,
                                                         SecurityEvent.actor == actor)).all())


def test_cli_create_mail_activation_login(app: Flask, client: FlaskClient, mail, catcher: Catcher,  # noqa: F811
                                          csrf, login_form) -> None:
    domain = _domain()
    email = f"jan@{domain}"
    assert cli.main(["tenant", "create", domain, "--admin", email, "--licences", "5",
                     "--name", "Firma Testowa"]) == 0
    mail()
    got = catcher.wait_for(email)
    assert "Aktywacja konta" in got.subject and "Firma Testowa" in got.subject  # Polish default
    assert f"Login: jan@{domain}" in got.text and "http://panel.test/activate/" in got.text
    secret = link_in(got.text, "/activate/")
    with app.extensions["centrala"].sessions() as s:
        row = s.scalars(select(UserToken).join(User).where(User.email == email)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() != secret
        assert row.sent_at is not None and row.purpose == "activation"
        tenant = s.scalars(select(Tenant).where(Tenant.domain == domain)).one()
        assert (tenant.name, tenant.licences, tenant.locale) == ("Firma Testowa", 5, "pl")

    assert login_form(client, email, "").status_code == 200  # no password yet: cannot log in
    page = client.get(f"/activate/{secret}")
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    short = client.post(f"/activate/{secret}", data={"password": "short", "confirm": "short",
                                                     "csrf_token": csrf(client)})
    assert short.status_code == 400
    done = client.post(f"/activate/{secret}", data={"password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD,
                                                    "csrf_token": csrf(client)})
    assert done.status_code == 302
    assert client.get("/users").status_code == 200  # logged in, as the tenant's admin
    assert _audit(app, "account.activated", email) == 1

    with app.test_client() as other:
        again = other.get(f"/activate/{secret}")
        assert again.status_code == 410
        assert "został już użyty" in again.get_data(as_text=True)  # Polish by default
        assert other.get("/activate/not-a-real-link").status_code == 404
        # The new password works; another workstation is offered to take the session over
        # (one user, one workstation: web.login_access), the activation's session is live.
        elsewhere = login_form(other, email, NEW_PASSWORD)
        assert elsewhere.status_code == 200
        assert "/login/take-over" in elsewhere.get_data(as_text=True)


def test_an_expired_link_gets_a_clear_page(app: Flask, client: FlaskClient, mail,
                                           catcher: Catcher, clock) -> None:  # noqa: F811
    domain = _domain()
    service.create_tenant(app.extensions["centrala"].sessions,
                          TenantCreate(domain=domain, admin_email=f"ola@{domain}", licences=1,
                                       locale="en"),
                          by="test", source="test", now=utcnow())
    mail()
    got = catcher.wait_for(f"ola@{domain}")
    assert got.subject.startswith("Activate your Centrala account")  # the tenant's language
    secret = link_in(got.text, "/activate/")
    clock.now = utcnow().replace(year=utcnow().year + 1)  # far past the 48 h
    page = client.get(f"/activate/{secret}")
    assert page.status_code == 410 and 'name="password"' not in page.get_data(as_text=True)


def _user_with_email(app: Flask, email: str) -> str:
    login = f"r-{uuid.uuid4().hex[:6]}"
    tid = None
    with transaction(app.extensions["centrala"].sessions) as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        s.add(User(tenant_id=tid, login=login, email=email, role="agent",
                   password_hash=hash_password("the old password 123")))
    return f"{login}@{DEMO_DOMAIN}"


def test_password_reset_ends_every_session_and_reveals_nothing(
        app: Flask, client: FlaskClient, mail, catcher: Catcher, csrf, login_form) -> None:  # noqa: F811
    email = f"reset-{uuid.uuid4().hex[:6]}@firma.pl"
    address = _user_with_email(app, email)
    assert login_form(client, address, "the old password 123").status_code == 302
    assert client.get("/account/password").status_code == 200

    with app.test_client() as anon:
        anon.get("/password/forgot")
        known = anon.post("/password/forgot", data={"address": address,
                                                    "csrf_token": csrf(anon)})
        unknown = anon.post("/password/forgot", data={"address": "nobody@nowhere.example",
                                                      "csrf_token": csrf(anon)})
        assert known.status_code == unknown.status_code == 200
        assert known.get_data(as_text=True) == unknown.get_data(as_text=True)
        mail()
        got = catcher.wait_for(email)
        assert "/password/reset/" in got.text
        secret = link_in(got.text, "/password/reset/")
        assert anon.get(f"/password/reset/{secret}").status_code == 200
        done = anon.post(f"/password/reset/{secret}", data={
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf(anon)})
        assert done.status_code == 302 and "/login" in done.headers["Location"]
        assert anon.post(f"/password/reset/{secret}", data={
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
            "csrf_token": csrf(anon)}).status_code == 410

    assert client.get("/account/password").status_code == 302  # the old session ended
    assert login_form(client, address, "the old password 123").status_code == 200
    assert login_form(client, address, NEW_PASSWORD).status_code == 302
    assert _audit(app, "password.reset", address) == 1


def test_reset_requests_are_throttled_per_account(app: Flask, client: FlaskClient, mail,
                                                  catcher: Catcher, csrf) -> None:  # noqa: F811
    email = f"many-{uuid.uuid4().hex[:6]}@firma.pl"
    _user_with_email(app, email)
    client.get("/password/forgot")
    for _ in range(service.RESETS_PER_ACCOUNT_HOUR + 2):
        resp = client.post("/password/forgot", data={"address": email,
                                                     "csrf_token": csrf(client)})
        assert resp.status_code == 200
    mail()
    catcher.wait_for(email)
    with app.extensions["centrala"].sessions() as s:
        rows = s.scalars(select(UserToken).join(User).where(User.email == email)).all()
    # Past the throttle no link is even made; each new link replaces the older ones, so
    # only the newest is mailed (a stale link in an inbox would be a dead one anyway).
    assert len(rows) == service.RESETS_PER_ACCOUNT_HOUR
    assert len(catcher.mails_to(email)) == 1


def test_an_admin_invites_a_user_who_activates(app: Flask, client: FlaskClient, login, mail,
                                               catcher: Catcher, csrf) -> None:  # noqa: F811
    login(f"admin@{DEMO_DOMAIN}")
    email = f"new-{uuid.uuid4().hex[:6]}@firma.pl"
    assert client.get("/users/new").status_code == 200
    bad = client.post("/users", data={"email": "not-an-address", "role": "agent",
                                      "csrf_token": csrf(client)})
    assert bad.status_code == 400 and "e-mail" in bad.get_data(as_text=True)
    resp = client.post("/api/v1/users", json={"email": email, "role": "agent",
                                              "display_name": "Nowa Osoba"},
                       headers={"X-CSRF-Token": csrf(client)})
    assert resp.status_code == 201, resp.get_json()
    user = resp.get_json()["user"]
    assert user["activated"] is False and user["email"] == email
    dup = client.post("/api/v1/users", json={"email": email, "role": "agent"},
                      headers={"X-CSRF-Token": csrf(client)})
    assert dup.status_code == 409 and dup.get_json()["error"]["id"] == "email_taken"
    listed = {u["email"]: u for u in client.get("/api/v1/users").get_json()["users"]}
    assert listed[email]["activated"] is False
    mail()
    secret = link_in(catcher.wait_for(email).text, "/activate/")
    with app.test_client() as newcomer:
        newcomer.get(f"/activate/{secret}")
        with newcomer.session_transaction() as sess:
            token = sess["csrf"]
        done = newcomer.post(f"/activate/{secret}", data={
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token})
        assert done.status_code == 302
        assert newcomer.get("/agent").status_code in (200, 302)
