"""Login throttling: delays grow per account and per address, a NAT neighbour is not locked
out, and it all still works with Redis stopped (real Redis, real SQLite, a moved clock).

The panel here uses a smaller policy than the default (same rule, shorter waits) so the
tables stay short: address 4 free then up to 8 s, account and device 2 free then up to 8 s.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from helpers import ThrowawayRedis
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from controlplane.models import SecurityEvent
from controlplane.security.login_throttle import (
    Attempt,
    Limit,
    Policy,
    Tally,
    address_key,
    redis_keys,
    tallies_from_rows,
    wait_s,
)
from controlplane.seed import DEMO_DOMAIN
from web import create_app

from .conftest import PASSWORD, Clock, do_login

ADMIN = f"admin@{DEMO_DOMAIN}"
SMALL = Policy(address=Limit(free=4, cap_s=8), account=Limit(free=2, cap_s=8),
               device=Limit(free=2, cap_s=8))


@pytest.fixture
def app_config() -> dict[str, object]:
    return {"TESTING": True, "LOGIN_THROTTLE": SMALL}


def browser(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def waits(resp: TestResponse) -> int | None:
    """The wait the panel asked for, or None when the attempt went ahead."""
    if resp.status_code != 429:
        return None
    body = resp.get_data(as_text=True)
    seconds = int(resp.headers["Retry-After"])
    assert f"try again in {seconds} s" in body
    return seconds


def failed_rows(app: Flask) -> int:
    with app.extensions["centrala"].sessions() as s:
        return s.scalar(select(func.count()).where(SecurityEvent.kind == "login.failed"))


# --- the rule, pure --------------------------------------------------------------------------


@pytest.mark.parametrize("failures, last, now, expected", [
    (0, None, 100.0, 0.0), (2, 100.0, 100.0, 0.0),  # free
    (3, 100.0, 100.0, 1.0), (3, 100.0, 100.5, 0.5), (3, 100.0, 101.0, 0.0),
    (4, 100.0, 100.0, 2.0), (5, 100.0, 100.0, 4.0), (6, 100.0, 100.0, 8.0),
    (7, 100.0, 100.0, 10.0), (500, 100.0, 100.0, 10.0),  # the cap, no overflow
    (7, 100.0, 200.0, 0.0),
])
def test_limit_waits_double_up_to_the_cap(failures, last, now, expected):
    assert Limit(free=3, cap_s=10).wait_s(failures, last, now) == expected


def test_default_policy_is_the_documented_rule():
    p = Policy()
    assert (p.address.free, p.address.cap_s) == (10, 30)
    assert (p.account.free, p.account.cap_s) == (5, 300)
    assert (p.device.free, p.device.cap_s) == (5, 300)
    assert p.window_s == 900


def test_the_longest_wait_of_the_keys_wins_rounded_up():
    tallies = {"address": Tally(4, 100.0), "account": Tally(4, 99.0)}  # 1 s and 4 s
    assert wait_s(SMALL, tallies, 100.2) == 3


def test_failure_rows_count_under_the_right_keys():
    rows = [(10.0, "1.1.1.1", "a@d", None), (11.0, "1.1.1.1", "b@d", None),
            (12.0, "2.2.2.2", "a@d", "dev1"), (13.0, "3.3.3.3", "a@d", None),
            (5.0, "1.1.1.1", "a@d", None)]  # before the window
    untrusted = tallies_from_rows(Attempt("1.1.1.1", "a@d"), rows, since=6.0, now=20.0)
    assert untrusted == {"address": Tally(2, 11.0), "account": Tally(2, 13.0)}
    known = tallies_from_rows(Attempt("1.1.1.1", "a@d", "dev1"), rows, since=6.0, now=20.0)
    assert known == {"address": Tally(2, 11.0), "device": Tally(1, 12.0)}
    assert set(redis_keys(Attempt("1.1.1.1", "a@d", "dev1"))) == {"address", "device"}


@pytest.mark.parametrize("address, key", [
    ("10.0.0.1", "10.0.0.1"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
    ("::ffff:10.0.0.1", "10.0.0.1"),
    ("unknown", "unknown"),
])
def test_address_key_is_the_ipv6_64(address, key):
    assert address_key(address) == key


def test_ipv6_neighbours_in_one_64_share_the_address_key():
    rows = [(10.0, "2001:db8:1:2::1", "a@d", None), (11.0, "2001:db8:1:2::99", "b@d", None),
            (12.0, "2001:db8:1:3::1", "c@d", None)]
    tallies = tallies_from_rows(Attempt("2001:db8:1:2::7", "z@d"), rows, since=0.0, now=20.0)
    assert tallies["address"] == Tally(2, 11.0)


# --- through the panel ----------------------------------------------------------------------


def test_account_delays_grow_from_any_address(app, clock: Clock, person):
    _, account = person
    hop = iter(range(1, 200))

    def attempt(password: str) -> TestResponse:
        return do_login(browser(app, f"10.1.0.{next(hop)}"), account, password)

    for _ in range(SMALL.account.free):
        assert waits(attempt("wrong")) is None
    seen = []
    for _ in range(5):
        rows = failed_rows(app)
        wait = waits(attempt(PASSWORD))  # even the right password waits...
        assert failed_rows(app) == rows  # ...and a refused attempt counts nothing
        assert wait is not None
        seen.append(wait)
        clock.advance(seconds=wait - 0.5)
        assert waits(attempt("wrong")) is not None  # not yet
        clock.advance(seconds=0.5)
        assert waits(attempt("wrong")) is None  # exactly then: checked, and wrong again
    assert seen == [1, 2, 4, 8, 8]
    clock.advance(seconds=8)
    assert attempt(PASSWORD).status_code == 302
    clock.advance(seconds=SMALL.window_s + 1)  # failures age out of the window
    assert waits(attempt("wrong")) is None


def test_address_delays_grow_across_accounts_then_the_admin_gets_in(app, clock: Clock):
    nat = browser(app, "10.2.0.1")
    for i in range(SMALL.address.free):
        assert waits(do_login(nat, f"nobody{i}@{DEMO_DOMAIN}", "x")) is None
    seen = []
    for i in range(5):
        wait = waits(do_login(nat, f"other{i}@{DEMO_DOMAIN}", "x"))
        assert wait is not None
        seen.append(wait)
        clock.advance(seconds=wait)
        assert waits(do_login(nat, f"other{i}@{DEMO_DOMAIN}", "x")) is None
    assert seen == [1, 2, 4, 8, 8]
    # The admin behind the same NAT, right password: waits the address delay, no more.
    admin = browser(app, "10.2.0.1")
    assert waits(do_login(admin, ADMIN, PASSWORD)) == 8
    clock.advance(seconds=8)
    assert do_login(admin, ADMIN, PASSWORD).status_code == 302
    # Someone elsewhere was never slowed down by it.
    assert do_login(browser(app, "10.2.0.2"), f"supervisor@{DEMO_DOMAIN}",
                    PASSWORD).status_code == 302


def test_nat_neighbour_with_the_right_password_is_not_locked_out(app, clock: Clock, person,
                                                                 csrf):
    _, account = person
    neighbour = browser(app, "10.3.0.1")
    assert do_login(neighbour, account, PASSWORD).status_code == 302  # known browser now
    neighbour.post("/logout", data={"csrf_token": csrf(neighbour)})
    # Someone behind the same NAT hammers the neighbour's account and others for minutes.
    guesser = browser(app, "10.3.0.1")
    for i in range(12):
        for target in (f"x{i}@{DEMO_DOMAIN}", account):  # the account's failure last
            wait = waits(do_login(guesser, target, "guess"))
            if wait:
                clock.advance(seconds=wait)
                assert waits(do_login(guesser, target, "guess")) is None
    # A browser new to the account is held by the account's delay (the cap)...
    stranger = browser(app, "10.3.0.99")
    assert waits(do_login(stranger, account, PASSWORD)) == SMALL.account.cap_s
    # ...the neighbour's own browser at home is not slowed at all...
    neighbour.environ_base["REMOTE_ADDR"] = "10.4.0.1"
    assert do_login(neighbour, account, PASSWORD).status_code == 302
    neighbour.post("/logout", data={"csrf_token": csrf(neighbour)})
    # ...and at the NAT, at most by the address delay.
    neighbour.environ_base["REMOTE_ADDR"] = "10.3.0.1"
    wait = waits(do_login(neighbour, account, PASSWORD)) or 0
    assert wait <= SMALL.address.cap_s
    clock.advance(seconds=wait)
    assert do_login(neighbour, account, PASSWORD).status_code == 302


def test_a_tampered_device_cookie_is_ignored(app, clock: Clock, person):
    _, account = person
    own = browser(app, "10.5.0.1")
    assert do_login(own, account, PASSWORD).status_code == 302
    for i in range(SMALL.account.free):
        do_login(browser(app, f"10.5.1.{i}"), account, "guess")
    forged = browser(app, "10.5.0.2")
    value = own.get_cookie("centrala_device").value
    forged.set_cookie("centrala_device", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert waits(do_login(forged, account, PASSWORD)) == 1  # untrusted: the account's wait
    own.post("/logout", data={"csrf_token": _csrf(own)})
    assert do_login(own, account, PASSWORD).status_code == 302  # the real one is known


def _csrf(client: FlaskClient) -> str:
    with client.session_transaction() as sess:
        token: str = sess["csrf"]
    return token


# --- with Redis stopped -------------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own, which the test may stop."""
    server = ThrowawayRedis(tmp_path).start(timeout=20)
    assert server.proc is not None
    try:
        yield server.port, server.proc
    finally:
        server.stop()


def test_throttling_works_with_redis_stopped(settings, world, own_redis, person, caplog):
    port, proc = own_redis
    _, account = person
    app = create_app(config={"TESTING": True, "LOGIN_THROTTLE": SMALL},
                     settings=dataclasses.replace(settings,
                                                  redis_url=f"redis://127.0.0.1:{port}/0"))
    clock = Clock(datetime(2150, 6, 1, tzinfo=UTC))  # a time no other test uses
    app.config["CLOCK"] = clock
    try:
        hop = iter(range(1, 200))
        for _ in range(SMALL.account.free):
            assert waits(do_login(browser(app, f"10.6.0.{next(hop)}"), account, "x")) is None
        probe = redis.Redis(port=port, decode_responses=True)
        assert probe.keys("centrala:web:login-failures:acct:*")  # counted in Redis so far
        probe.close()

        proc.terminate()
        proc.wait(timeout=10)
        caplog.set_level("WARNING", logger="controlplane.security.login_throttle")
        # The failures made while Redis was up still count (from the audit rows)...
        assert waits(do_login(browser(app, f"10.6.0.{next(hop)}"), account, PASSWORD)) == 1
        assert any("Redis unavailable" in r.getMessage() for r in caplog.records)
        clock.advance(seconds=1)
        assert waits(do_login(browser(app, f"10.6.0.{next(hop)}"), account, "x")) is None
        # ...and the ones made without it make the delay grow.
        assert waits(do_login(browser(app, f"10.6.0.{next(hop)}"), account, PASSWORD)) == 2
        clock.advance(seconds=2)
        assert do_login(browser(app, f"10.6.0.{next(hop)}"), account, PASSWORD).status_code \
            == 302
        # Per address too.
        nat = browser(app, "10.6.1.1")
        for i in range(SMALL.address.free):
            assert waits(do_login(nat, f"nobody{i}@{DEMO_DOMAIN}", "x")) is None
        assert waits(do_login(nat, ADMIN, PASSWORD)) == 1
    finally:
        app.extensions["centrala"].close()


def test_ipv6_attempts_are_throttled_per_64_without_redis_too(app, clock: Clock):
    """The database fallback finds an IPv6 /64's failures whatever their spelling."""
    from controlplane.security.login_throttle import LoginThrottle

    for i in range(SMALL.address.free):
        do_login(browser(app, f"2001:db8:77:1::{i + 1:x}"), f"v6-{i}@{DEMO_DOMAIN}", "x")
    other = browser(app, "2001:db8:77:1:ffff::1")
    assert waits(do_login(other, ADMIN, PASSWORD)) == 1  # via Redis
    throttle = LoginThrottle(redis.Redis(port=1, socket_connect_timeout=0.2), SMALL)
    with app.extensions["centrala"].sessions() as s:
        assert throttle.wait_s(s, Attempt("2001:db8:77:1:abcd::9", ADMIN), clock()) == 1
        assert throttle.wait_s(s, Attempt("2001:db8:77:2::9", ADMIN), clock()) == 0
