"""The API describes itself: ``/api/v1/openapi.json`` (OpenAPI 3.1) and ``/api/docs``.

The document is generated from the URL map and the views' schemas (web.api.openapi):
these tests check it validates, names every route, carries each view's roles, request
models and the error shape, and that the reference page renders it in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from controlplane.db import transaction
from controlplane.models import User
from web.api import openapi


@pytest.fixture
def doc(client: FlaskClient, login: Callable[..., object]) -> dict[str, Any]:
    login("agent1@demo.centrala.local")  # any role may read it
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert isinstance(body, dict)
    return body


def test_the_document_validates_as_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any error


def test_every_api_route_and_method_is_described(app: Flask, doc: dict[str, Any]) -> None:
    for rule in openapi.api_rules(app):
        path, _ = openapi.openapi_path(rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in doc["paths"].get(path, {}), f"{method} {rule.rule}"
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), "operation ids are unique"


def test_roles_scopes_and_request_models_come_from_the_views(doc: dict[str, Any]) -> None:
    create = doc["paths"]["/api/v1/queues"]["post"]
    assert create["x-centrala-roles"] == ["admin"]
    assert create["x-centrala-scope"] == "admin"  # a change only administrators may make
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/QueueBody"}
    assert "QueueBody" in doc["components"]["schemas"]
    command = doc["paths"]["/api/v1/agents/{user_id}/command"]["post"]
    assert command["x-centrala-scope"] == "write"
    assert command["parameters"][0] == {"name": "user_id", "in": "path", "required": True,
                                        "schema": {"type": "integer", "minimum": 0,
                                                   "maximum": 2**31 - 1}}
    records = doc["paths"]["/api/v1/calls/records"]["get"]
    assert records["x-centrala-scope"] == "read"
    names = {p["name"] for p in records["parameters"]}
    assert {"page", "number"} <= names, names
    upload = doc["paths"]["/api/v1/campaigns/{campaign_id}/imports"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]


def test_every_operation_declares_the_error_shape(doc: dict[str, Any]) -> None:
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status in ("400", "401", "403", "404", "429", "default"):
                content = op["responses"][status]["content"]["application/json"]
                assert content["schema"] == error, (method, path, status)
    shape = doc["components"]["schemas"]["ErrorBody"]
    assert set(shape["required"]) == {"id", "message"}


def test_the_description_needs_a_login_and_is_built_once(app: Flask,
                                                         client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 401
    assert client.get("/api/docs").status_code == 401  # under /api/: the error shape
    assert openapi.document(app) is openapi.document(app)


def test_the_description_takes_no_parameters(client: FlaskClient, doc: dict[str, Any]) -> None:
    assert client.get("/api/v1/openapi.json?x=1").status_code == 400


@pytest.mark.parametrize(("language", "title", "scope"), [
    (None, "Dokumentacja API", "administracja"),  # a Polish tenant's default
    ("en", "API reference", "administration"),  # the user's own choice
])
def test_the_reference_page_renders_every_operation(
        app: Flask, client: FlaskClient, login: Callable[..., object],
        person: tuple[int, str], language: str | None, title: str, scope: str,
        demo_in_polish: None) -> None:
    with transaction(app.extensions["centrala"].sessions) as s:
        user = s.get(User, person[0])
        assert user is not None
        user.locale = language
    login(person[1])
    doc = client.get("/api/v1/openapi.json").get_json()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"<h1>{title}" in html
    assert scope in html  # the scope's label, not its value
    for item in doc["paths"].values():
        for op in item.values():
            assert f'id="{op["operationId"]}"' in html
    # CSP: nothing inline, nothing from a CDN (the layout's own static scripts are fine)
    assert "<script>" not in html and not re.search(r'<script[^>]+src="(?!/static/)', html)
