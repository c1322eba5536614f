"""Fuzz every ``/api/v1`` route: no input gives a 500, every error has the panel's shape.

The routes are read from the Flask URL map, so a new route is fuzzed without anyone
listing it. Each role (admin, supervisor, agent) sends generated requests: path ids
small, huge and negative; query strings of known and unknown parameters; JSON bodies
of any shape (the view's schema fields with values of every type, unknown fields,
deep nesting, huge strings, NaN, lone surrogates), broken JSON and form bodies. Then
every route meets a fixed table of hostile requests, so coverage does not depend on
what the generator happened to pick.

The module has its own database (the fuzzer creates and deletes queues, break reasons,
dispositions…; other modules must not see that) and its own app, with agent and
preview commands timing out at once (no daemon runs here: they answer 503).
Hypothesis is derandomized: the same examples every run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import select
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from controlplane.config import Settings, load_settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.migrate import upgrade
from controlplane.models import Role, Tenant, TenantAccess, User
from controlplane.models.acd import AgentBreakReason, Queue
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Disposition,
)
from controlplane.passwords import hash_password
from controlplane.seed import DEMO_DOMAIN, seed_demo
from web import create_app

PASSWORD = "fuzzy wuzzy was a bear"
ROLES = {
    "admin": f"admin@{DEMO_DOMAIN}",
    "supervisor": f"supervisor@{DEMO_DOMAIN}",
    "agent": f"agent1@{DEMO_DOMAIN}",
}
EXAMPLES_PER_ROLE = 150
HUGE_IDS = (2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**40)
SAFE_METHODS = {"HEAD", "OPTIONS"}
_SEGMENT = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


# ---- the world: a database of its own ----


@pytest.fixture(scope="module")
def fuzz_settings(tmp_path_factory: pytest.TempPathFactory, redis_port: int) -> Settings:
    runtime = tmp_path_factory.mktemp("fuzz-runtime")
    return load_settings(
        {
            "CENTRALA_RUNTIME_DIR": str(runtime),
            "CENTRALA_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CENTRALA_DATABASE_URL": f"sqlite:///{runtime / 'fuzz.db'}",
        }
    )


@pytest.fixture(scope="module")
def known_ids(fuzz_settings: Settings) -> list[int]:
    """Seed the demo tenant plus a queue, a break reason and a preview campaign with a
    record, an attempt and dispositions; returns their ids (real targets for the fuzzer)."""
    upgrade(fuzz_settings.database_url)
    engine = make_engine(fuzz_settings.database_url)
    factory = make_sessionmaker(engine)
    seed_demo(factory, fuzz_settings.runtime_dir, fuzz_settings.lab.sip)
    pw = hash_password(PASSWORD)
    try:
        with transaction(factory) as s:
            demo = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
            assert demo is not None
            users = list(s.scalars(select(User).where(User.tenant_id == demo.id)))
            for user in users:
                user.password_hash = pw
            agent = next(u for u in users if u.role is Role.AGENT)
            queue = Queue(tenant_id=demo.id, name="fuzz-q")
            brk = AgentBreakReason(tenant_id=demo.id, code="7", label="Lunch", kind="free")
            camp = Campaign(tenant_id=demo.id, name="fuzz-c", mode="preview", status="running",
                            caller_id_mode="fixed", fixed_caller_id="+48221000099",
                            window_start=dtime(0, 0), window_end=dtime(23, 59, 59),
                            window_days=[1, 2, 3, 4, 5, 6, 7], preview_batch_size=2)
            contact = Contact(tenant_id=demo.id, first_name="Fuzz")
            s.add_all([queue, brk, camp, contact])
            # Each role signs in again from a new client per example set: many workstations.
            s.add(TenantAccess(tenant_id=demo.id, one_workstation=False))
            s.flush()
            phone = ContactPhone(tenant_id=demo.id, contact_id=contact.id, number="+10001")
            s.add(phone)
            s.flush()
            rec = CampaignRecord(tenant_id=demo.id, campaign_id=camp.id, contact_id=contact.id,
                                 phone_id=phone.id, outcome_counts={}, state="done")
            disp = Disposition(tenant_id=demo.id, campaign_id=camp.id, code="sale",
                               label="Sale", success=True)
            s.add_all([rec, disp])
            s.flush()
            at = datetime.now(UTC) - timedelta(minutes=1)
            att = DialAttempt(tenant_id=demo.id, campaign_id=camp.id, record_id=rec.id,
                              number="+10001", agent_user_id=agent.id, mode="preview",
                              dial_at=at, ended_at=at, outcome="human")
            s.add(att)
            s.flush()
            ids = {u.id for u in users} | {queue.id, brk.id, camp.id, rec.id, disp.id, att.id}
    finally:
        engine.dispose()
    return sorted(ids)


@pytest.fixture(scope="module")
def fuzz_app(fuzz_settings: Settings, known_ids: list[int]) -> Iterator[Flask]:
    app = create_app(
        # streams end at once (a fuzzed SSE request would otherwise hold for the default
        # 300 s); no wallboard waker thread per app
        config={"TESTING": True, "ACD_COMMAND_TIMEOUT_S": 0.01, "SSE_BLOCK_MS": 10,
                "SSE_MAX_AGE_S": 0.5, "WALLBOARD_WAKE_ON_EVENTS": False},
        settings=fuzz_settings,
    )
    yield app
    app.extensions["centrala"].close()


@dataclass
class Caller:
    """A logged-in test client that logs in again if a fuzzed request ended its session."""

    client: FlaskClient
    address: str
    login: Callable[..., TestResponse]
    csrf: Callable[[FlaskClient], str]
    token: str = ""

    def sign_in(self) -> None:
        resp = self.login(self.client, self.address, PASSWORD)
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        self.token = self.csrf(self.client)

    def send(self, method: str, path: str, query: dict[str, str] | None = None,
             body: bytes | None = None, content_type: str = "application/json") -> TestResponse:
        resp = self._send(method, path, query, body, content_type)
        if resp.status_code == 401:  # e.g. it revoked its own sessions
            self.sign_in()
            resp = self._send(method, path, query, body, content_type)
        return resp

    def _send(self, method: str, path: str, query: dict[str, str] | None, body: bytes | None,
              content_type: str) -> TestResponse:
        return self.client.open(
            path, method=method, query_string=query, data=body,
            content_type=content_type if body is not None else None,
            headers={"X-CSRF-Token": self.token},
        )


@pytest.fixture
def callers(fuzz_app: Flask, login_form, csrf) -> Iterator[dict[str, Caller]]:  # type: ignore[no-untyped-def]
    # An earlier run may have deactivated or re-roled these users (DELETE and PUT
    # /api/v1/users/<id> take the known ids too): each role starts as itself again.
    with transaction(fuzz_app.extensions["centrala"].sessions) as s:
        for role, address in ROLES.items():
            user = s.scalar(select(User).join(Tenant).where(
                User.login == address.split("@")[0], Tenant.domain == DEMO_DOMAIN))
            assert user is not None
            user.active, user.role = True, Role(role)
    out = {}
    for role, address in ROLES.items():
        caller = Caller(fuzz_app.test_client(), address, login_form, csrf)
        caller.sign_in()
        out[role] = caller
    yield out


# ---- the routes, from the URL map ----


@dataclass(frozen=True)
class Route:
    rule: Rule
    method: str
    query_fields: tuple[str, ...]
    body_fields: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.method} {self.rule.rule}"


def _fields(model: type[BaseModel] | None) -> tuple[str, ...]:
    if model is None:
        return ()
    return tuple(f.alias or name for name, f in model.model_fields.items())


def api_routes(app: Flask) -> list[Route]:
    """Every (rule, method) under ``/api/v1``, with the field names its schemas declare."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        schemas = getattr(app.view_functions[rule.endpoint], "centrala_schemas", {}) or {}
        for method in sorted((rule.methods or set()) - SAFE_METHODS):
            out.append(Route(rule, method, _fields(schemas.get("query")),
                             _fields(schemas.get("body"))))
    return sorted(out, key=lambda r: r.name)


def int_params(route: Route) -> list[str]:
    return [m.group(3) for m in _SEGMENT.finditer(route.rule.rule) if m.group(1) == "int"]


def build_path(route: Route, values: dict[str, str]) -> str:
    """The rule with each ``<…:name>`` replaced by ``values[name]`` (URL-quoted)."""

    def fill(match: re.Match[str]) -> str:
        converter, args, name = match.groups()
        if name in values:
            return quote(values[name], safe="")
        if converter == "any":
            return args.split(",")[0].strip()
        return "1"

    return _SEGMENT.sub(fill, route.rule.rule)


# ---- what a response must look like ----


def check(resp: TestResponse, what: str) -> None:
    """Not a 500 (502/503 are honest: no daemon answers here); errors in the one shape."""
    status = resp.status_code
    text = resp.get_data(as_text=True)[:500]
    assert status < 500 or status in (502, 503), f"{what} -> {status}: {text}"
    if status < 400:
        return
    body = resp.get_json(silent=True)
    assert isinstance(body, dict) and set(body) == {"error"}, f"{what} -> {status}: {text}"
    err = body["error"]
    assert isinstance(err, dict), f"{what}: {text}"
    assert {"id", "message"} <= set(err) <= {"id", "message", "details"}, f"{what}: {text}"
    assert isinstance(err["id"], str) and err["id"], f"{what}: {text}"
    assert isinstance(err["message"], str), f"{what}: {text}"
    assert isinstance(err.get("details", {}), dict), f"{what}: {text}"
    assert "Traceback" not in text, f"{what}: {text}"


# ---- generated requests ----

NO_SURROGATES = st.characters(exclude_categories=("Cs",))  # a URL must encode as UTF-8
URL_TEXT = st.text(alphabet=NO_SURROGATES, max_size=40)
SPECIAL_NUMBERS = st.sampled_from(
    ["", "0", "-1", "1.5", "1e400", "nan", "9" * 30, "9" * 5000, "²", " 7 ", "0x10",
     "2025-03-01", "9999-12-31", "0001-01-01T00:00:00+01:00", "2025-02-30"]
)
QUERY_VALUE = st.one_of(
    st.integers(-(10**30), 10**30).map(str), SPECIAL_NUMBERS, URL_TEXT
)
BIG_INTS = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from(HUGE_IDS))
SCALARS = st.one_of(
    st.none(), st.booleans(), BIG_INTS, st.floats(), st.text(max_size=30),
    st.sampled_from(["running", "break", "login", "sale", "linear", "x" * 70_000]),
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=10,
    )


@st.composite
def requests(draw: st.DrawFn, routes: list[Route], ids: list[int]) -> tuple[Any, ...]:
    route = draw(st.sampled_from(routes))
    path_values = {}
    for name in int_params(route):
        path_values[name] = draw(st.one_of(
            st.sampled_from(ids), st.integers(0, 50), st.sampled_from(HUGE_IDS),
            st.integers(-(10**20), -1), st.integers(0, 10**30),
        ).map(str) | URL_TEXT)
    query_keys = st.sampled_from(route.query_fields) if route.query_fields else URL_TEXT
    query = draw(st.dictionaries(query_keys | URL_TEXT.filter(bool), QUERY_VALUE, max_size=3))
    keys = (st.sampled_from(route.body_fields) | st.text(max_size=8)) if route.body_fields \
        else st.text(max_size=8)
    kind = draw(st.sampled_from(["object", "object", "raw", "any", "raw", "none", "form"]))
    content_type = "application/json"
    body: bytes | None
    if kind == "object":
        body = json.dumps(draw(st.dictionaries(keys, json_values(keys), max_size=6))).encode()
    elif kind == "any":
        body = json.dumps(draw(json_values(keys))).encode()
    elif kind == "raw":
        body = draw(st.sampled_from([
            b"[" * 30_000, b'{"a":' * 5000, b"{", b"\xff\xfe{}", b"null", b'"\\ud800"',
            b'{"name": "\\u0000"}', b"1" * 5000, b"[" * 33 + b"]" * 33, b"\xef\xbb\xbf{}",
            b" ", b"x" * 70_000,
        ]))
    elif kind == "form":
        body, content_type = b"name=x&command=login&status=running", \
            "application/x-www-form-urlencoded"
    else:
        body = None
    return route, build_path(route, path_values), query, body, content_type


@pytest.mark.parametrize("role", list(ROLES))
def test_generated_requests_never_500(  # type: ignore[no-untyped-def]
    fuzz_app: Flask, callers, known_ids: list[int], role: str
) -> None:
    routes = api_routes(fuzz_app)
    assert len(routes) >= 30  # the map was read (a broken enumeration would fuzz nothing)
    caller = callers[role]
    started = time.monotonic()

    @settings(max_examples=EXAMPLES_PER_ROLE, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests(routes, known_ids))
    def fuzz(request: tuple[Any, ...]) -> None:
        route, path, query, body, content_type = request
        resp = caller.send(route.method, path, query, body, content_type)
        check(resp, f"{role} {route.method} {path} ?{query} body={body[:200] if body else None!r}")

    fuzz()
    print(f"{role}: {EXAMPLES_PER_ROLE} requests in {time.monotonic() - started:.1f}s")


# ---- a fixed table of hostile requests, for every route ----

HOSTILE_BODIES: list[tuple[str, bytes, str]] = [
    ("list", b"[1, 2]", "application/json"),
    ("string", b'"x"', "application/json"),
    ("deep", b"[" * 20_000 + b"]" * 20_000, "application/json"),  # under the size limit
    ("deep-object", b'{"a":' * 40 + b"1" + b"}" * 40, "application/json"),
    ("broken", b'{"a": ', "application/json"),
    ("not-utf8", b'{"a": "\xff"}', "application/json"),
    ("surrogate", b'{"a": "\\udc00"}', "application/json"),
    ("nul", b'{"a": "\\u0000"}', "application/json"),
    ("huge-int", b'{"a": ' + b"9" * 4400 + b"}", "application/json"),
    ("too-big", b'{"a": "' + b"x" * 70_000 + b'"}', "application/json"),
    ("unknown-field", b'{"no_such_field": 1}', "application/json"),
    ("form", b"a=1&b=%00", "application/x-www-form-urlencoded"),
]


def wrong_types(route: Route) -> list[tuple[str, bytes]]:
    """Each field of the route's body schema with each wrong JSON type."""
    out = []
    for field in route.body_fields:
        for label, value in (("list", ["x"]), ("object", {"x": 1}), ("string", "x" * 5000),
                             ("huge", 2**63), ("negative", -(2**63)), ("float", 1.5),
                             ("bool", True), ("nan", float("nan"))):
            out.append((f"{field}={label}", json.dumps({field: value}).encode()))
    return out


def test_every_route_meets_the_hostile_table(callers, fuzz_app: Flask) -> None:  # type: ignore[no-untyped-def]
    admin = callers["admin"]
    routes = api_routes(fuzz_app)
    for route in routes:
        params = int_params(route)
        for huge in (2**31, 2**63, 2**64):  # past PostgreSQL integer, SQLite's and any int64
            if params:
                path = build_path(route, {params[-1]: str(huge)})
                resp = admin.send(route.method, path)
                check(resp, f"{route.name} id={huge}")
                assert resp.status_code == 404, f"{route.name} id={huge}: {resp.status_code}"
        path = build_path(route, {})
        for label, body, content_type in HOSTILE_BODIES:
            check(admin.send(route.method, path, None, body, content_type),
                  f"{route.name} {label}")
        for label, body in wrong_types(route):
            check(admin.send(route.method, path, None, body), f"{route.name} {label}")
        for query in ({"page": str(2**63)}, {"per_page": "-1"}, {"from": "9999-12-31"},
                      {"zzz": "1"}, {"number": "\x00"}, {"page": "1", "x": "\x1b"}):
            check(admin.send(route.method, path, query), f"{route.name} ?{query}")
