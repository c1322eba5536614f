"""The OpenAPI 3.1 description of ``/api/v1``, generated from the app's URL map.

Theory of operation: every ``/api/v1`` view already carries what a description needs --
its request models (``centrala_schemas``, :func:`web.validation.validated`), the roles
that may call it (``centrala_roles``, :func:`web.auth.login_required`) and, when declared,
its response models (``centrala_responses``, :func:`web.api.responses.responds`). This
module walks ``app.url_map`` once, turns each rule and method into an operation, and
collects every pydantic model's JSON Schema (2020-12, which OpenAPI 3.1 takes as it is)
under ``components/schemas``. The document is built on first request and cached on the
app: nothing of it runs on an ordinary API request.

Why generated rather than a library (measured on this code base, December; bench script
in the helper's report): spectree 3.0.0, flask-openapi3 4.3.2 and APIFlask 3.1.2 each
validate the request themselves, so adopting one means re-decorating all 38 ``/api/v1``
views in 10 modules owned by other rooms (at least two lines each: the decorator and the
argument name) and re-plumbing their validation error (spectree answers 422 in its own
shape) into ours. Generating from what the views already declare changed 0 views.

==========================  ==========================  ================================
POST with a 2-field body,   generated here              spectree 3.0.0 ``@api.validate``
Flask test client, timeit   (``@validated``, as today)
(best of 5 × 3000, on the
loaded 2-core machine)
==========================  ==========================  ================================
over a bare view            +300 µs                     +1,100 µs
building the description    ~12 ms, once per process    (not measured)
==========================  ==========================  ================================

Requirement of an operation (``x-centrala-scope``): a safe method needs an API token with
scope ``read``; any other needs ``write``, and ``admin`` when only administrators may call
the route (:func:`required_scope`, the rule :mod:`controlplane.api_access.scopes` applies).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from controlplane.api_access.scopes import required_scope
from web.api.responses import ErrorResponse

API_PREFIX = "/api/v1"
OPENAPI_VERSION = "3.1.0"
MAX_ID = 2**31 - 1
REF = "#/components/schemas/{model}"
_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_SAFE = ("GET", "HEAD", "OPTIONS")
# Every operation may answer these with the error shape (web.errors), whatever it does.
_ERRORS = {
    "400": "bad input: a parameter or field is wrong (``details`` names it)",
    "401": "no valid session or API token",
    "403": "the role or the token's scope does not allow this",
    "404": "no such object (in your tenant)",
    "429": "the tenant's monthly API request limit is used up",
}
_DEFAULT_ERROR = "any other error, in the same shape (422 form errors, 409 conflicts, 413, 500)"
_SCOPE_TEXT = {"read": "read", "write": "write", "admin": "admin"}


def api_rules(app: Flask) -> list[Rule]:
    """The rules under ``/api/v1``, in path order."""
    rules = [r for r in app.url_map.iter_rules()
             if r.rule == API_PREFIX or r.rule.startswith(API_PREFIX + "/")]
    return sorted(rules, key=lambda r: (r.rule, sorted(r.methods or ())))


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/calls/<int:call_id>`` → ``/calls/{call_id}`` and its path parameters."""
    params: list[dict[str, Any]] = []

    def sub(match: re.Match[str]) -> str:
        name, conv = match["name"], match["conv"] or "default"
        if conv == "int":
            schema: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
        else:
            # the request guard refuses control characters in a path (web.request_limits)
            schema = {"type": "string", "minLength": 1,
                      "pattern": r"^[^/\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(sub, rule), params


def _tag(path: str) -> str:
    rest = path.removeprefix(API_PREFIX).strip("/")
    return rest.split("/", 1)[0] or "api"


def _roles(view: Any) -> list[str]:
    roles = getattr(view, "centrala_roles", None)
    return sorted(r.value for r in roles) if roles else []


def _models(app: Flask) -> list[type[BaseModel]]:
    """Every model named by an API view, and the error shape."""
    found: dict[str, type[BaseModel]] = {"ErrorResponse": ErrorResponse}
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        for model in (getattr(view, "centrala_schemas", None) or {}).values():
            if model is not None:
                found.setdefault(model.__name__, model)
        for model, _ in getattr(view, "centrala_responses", {}).values():
            if model is not None:
                found.setdefault(model.__name__, model)
    return list(found.values())


def _components(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Every model's schema, in validation mode for requests and serialization for
    responses, all under ``components/schemas`` (nested ones included)."""
    pairs = [(m, "validation") for m in models]
    _, top = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    return schemas


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = schemas[model.__name__]
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                 "schema": {k: v for k, v in prop.items() if k != "title"}}
        if "description" in prop:
            param["description"] = prop["description"]
        params.append(param)
    return params


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _responses(view: Any, rule: Rule) -> dict[str, Any]:
    declared: dict[int, tuple[type[BaseModel] | None, str]] = getattr(
        view, "centrala_responses", {})
    out: dict[str, Any] = {}
    for code, (model, content_type) in sorted(declared.items()):
        entry: dict[str, Any] = {"description": model.__doc__.strip().split("\n")[0]
                                 if model is not None and model.__doc__ else "success"}
        if model is not None:
            entry["content"] = {content_type: {"schema": _ref(model)}}
        out[str(code)] = entry
    if not any(s < 300 for s in declared):
        if rule.rule.endswith(".csv"):
            content = {"text/csv": {"schema": {"type": "string"}}}
        else:
            content = {"application/json": {"schema": {}}}
        out["200"] = {"description": "success", "content": content}
    error = {"application/json": {"schema": _ref(ErrorResponse)}}
    for status, text in _ERRORS.items():
        out.setdefault(status, {"description": text, "content": error})  # declared ones win
    out["default"] = {"description": _DEFAULT_ERROR, "content": error}
    return out


def _operation(app: Flask, rule: Rule, method: str, schemas: dict[str, Any]) -> dict[str, Any]:
    view = app.view_functions[rule.endpoint]
    path, params = openapi_path(rule.rule)
    declared = getattr(view, "centrala_schemas", None) or {}
    roles = _roles(view)
    public = getattr(view, "centrala_public", False)
    scope = required_scope(method, roles) if roles else None
    doc = (view.__doc__ or "").strip()
    summary = doc.split("\n", 1)[0] if doc else rule.endpoint
    op: dict[str, Any] = {
        "operationId": rule.endpoint.replace(".", "_") + (
            "" if len((rule.methods or set()) - {"HEAD", "OPTIONS"}) == 1 else "_" + method.lower()),
        "summary": summary,
        "tags": [_tag(path)],
    }
    notes = []
    if roles:
        notes.append("Roles: " + ", ".join(roles) + f". API token scope: {_SCOPE_TEXT[scope or 'read']}.")
        op["x-centrala-roles"] = roles
        op["x-centrala-scope"] = scope
        op["security"] = [{"bearer": []}, {"session": []}]
    elif public:
        op["security"] = []
    if doc:
        notes.insert(0, doc)
    op["description"] = "\n\n".join(notes)
    if declared.get("query") is not None:
        params += _query_parameters(declared["query"], schemas)
    if params:
        op["parameters"] = params
    if declared.get("body") is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _ref(declared["body"])}}}
    elif declared.get("form") is not None:
        op["requestBody"] = {"required": True, "content": {
            "multipart/form-data": {"schema": _ref(declared["form"])}}}
    op["responses"] = _responses(view, rule)
    return op


def build(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s ``/api/v1``."""
    schemas = _components(_models(app))
    paths: dict[str, dict[str, Any]] = {}
    for rule in api_rules(app):
        path, _ = openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(app, rule, method, schemas)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Centrala API",
            "version": "1",
            "description": (
                "The contact center's REST API. Authenticate with an API token "
                "(`Authorization: Bearer <token>`, created under *API tokens*) or a panel "
                "session (then every non-GET request needs the `X-CSRF-Token` header). "
                "Every error has one shape: `{\"error\": {\"id\", \"message\", \"details\"}}`. "
                "Bearer requests count against the tenant's monthly limit per user; each "
                "answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and "
                "`X-RateLimit-Reset`."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "an API token (shown once when created)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "centrala_session"},
            },
        },
    }


def document(app: Flask) -> dict[str, Any]:
    """:func:`build`, once per app (the URL map does not change after start)."""
    cached: dict[str, Any] | None = app.extensions.get("centrala_openapi")
    if cached is None:
        cached = build(app)
        app.extensions["centrala_openapi"] = cached
    return cached
