"""Outbound routes against the real platform and lab: a prefix leaves by the second trunk.

The demo tenant gets a second trunk to the lab (the lab answers as a second carrier on an
address of its own, as in the onboarding test) and two routes made through the panel's API:
numbers starting 1009 go over the second trunk with ``00`` prepended, every other number
over the first (the default route). A lab desk phone dials one number of each kind: the lab
carrier receives the first over the second trunk's account with the prepended digits
(seen on the lab's live channel and in its recording), the second over the first trunk as
dialled. The platform's call records say the same (trunk, dial string).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator

import pytest
from helpers import until
from labtools import lab_cli, panel_login, records_for
from sqlalchemy import select

from controlplane import stack
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import CallRecord, Role, Tenant, Trunk, User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from dialplan import labcall
from dialplan.lab import lab_dirs

pytestmark = pytest.mark.integration

PHONE, CALLER = "demo-1008", "1008"  # a lab desk phone (the toll-fraud test's, unique callees)
SECOND_CARRIER = "127.0.14.2"  # not the lab carrier's, not the onboarding test's 127.0.12.2
ADMIN_PASSWORD = "outbound routes test admin password"


@pytest.fixture(scope="module")
def admin(platform):  # type: ignore[no-untyped-def]
    """The panel (in process, on the platform's database and Redis), logged in as admin."""
    from web import create_app

    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        user = s.scalar(select(User).where(User.tenant_id == tenant.id, User.role == Role.ADMIN,
                                           User.login == "admin"))
        user.password_hash = hash_password(ADMIN_PASSWORD)
    engine.dispose()
    app = create_app(config={"TESTING": True}, settings=platform.settings)
    with app.test_client() as client:
        client.environ_base["REMOTE_ADDR"] = "::1"  # as test_toll_fraud (login throttle)
        resp = panel_login(client, f"admin@{DEMO_DOMAIN}", ADMIN_PASSWORD)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        with client.session_transaction() as sess:
            client.environ_base["HTTP_X_CSRF_TOKEN"] = sess["csrf"]
        yield client
    app.extensions["centrala"].close()


@pytest.fixture(scope="module")
def second_trunk(platform, admin) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """A second trunk of the demo tenant to the lab (as a second carrier), registered; its
    (platform name, carrier account). Removed afterwards with the routes."""
    settings = platform.settings
    account = f"routes{secrets.token_hex(3)}"
    made = admin.post("/api/v1/trunks", json={
        "host": SECOND_CARRIER, "port": settings.lab.sip, "username": account,
        "secret": secrets.token_hex(12), "register": True, "channels": 10})
    assert made.status_code == 201, made.get_json()
    trunk = made.get_json()["trunk"]
    stack.prepare_lab(settings)  # the lab (the carrier) learns the account
    until(lambda: SECOND_CARRIER in lab_cli(platform, "pjsip show transports"), timeout=20,
          what="the lab's second carrier listening")
    until(lambda: account in lab_cli(platform, "pjsip show contacts"), timeout=60, interval=1,
          what="the platform registered to the second carrier")
    yield trunk["name"], account
    for r in admin.get("/api/v1/outbound-routes").get_json()["outbound_routes"]:
        admin.delete(f"/api/v1/outbound-routes/{r['id']}")
    assert admin.delete(f"/api/v1/trunks/{trunk['id']}").status_code == 200
    stack.prepare_lab(settings)


def first_trunk_id(platform) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            tenant = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
            return int(s.scalar(select(Trunk.id).where(Trunk.tenant_id == tenant)
                                .order_by(Trunk.id).limit(1)))
    finally:
        engine.dispose()


def ended_call(platform, number: str, timeout: float = 40) -> CallRecord:  # type: ignore[no-untyped-def]
    def done() -> CallRecord | None:
        rows = [r for r in records_for(platform, CALLER) if r.callee == number]
        return rows[-1] if rows and rows[-1].status == "ended" else None

    return until(done, timeout=timeout, interval=0.3, what=f"call record of {number}")


def carrier_recorded(platform, number: str) -> bool:  # type: ignore[no-untyped-def]
    recdir, _ = lab_dirs(platform.settings)
    return any(recdir.glob(f"out-{number}-*.wav"))


def carrier_channel(platform, account: str, exten: str) -> bool:  # type: ignore[no-untyped-def]
    """A live lab channel of the carrier endpoint ``account`` in the carrier's dialplan at
    ``exten`` (concise: channel!context!exten!…)."""
    for line in lab_cli(platform, "core show channels concise").splitlines():
        fields = line.split("!")
        if len(fields) > 2 and fields[0].startswith(f"PJSIP/{account}-") and fields[2] == exten:
            return True
    return False


def test_a_prefix_leaves_by_its_route_and_the_rest_by_the_default(platform, admin,  # type: ignore[no-untyped-def]
                                                                  second_trunk) -> None:
    name, account = second_trunk
    default_id = first_trunk_id(platform)
    via = admin.post("/api/v1/outbound-routes", json={
        "name": "via-second", "prefixes": ["1009"], "trunk_ids": [
            admin.get("/api/v1/trunks?q=" + name).get_json()["trunks"][0]["id"]],
        "prepend": "00"})
    assert via.status_code == 201, via.get_json()
    default = admin.post("/api/v1/outbound-routes", json={"name": "default",
                                                         "trunk_ids": [default_id]})
    assert default.status_code == 201, default.get_json()
    suffix = f"{random.randrange(1000):03d}"

    # 1. a number with the prefix: over the second trunk, "00" in front
    routed = f"1009{suffix}"
    sent = f"00{routed}"
    labcall.phone_dials(platform.settings, PHONE, routed, hangup_after=8)
    until(lambda: carrier_channel(platform, account, sent), timeout=30, interval=0.3,
          what=f"the lab carrier receiving {sent} over account {account}")
    until(lambda: carrier_recorded(platform, sent), timeout=30,
          what="the carrier's recording of the routed call")
    row = ended_call(platform, routed)
    assert (row.direction, row.trunk) == ("outbound", name)
    assert row.dial_target == f"PJSIP/{sent}@{name}" and row.answered_at is not None

    # 2. any other number: the default route, the first trunk, as dialled
    plain = f"1004{suffix}"
    labcall.phone_dials(platform.settings, PHONE, plain, hangup_after=4)
    until(lambda: carrier_recorded(platform, plain), timeout=30,
          what="the carrier answering the default route's call")
    row = ended_call(platform, plain)
    assert row.trunk != name and row.dial_target == f"PJSIP/{plain}@{row.trunk}"
    assert not carrier_recorded(platform, f"00{plain}")


DEAD_CARRIER = "127.0.14.9"  # nothing listens there: a carrier that is down


def test_a_dead_first_trunk_fails_over_to_the_next(platform, admin, second_trunk) -> None:  # type: ignore[no-untyped-def]
    """A route's first trunk points at a carrier that is down: the platform dials the
    route's second trunk as a new leg and the call goes through; the record names the
    trunk that carried it."""
    settings = platform.settings
    dead = admin.post("/api/v1/trunks", json={
        "host": DEAD_CARRIER, "port": settings.lab.sip, "username": f"dead{secrets.token_hex(3)}",
        "secret": secrets.token_hex(12), "register": False, "channels": 10})
    assert dead.status_code == 201, dead.get_json()
    dead_trunk = dead.get_json()["trunk"]
    default_id = first_trunk_id(platform)
    route = admin.post("/api/v1/outbound-routes", json={
        "name": "failover", "prefixes": ["1006"], "trunk_ids": [dead_trunk["id"], default_id]})
    assert route.status_code == 201, route.get_json()
    route_id = route.get_json()["outbound_route"]["id"]
    platform_ast = stack.platform_instance(settings)
    try:
        # Asterisk's qualify finds the carrier down (no reply to OPTIONS within 3 s); from
        # then on a leg to it fails at once instead of after SIP's 32 s INVITE timeout.
        until(lambda: f"{dead_trunk['name']}/" in (out := platform_ast.cli("pjsip show contacts"))
              and "Unavail" in next(ln for ln in out.splitlines() if dead_trunk["name"] + "/" in ln),
              timeout=60, interval=1, what="the platform seeing the dead carrier unreachable")
        number = f"1006{random.randrange(1000):03d}"
        labcall.phone_dials(settings, PHONE, number, hangup_after=5)
        until(lambda: carrier_recorded(platform, number), timeout=40,
              what="the lab carrier answering over the second trunk of the route")
        row = ended_call(platform, number)
        assert row.trunk != dead_trunk["name"] and row.answered_at is not None
        assert row.dial_target == f"PJSIP/{number}@{row.trunk}"
    finally:
        admin.delete(f"/api/v1/outbound-routes/{route_id}")
        admin.delete(f"/api/v1/trunks/{dead_trunk['id']}")
