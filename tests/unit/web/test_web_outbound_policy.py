"""The outbound policy page and API: per-field validation (shape 400, rules 422, never 500),
roles, tenants, the audit line of every change, and the refused reason on the call records
page."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import CallRecord, SecurityEvent
from controlplane.models.outbound import OutboundPolicy
from controlplane.security.outbound_policy import Policy
from controlplane.seed import DEMO_DOMAIN
from web.outbound_policy import InvalidPolicy, parse_policy

ADMIN = f"admin@{DEMO_DOMAIN}"
SUPERVISOR = f"supervisor@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
ACME_ADMIN = "boss@acme.example"
PATH = "/api/v1/outbound-policy"


@pytest.fixture
def store(settings, world):  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:  # every test starts from the defaults
        s.execute(delete(OutboundPolicy))
    yield factory
    engine.dispose()


def put(client, csrf, body: Any):  # type: ignore[no-untyped-def]
    return client.put(PATH, json=body, headers={"X-CSRF-Token": csrf(client)})


def errors_of(resp, status: int = 422, error_id: str = "invalid_policy") -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)
    err = resp.get_json()["error"]
    assert err["id"] == error_id
    return {e["field"]: e["message"] for e in err["details"]["errors"]}


@pytest.mark.parametrize(("body", "fields"), [
    ({"region": "XX"}, {"region"}),
    ({"region": 48}, {"region"}),
    ({"allowed": "international"}, {"allowed"}),
    ({"allowed": ["international", "moon"]}, {"allowed[1]"}),
    ({"allowed": ["invalid"]}, {"allowed[0]"}),
    ({"max_concurrent": -1}, {"max_concurrent"}),
    ({"max_concurrent": "ten"}, {"max_concurrent"}),
    ({"max_per_hour": 1.5}, {"max_per_hour"}),
    ({"max_per_hour": True}, {"max_per_hour"}),
    ({"max_per_hour": 10**9}, {"max_per_hour"}),
    ({"max_calls": 5}, {"max_calls"}),
    ({"region": "", "max_concurrent": None, "max_per_hour": []},
     {"region", "max_concurrent", "max_per_hour"}),  # every problem at once
])
def test_bad_input_names_each_field(body: dict[str, Any], fields: set[str]) -> None:
    with pytest.raises(InvalidPolicy) as err:
        parse_policy(body, Policy())
    assert set(err.value.by_field()) == fields


def test_partial_update_keeps_the_rest() -> None:
    p = parse_policy({"allowed": ["national", "international", "emergency"]}, Policy())
    assert {c.value for c in p.allowed} == {"national", "international"}
    assert (p.region, p.max_concurrent, p.max_per_hour) == ("PL", 30, 600)
    assert parse_policy({"region": "gb", "max_per_hour": "20"}, p).region == "GB"


def test_api_reads_defaults_and_admin_changes_them(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    body = client.get(PATH).get_json()
    assert body["policy"] == {"region": "PL", "allowed": ["national", "tollfree"],
                              "max_concurrent": 30, "max_per_hour": 600}
    assert body["always_allowed"] == ["emergency"]
    assert {c["name"]: c["allowed"] for c in body["classes"]}["international"] is False
    resp = put(client, csrf, {"allowed": ["national", "tollfree", "international"],
                              "max_per_hour": 100})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json()["policy"]["allowed"] == ["national", "tollfree", "international"]
    assert client.get(PATH).get_json()["policy"]["max_per_hour"] == 100
    with store() as s:
        event = s.scalars(select(SecurityEvent).where(SecurityEvent.kind == "outbound.policy")
                          .order_by(SecurityEvent.id.desc())).first()
    assert event is not None and event.actor == ADMIN
    assert event.detail["changed"]["max_per_hour"] == {"from": 600, "to": 100}


def test_api_rules_are_422_with_fields(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    assert set(errors_of(put(client, csrf, {"allowed": ["satelite"], "max_concurrent": -3}))) \
        == {"allowed[0]", "max_concurrent"}
    assert errors_of(put(client, csrf, {"region": "XX"})) == {
        "region": "must be a two-letter region code such as PL, GB or DE"}


@pytest.mark.parametrize(("body", "errors"), [
    ({"max_calls": 5}, {"max_calls": "unknown field (allowed: region, allowed, max_concurrent, "
                                     "max_per_hour)"}),
    ({"region": 48, "max_per_hour": "20"}, {"region": "must be a string, got a number",
                                            "max_per_hour": "must be a whole number, got a "
                                                            "string"}),
    ({"allowed": "national"}, {"allowed": "must be a list, got a string"}),
    ({"max_concurrent": True}, {"max_concurrent": "must be a whole number, got true/false"}),
    ({"max_concurrent": 2**31}, {"max_concurrent": "must be less than or equal to 2147483647"}),
    (["national"], {"body": "must be an object, got a list"}),
])
def test_api_shape_is_400_naming_each_field(client, login, csrf, store, body: Any,  # type: ignore[no-untyped-def]
                                            errors: dict[str, str]) -> None:
    login(ADMIN)
    assert errors_of(put(client, csrf, body), 400, "invalid") == errors
    resp = client.put(PATH, data="not json", headers={"X-CSRF-Token": csrf(client),
                                                     "Content-Type": "application/json"})
    assert resp.status_code == 400  # (the panel's JSON guard answers it)
    assert client.get(PATH + "?verbose=1").status_code == 400
    assert client.get(PATH).get_json()["policy"]["max_concurrent"] == 30  # nothing saved


def test_roles_and_tenants(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(SUPERVISOR)
    assert client.get(PATH).status_code == 200
    assert put(client, csrf, {"max_per_hour": 1}).status_code == 403
    login(AGENT1)
    assert client.get(PATH).status_code == 403
    login(ACME_ADMIN)
    assert put(client, csrf, {"allowed": ["premium"]}).status_code == 200
    login(ADMIN)
    assert client.get(PATH).get_json()["policy"]["allowed"] == ["national", "tollfree"]


def test_page_shows_and_saves_the_form(client, login, csrf, store) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    page = client.get("/outbound-policy").get_data(as_text=True)
    assert 'name="allow_international"' in page and "Emergency numbers are always allowed" in page
    resp = client.post("/outbound-policy", data={
        "csrf_token": csrf(client), "region": "PL", "allow_national": "1",
        "allow_satellite": "1", "max_concurrent": "5", "max_per_hour": "x"})
    assert resp.status_code == 422  # a rule broken, as on the queue form
    assert 'data-error-for="max_per_hour"' in resp.get_data(as_text=True)
    resp = client.post("/outbound-policy", data={
        "csrf_token": csrf(client), "region": "PL", "allow_national": "1",
        "allow_satellite": "1", "max_concurrent": "5", "max_per_hour": "50"})
    assert resp.status_code == 302
    assert client.get(PATH).get_json()["policy"]["allowed"] == ["national", "satellite"]
    login(SUPERVISOR)
    assert client.post("/outbound-policy", data={"csrf_token": csrf(client)}).status_code == 403


def test_records_show_why_a_call_was_refused(client, login, store, world) -> None:  # type: ignore[no-untyped-def]
    with transaction(store) as s:
        row = s.get(CallRecord, world.demo_records[-1])
        row.refused_reason = "international numbers not allowed (+44 (GB) unknown)"
    try:
        login(ADMIN)
        assert "refused: international numbers not allowed" in client.get(
            "/calls/records").get_data(as_text=True)
        rows = client.get("/api/v1/calls/records").get_json()["records"]
        assert rows[0]["refused_reason"].startswith("international numbers")
    finally:
        with transaction(store) as s:
            s.get(CallRecord, world.demo_records[-1]).refused_reason = None
