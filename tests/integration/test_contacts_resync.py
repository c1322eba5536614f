"""Phone registration state survives a control-plane restart (issue 12 item 8).

ContactStatus events only report changes, so what changed while the control plane was
down was never seen: the phones page showed a stale state until the phone happened to
re-REGISTER. Now the daemon re-reads Asterisk's contacts (``PJSIPShowContacts``) on every
AMI (re)connection. Here: baresip is registered; the control plane is killed; its contact
state is lost (the Redis hash emptied, plus an AOR that no longer exists); after the
restart the panel reads "registered" again -- well before baresip's next REGISTER
(``regint=300``), which the test checks it did not send.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import pytest
import redis
from flask.testing import FlaskClient
from helpers import until
from labtools import panel_login
from sqlalchemy import select

from controlplane.bus import CONTACTS_KEY
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import PhoneEndpoint, Tenant, User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN
from dialplan.lab import BARESIP_PHONE
from web import create_app

pytestmark = pytest.mark.integration
PASSWORD = "contacts resync test"


@pytest.fixture
def admin(platform) -> Iterator[FlaskClient]:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    with transaction(make_sessionmaker(engine)) as s:
        user = s.scalar(select(User).join(Tenant).where(User.login == "admin",
                                                        Tenant.domain == DEMO_DOMAIN))
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
    engine.dispose()
    app = create_app(config={"TESTING": True}, settings=platform.settings)
    with app.test_client() as client:
        assert panel_login(client, f"admin@{DEMO_DOMAIN}", PASSWORD).status_code == 302
        yield client
    app.extensions["centrala"].close()


def _registration(admin: FlaskClient, phone_id: int) -> str:
    return str(admin.get(f"/api/v1/phones/{phone_id}").get_json()["phone"]["registration"])


def _registrations(platform) -> int:  # type: ignore[no-untyped-def]
    """How many times baresip was told its REGISTER succeeded (its log)."""
    log = platform.settings.runtime_dir / "log" / "baresip.log"
    return log.read_text(errors="replace").count("200 OK") if log.exists() else 0


def test_registration_state_is_re_read_after_a_restart(platform, admin) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("baresip") is None:
        pytest.skip("baresip is not installed")
    engine = make_engine(platform.settings.database_url)
    with make_sessionmaker(engine)() as s:
        phone_id = s.scalar(select(PhoneEndpoint.id).where(PhoneEndpoint.name == BARESIP_PHONE))
    engine.dispose()
    assert phone_id is not None
    until(lambda: _registration(admin, phone_id) == "registered", timeout=40,
          what="baresip registered before the restart")
    before = _registrations(platform)

    r = redis.Redis.from_url(platform.settings.redis_url_for("admin"), decode_responses=True)
    try:
        platform.kill_controlplane()
        # What the daemon knew is lost (or stale): nothing for baresip, a phone long gone.
        r.hdel(CONTACTS_KEY, BARESIP_PHONE)
        r.hset(CONTACTS_KEY, "demo-gone-phone", "Reachable")
        assert _registration(admin, phone_id) == "unregistered"
        started = time.monotonic()
        platform.start_controlplane()
        until(lambda: _registration(admin, phone_id) == "registered", timeout=30,
              what="the restarted control plane re-read baresip's contact")
        took = time.monotonic() - started
        assert r.hget(CONTACTS_KEY, BARESIP_PHONE) in {"Reachable", "NonQualified", "Created"}
        until(lambda: not r.hexists(CONTACTS_KEY, "demo-gone-phone"), timeout=10,
              what="the stale AOR dropped")
    finally:
        r.close()
    # Read from Asterisk, not from a new REGISTER (baresip refreshes every 300 s).
    assert _registrations(platform) == before, "baresip registered again: the test proves nothing"
    assert took < 30
