"""Fixtures for the panel tests: a throwaway real Redis, a migrated SQLite file and two tenants.

The database is built once per session (argon2 and Alembic are slow) and the
tests only read it; Redis is flushed before every test.
"""

from __future__ import annotations

import threading
import time
import uuid
import wave
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from controlplane.config import Settings, load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.migrate import upgrade
from controlplane.models import CallRecord, PhoneEndpoint, Role, Tenant, TenantAccess, User
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN, seed_demo
from web import create_app

PASSWORD = "correct horse battery staple"
ACME_DOMAIN = "acme.example"
POLSKA_DOMAIN = "polska.example"  # a tenant left in Polish, the default
BASE_TIME = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
DEMO_RECORDS = 30  # started every 6 hours from BASE_TIME, newest = index 29


def until(predicate: Callable[[], bool], timeout: float = 10.0, step: float = 0.05) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(step)




@dataclass(frozen=True)
class World:
    """What the seeded database holds, by id."""

    demo_tenant: int
    acme_tenant: int
    demo_records: list[int]  # index i started at BASE_TIME + 6h*i
    acme_records: list[int]
    demo_recording: int  # a demo record with a WAV file (agent1's phone)
    demo_recording_bytes: bytes
    acme_recording: int
    outside_recording: int  # a demo record whose path points outside the recordings dir
    agent1_endpoint: str
    agent2_endpoint: str


def _write_wav(path: Path, seconds: float = 0.2) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(int(8000 * seconds) * 2))
    return path.read_bytes()


def _record(tenant_id: int, n: int, **kw: object) -> CallRecord:
    started = kw.pop("started_at", BASE_TIME + timedelta(hours=6 * n))
    assert isinstance(started, datetime)
    answered = n % 2 == 0
    fields: dict[str, object] = {
        "call_id": f"call-{tenant_id}-{n}",
        "tenant_id": tenant_id,
        "direction": "inbound",
        "status": "ended",
        "caller": f"+4860000{n:04d}",
        "callee": "1001",
        "did": "48221000001",
        "caller_channel": f"PJSIP/lab-{n}",
        "started_at": started,
        "answered_at": started + timedelta(seconds=5) if answered else None,
        "ended_at": started + timedelta(seconds=65),
        "duration_s": 65.0,
        "billsec_s": 60.0 if answered else 0.0,
        "hangup_cause": 16,
        "hangup_cause_txt": "Normal Clearing",
    }
    fields.update(kw)
    return CallRecord(**fields)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, redis_port: int) -> Settings:
    runtime = tmp_path_factory.mktemp("runtime")
    return load_settings(
        {
            "CENTRALA_RUNTIME_DIR": str(runtime),
            "CENTRALA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CENTRALA_DATABASE_URL": f"sqlite:///{runtime / 'centrala.db'}",
        }
    )


@pytest.fixture(scope="session")
def world(settings: Settings) -> World:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    seed_demo(factory, settings.runtime_dir, settings.lab.sip)
    pw = hash_password(PASSWORD)
    rec_dir = settings.recordings_dir
    with transaction(factory) as s:
        demo = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        assert demo is not None
        for user in s.scalars(select(User).where(User.tenant_id == demo.id)):
            user.password_hash = pw
        agent1 = s.scalar(select(User).where(User.tenant_id == demo.id, User.login == "agent1"))
        assert agent1 is not None
        agent2 = User(
            tenant_id=demo.id,
            login="agent2",
            display_name="Agent Two",
            role=Role.AGENT,
            password_hash=pw,
        )
        gone = User(
            tenant_id=demo.id, login="gone", role=Role.ADMIN, password_hash=pw, active=False
        )
        acme = Tenant(domain=ACME_DOMAIN, name="Acme", locale="en", time_zone="UTC")
        # The tests were written against English pages in UTC: both tenants read English (Polish
        # and Europe/Warsaw, the defaults, are checked on their own tenant, below).
        demo.locale, demo.time_zone = "en", "UTC"
        polska = Tenant(domain=POLSKA_DOMAIN, name="Polska")
        s.add_all([agent2, gone, acme, polska])
        s.flush()
        # Tests log one user in from many test clients (each a "workstation"), across
        # tests too; the one-workstation rule has its own tests (test_web_access_login).
        s.add_all([TenantAccess(tenant_id=t, one_workstation=False)
                   for t in (demo.id, acme.id, polska.id)])
        s.add_all([
            User(tenant_id=polska.id, login="szef", display_name="Szef Zmiany",
                 role=Role.ADMIN, password_hash=pw),
            User(tenant_id=polska.id, login="agentka", display_name="Anna Nowak",
                 role=Role.AGENT, password_hash=pw),
        ])
        phones = {
            p.extension: p
            for p in s.scalars(select(PhoneEndpoint).where(PhoneEndpoint.tenant_id == demo.id))
        }
        phones["1001"].user_id = agent1.id
        phones["1002"].user_id = agent2.id
        boss = User(tenant_id=acme.id, login="boss", role=Role.ADMIN, password_hash=pw)
        bob = User(tenant_id=acme.id, login="bob", role=Role.AGENT, password_hash=pw)
        s.add_all([boss, bob])
        s.flush()
        s.add(
            PhoneEndpoint(
                tenant_id=acme.id,
                name="acme-2001",
                extension="2001",
                secret="x" * 32,
                user_id=bob.id,
            )
        )

        demo_records = []
        for n in range(DEMO_RECORDS):
            rec = _record(demo.id, n, agent_endpoint=phones["1001" if n % 2 == 0 else "1002"].name)
            s.add(rec)
            demo_records.append(rec)
        # Same numbers in the other tenant: a number filter must never reach across.
        acme_records = [
            _record(acme.id, n, agent_endpoint="acme-2001", did="48330000001") for n in range(3)
        ]
        s.add_all(acme_records)
        wav = _write_wav(rec_dir / "demo-0.wav")
        demo_records[0].recording_path = str(rec_dir / "demo-0.wav")
        _write_wav(rec_dir / "acme-0.wav", 0.1)
        acme_records[0].recording_path = "acme-0.wav"  # relative to the recordings dir
        demo_records[2].recording_path = "../../../secrets.json"
        s.flush()
        result = World(
            demo_tenant=demo.id,
            acme_tenant=acme.id,
            demo_records=[r.id for r in demo_records],
            acme_records=[r.id for r in acme_records],
            demo_recording=demo_records[0].id,
            demo_recording_bytes=wav,
            acme_recording=acme_records[0].id,
            outside_recording=demo_records[2].id,
            agent1_endpoint=phones["1001"].name,
            agent2_endpoint=phones["1002"].name,
        )
    engine.dispose()
    return result


@pytest.fixture
def redis_client(redis_port: int) -> Iterator[redis.Redis]:
    client = redis.Redis(port=redis_port, decode_responses=True)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def app_config() -> dict[str, object]:
    """Overridable per test module; short blocking so stream tests stay fast."""
    # the wallboard's event waker is a thread per app: its own tests start one explicitly
    return {"TESTING": True, "SSE_BLOCK_MS": 200, "SSE_MAX_AGE_S": 10.0,
            "WALLBOARD_WAKE_ON_EVENTS": False}


@pytest.fixture
def app(
    settings: Settings, world: World, redis_client: redis.Redis, app_config: dict[str, object]
) -> Iterator[Flask]:
    application = create_app(config=app_config, settings=settings)
    yield application
    application.extensions["centrala"].close()


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


def csrf_of(client: FlaskClient) -> str:
    with client.session_transaction() as sess:
        token = sess.get("csrf")
    assert isinstance(token, str)
    return token


def do_login(client: FlaskClient, address: str, password: str = PASSWORD) -> TestResponse:
    """Open the login form (which sets the CSRF token) and submit it."""
    assert client.get("/login").status_code == 200
    return client.post(
        "/login",
        data={"address": address, "password": password, "csrf_token": csrf_of(client)},
    )


@pytest.fixture
def login(client: FlaskClient) -> Callable[..., TestResponse]:
    """``login("agent1@demo.centrala.local")`` logs the test client in and checks it worked."""

    def _login(address: str, password: str = PASSWORD) -> TestResponse:
        resp = do_login(client, address, password)
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return resp

    return _login


@pytest.fixture
def login_form() -> Callable[[FlaskClient, str, str], TestResponse]:
    return do_login


@pytest.fixture
def csrf() -> Callable[[FlaskClient], str]:
    return csrf_of


@pytest.fixture
def wait_until() -> Callable[..., None]:
    return until


class Clock:
    """An injectable ``CLOCK`` for the panel (``app.config["CLOCK"] = clock``) that tests move."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


_clock_starts = iter(range(1, 100_000))


@pytest.fixture
def clock(app: Flask) -> Clock:
    """A clock installed in ``app``, starting far in the future at a time no other test
    uses: rows written at real times (or by other tests) never fall in its windows."""
    c = Clock(datetime(2100, 1, 1, tzinfo=UTC) + timedelta(days=next(_clock_starts)))
    app.config["CLOCK"] = c
    return c


@pytest.fixture
def demo_in_polish(app: Flask, world: World) -> Iterator[None]:
    """The demo tenant speaks Polish (its default as a real tenant) for one test; the shared
    fixtures keep it English, so the many English assertions of older tests stay as they are."""
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        tenant = s.get(Tenant, world.demo_tenant)
        assert tenant is not None
        tenant.locale = "pl"
    yield
    with transaction(factory) as s:
        tenant = s.get(Tenant, world.demo_tenant)
        assert tenant is not None
        tenant.locale = "en"


@pytest.fixture
def person(app: Flask, world: World) -> Iterator[tuple[int, str]]:
    """A fresh supervisor of the demo tenant (id, address) whose password and sessions tests
    may change without touching anyone else's; gone again afterwards (with its sessions),
    so no other test meets an extra user."""
    login = f"p-{uuid.uuid4().hex[:8]}"
    factory = app.extensions["centrala"].sessions
    with transaction(factory) as s:
        # A supervisor: its tests follow the login to the call records, where agents would
        # land on their own status page instead.
        user = User(tenant_id=world.demo_tenant, login=login, role=Role.SUPERVISOR,
                    password_hash=hash_password(PASSWORD))
        s.add(user)
        s.flush()
        uid = user.id
    yield uid, f"{login}@{DEMO_DOMAIN}"
    with transaction(factory) as s:
        s.execute(delete(User).where(User.id == uid))  # sessions go by ON DELETE CASCADE


@contextmanager
def serve_app(app: Flask) -> Iterator[str]:
    """The panel app served on a free loopback port in threads (for Chromium); its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def sign_in(page: Any, base: str, address: str, password: str = PASSWORD) -> None:
    """Log in through the panel's login form in a Chromium page."""
    page.goto(f"{base}/login")
    page.fill("input[name=address]", address)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_load_state()
