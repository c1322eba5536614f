"""Bad input is a clear 4xx naming what and where, before any view runs; a bug is a 500 in
the same shape with an incident id in the log. Table-driven cases (the fuzzer in
``test_web_fuzz`` covers every route; these pin down the answers)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from controlplane.db import make_engine, make_sessionmaker
from controlplane.models import Tenant, User
from controlplane.seed import DEMO_DOMAIN

ADMIN = f"admin@{DEMO_DOMAIN}"
AGENT1 = f"agent1@{DEMO_DOMAIN}"
HUGE = (2**31, 2**63 - 1, 2**63, 2**64, 10**30)


@pytest.fixture
def user_ids(settings) -> dict[str, int]:  # type: ignore[no-untyped-def]
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            rows = s.execute(select(User.login, Tenant.domain, User.id).join(Tenant)).all()
    finally:
        engine.dispose()
    return {f"{login}@{domain}": uid for login, domain, uid in rows}


def send(client, csrf, method: str, path: str, body: Any = None, **kw: Any):  # type: ignore[no-untyped-def]
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return client.open(path, method=method, data=body,
                       content_type=kw.pop("content_type", "application/json"),
                       headers={"X-CSRF-Token": csrf(client)}, **kw)


def error_of(resp, status: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    body = resp.get_json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    return err


@pytest.mark.parametrize("huge", HUGE)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/queues/{}"),
        ("PUT", "/api/v1/queues/{}"),
        ("DELETE", "/api/v1/queues/{}"),
        ("GET", "/api/v1/agents/{}"),
        ("DELETE", "/api/v1/campaigns/1/dispositions/{}"),  # a PUT rule shares the path
        ("GET", "/api/v1/campaigns/{}/attempts"),
    ],
)
def test_ids_out_of_range_are_404(client, login, csrf, method: str, path: str, huge: int) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    err = error_of(send(client, csrf, method, path.format(huge), {}), 404)
    assert err["id"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/queues/{2**63}"),
        ("POST", f"/agents/{2**64}"),
        ("GET", f"/ivr/flows/main/v/{2**63}"),
        ("GET", f"/calls/records/{2**63}/recording"),
        ("POST", f"/attempts/{2**63}/disposition"),
    ],
)
def test_pages_with_ids_out_of_range_are_404(client, login, csrf, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = client.open(path, method=method, data={"csrf_token": csrf(client)})
    assert resp.status_code == 404
    assert "out of range" in resp.get_data(as_text=True)


def test_wrong_types_are_400_naming_the_field(client, login, csrf, user_ids) -> None:  # type: ignore[no-untyped-def]
    login(AGENT1)
    path = f"/api/v1/agents/{user_ids[AGENT1]}/command"
    err = error_of(send(client, csrf, "POST", path, {"command": "break", "reason": ["2"]}), 400)
    assert err["id"] == "invalid"
    assert err["details"]["field"] == "reason"
    assert err["details"]["message"] == "must be a string, got a list"
    assert err["details"]["errors"] == [
        {"field": "reason", "message": "must be a string, got a list", "pointer": "/reason"}
    ]
    err = error_of(send(client, csrf, "POST", path, {"command": {"name": "login"}}), 400)
    assert err["details"]["field"] == "command"
    err = error_of(send(client, csrf, "POST", path, ["login"]), 400)
    assert (err["details"]["field"], err["details"]["message"]) == ("body", "must be an object, "
                                                                    "got a list")


def test_unknown_fields_are_refused_by_name(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    err = error_of(send(client, csrf, "POST", "/api/v1/campaigns/1/status",
                        {"status": "paused", "colour": "red"}), 400)
    assert err["message"] == "field 'colour': unknown field (allowed: status)"
    err = error_of(send(client, csrf, "POST", "/api/v1/break-reasons",
                        {"code": "5", "penalty": 1}), 400)
    assert err["details"]["field"] == "penalty"
    assert "allowed: code, label, kind, max_on_break" in err["details"]["message"]
    # a route that takes no body says so for every field sent
    err = error_of(send(client, csrf, "DELETE", "/api/v1/queues/1", {"force": True}), 400)
    assert err["message"] == "field 'force': unknown field (this request takes no body)"


def test_query_parameters_unknown_repeated_or_dirty_are_400(client, login) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    err = error_of(client.get("/api/v1/agents?verbose=1"), 400)
    assert (err["id"], err["details"]["parameter"]) == ("bad_parameter", "verbose")
    err = error_of(client.get("/api/v1/calls/records?page=1&page=2"), 400)
    assert err["message"] == "parameter 'page': given more than once"
    err = error_of(client.get("/api/v1/calls/records?colour=red"), 400)
    assert err["message"].startswith("parameter 'colour': unknown parameter (allowed: from, to")
    err = error_of(client.get("/api/v1/calls/records?number=12%003"), 400)
    assert err["message"] == "parameter 'number': contains control characters"
    err = error_of(client.get("/api/v1/calls/records?to=9999-12-31"), 400)
    assert err["message"] == "parameter 'to': '9999-12-31' is outside the years 1-9999"
    err = error_of(client.get(f"/api/v1/campaigns/1/attempts?page={2**63}"), 400)
    assert err["message"] == "parameter 'page': must be less than or equal to 1000000"


@pytest.mark.parametrize(
    ("body", "status", "error_id", "message"),
    [
        (b"[" * 20_000 + b"]" * 20_000, 400, "invalid_json",
         "the JSON body nests deeper than 32 levels (line 1)"),
        (b'{"a":\n' * 40 + b"1" + b"}" * 40, 400, "invalid_json",
         "the JSON body nests deeper than 32 levels (line 33)"),
        (b'{"command": ', 400, "invalid_json", "the body is not valid JSON: Expecting value: "
         "line 1 column 13 (char 12)"),
        (b'{"command": "\xff"}', 400, "invalid_json", "the JSON body is not UTF-8 (byte 13)"),
        (b'{"command": "\\ud800"}', 400, "invalid_json",
         "a string at /command holds NUL or a lone surrogate (\\ud800-\\udfff)"),
        (b'{"a": {"b\\u0000": 1}}', 400, "invalid_json",
         "a string at /a/b\\x00 holds NUL or a lone surrogate (\\ud800-\\udfff)"),
        (b'"' + b"x" * 70_000 + b'"', 413, "too_large",
         "the request body is larger than 65536 bytes"),
    ],
    ids=["deep-list", "deep-object", "broken", "not-utf8", "surrogate", "nul-key", "too-big"],
)
def test_json_bodies_are_bounded_before_any_view(  # type: ignore[no-untyped-def]
    client, body: bytes, status: int, error_id: str, message: str
) -> None:
    # Logged out and without a CSRF token: the guard answers before login or CSRF checks.
    resp = client.post("/api/v1/agents/1/command", data=body, content_type="application/json")
    err = error_of(resp, status)
    assert (err["id"], err["message"]) == (error_id, message)


def test_json_routes_say_when_the_body_is_not_json(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = client.post("/api/v1/queues", data={"name": "x", "csrf_token": csrf(client)})
    err = error_of(resp, 400)
    assert err["message"] == "field 'body': send a JSON object (Content-Type: application/json)"


def test_a_bug_is_a_500_in_the_error_shape_with_an_incident_in_the_log(  # type: ignore[no-untyped-def]
    app: Flask, client, caplog
) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/test-boom", "test_boom", boom)
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        resp = client.get("/api/v1/test-boom")
    err = error_of(resp, 500)
    incident = err["details"]["incident"]
    assert err == {
        "id": "internal_error",
        "message": f"internal error (incident {incident}); see the panel log",
        "details": {"incident": incident},
    }
    assert "secret internals" not in resp.get_data(as_text=True)
    logged = [r for r in caplog.records if incident in r.getMessage()]
    assert logged and "secret internals" in (logged[0].exc_text or "")


# ---- pages: the same rules, errors in place ----


def test_queue_form_numbers_out_of_range_are_field_errors(  # type: ignore[no-untyped-def]
    client, login, csrf, user_ids
) -> None:
    login(ADMIN)
    agent = user_ids[AGENT1]
    resp = client.post("/queues/new", data={
        "csrf_token": csrf(client), "name": "range-check", "strategy": "linear",
        "ring_timeout_s": "1e300", "max_waiting": "9" * 20, "overflow_queue_id": str(2**63),
        f"member_{agent}": "1", f"penalty_{agent}": str(2**40),
    })
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    for field in ("ring_timeout_s", "max_waiting", "overflow_queue_id", f"members.{agent}.penalty"):
        assert f'data-error-for="{field}"' in page, field
    assert "max_waiting: must be between -2147483647 and 2147483647" in page


def test_ivr_upload_of_a_deep_document_is_refused_in_place(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    text = '{"format_version": 1,\n "nodes": ' + "[" * 30_000 + "]" * 30_000 + "}"
    resp = client.post("/ivr/upload", content_type="multipart/form-data", data={
        "csrf_token": csrf(client), "name": "deep", "action": "check",
        "file": (io.BytesIO(text.encode()), "flow.json"),
    })
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "the document nests lists and objects deeper than 32 levels" in page
    assert '<tr id="L2" class="has-error">' in page  # on the line where the limit is passed
    assert '<tr id="L1">' in page


def test_ivr_pages_refuse_bad_names_and_versions(client, login, csrf) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    assert client.get("/ivr/flows/%01boom").status_code == 400
    assert client.get("/ivr/flows/" + "x" * 300).status_code == 404
    for version in ("9" * 30, "9" * 5000, "-1", "²"):
        resp = client.post("/ivr/flows/main/rollback",
                           data={"csrf_token": csrf(client), "version": version})
        assert resp.status_code == 400, version
        assert "parameter &#39;version&#39;" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    ["/calls/records?endpoint=x", "/calls/records?page=%C2%B2", "/campaigns/1/attempts?page=²",
     f"/campaigns/1/attempts?page={2**63}"],
)
def test_page_parameters_are_400_with_the_message(client, login, path: str) -> None:  # type: ignore[no-untyped-def]
    login(ADMIN)
    resp = client.get(path)
    assert resp.status_code == 400
    assert "parameter &#39;" in resp.get_data(as_text=True)
