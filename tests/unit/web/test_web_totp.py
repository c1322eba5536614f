"""TOTP second factor: enrol from the account area, login asks for the code, recovery
codes work once, an administrator resets it (issue 12 item 4's TOTP)."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from controlplane.models import SecurityEvent, User

from .conftest import csrf_of, do_login
from .test_web_access_login import _client, _set_policy, seats  # noqa: F401  (a fixture)


def _code(secret, clock):
    return pyotp.TOTP(secret).at(clock.now)


def _kinds(app, tenant_id):
    with app.extensions["centrala"].sessions() as s:
        return [(e.kind, e.detail.get("reason")) for e in s.scalars(
            select(SecurityEvent).where(SecurityEvent.tenant_id == tenant_id)
            .order_by(SecurityEvent.id))]


def _enrol(app, seats, clock):  # noqa: F811
    # Each client here is another workstation; the take-over question has its own tests.
    _set_policy(app, seats.tenant_id, one_workstation=False)
    c = _client(app)
    assert do_login(c, seats.address("a1")).status_code == 302
    page = c.get("/account/totp").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]{32})<', page).group(1)
    assert "otpauth://totp/Centrala:a1%40" in page and "data:image/svg+xml" in page
    assert c.get("/account/totp").get_data(as_text=True).count(secret) >= 1  # same pending
    wrong = c.post("/account/totp", data={"csrf_token": csrf_of(c), "code": "000000"})
    assert wrong.status_code == 400 and "Ten kod jest nieprawidłowy" in wrong.get_data(as_text=True)
    ok = c.post("/account/totp", data={"csrf_token": csrf_of(c), "code": _code(secret, clock)})
    body = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "Kody odzyskiwania" in body
    codes = re.findall(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>", body)
    assert len(codes) == 10
    assert secret not in c.get("/account/totp").get_data(as_text=True)  # never shown again
    return secret, codes


def _pending(resp):
    return resp.get_data(as_text=True).split('name="pending" value="', 1)[1].split('"', 1)[0]


def test_login_asks_for_the_code_and_refuses_a_wrong_or_replayed_one(app, seats, clock):  # noqa: F811
    secret, _ = _enrol(app, seats, clock)
    used_at_enrolment = _code(secret, clock)
    c = _client(app, language="en")
    resp = do_login(c, seats.address("a1"))
    assert resp.status_code == 200 and "Second factor" in resp.get_data(as_text=True)
    assert c.get("/api/v1/calls/live").status_code == 401  # not logged in yet
    pending = _pending(resp)
    replay = c.post("/login/code", data={"csrf_token": csrf_of(c), "pending": pending,
                                         "code": used_at_enrolment})
    assert replay.status_code == 400 and "That code is not right" in replay.get_data(as_text=True)
    clock.advance(seconds=60)
    ok = c.post("/login/code", data={"csrf_token": csrf_of(c), "pending": pending,
                                     "code": _code(secret, clock)})
    assert ok.status_code == 302
    assert c.get("/api/v1/calls/live").status_code == 200
    kinds = _kinds(app, seats.tenant_id)
    assert ("totp.enabled", None) in kinds and ("login.failed", "bad_code") in kinds


def test_recovery_code_works_once_and_admin_reset_turns_it_off(app, seats, clock):  # noqa: F811
    _, codes = _enrol(app, seats, clock)
    c = _client(app)
    pending = _pending(do_login(c, seats.address("a1")))
    assert c.post("/login/code", data={"csrf_token": csrf_of(c), "pending": pending,
                                       "code": codes[0].upper()}).status_code == 302
    again = _client(app)
    pending = _pending(do_login(again, seats.address("a1")))
    assert c.post("/login/code", data={"csrf_token": csrf_of(again), "pending": pending,
                                       "code": codes[0]}).status_code == 400
    boss = _client(app)
    assert do_login(boss, seats.address("boss")).status_code == 302
    assert "a1" in boss.get("/security/access").get_data(as_text=True)
    with app.extensions["centrala"].sessions() as s:
        a1 = s.scalar(select(User).where(User.tenant_id == seats.tenant_id, User.login == "a1"))
    resp = boss.delete(f"/api/v1/users/{a1.id}/totp", headers={"X-CSRF-Token": csrf_of(boss)})
    assert resp.get_json() == {"reset": True}
    assert boss.delete("/api/v1/users/999999/totp",
                       headers={"X-CSRF-Token": csrf_of(boss)}).status_code == 404
    assert do_login(_client(app), seats.address("a1")).status_code == 302  # password alone
    kinds = [k for k, _ in _kinds(app, seats.tenant_id)]
    assert "totp.recovery_used" in kinds and "totp.reset" in kinds
    agent = _client(app)
    assert do_login(agent, seats.address("a2")).status_code == 302
    assert agent.delete(f"/api/v1/users/{a1.id}/totp",
                        headers={"X-CSRF-Token": csrf_of(agent)}).status_code == 403
