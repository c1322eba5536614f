"""``/api/v1/openapi.json`` and ``/api/docs``: the API described, for machines and people.

Both need a login (a panel session, or any API token for the JSON), like every other
route: an integrator has an account before they have a token. The reference page is rendered on the server from the same
document (the CSP allows no CDN; a page of our own needs no vendored JavaScript): every
operation with its roles, token scope, parameters, body fields and answers, and a copyable
``curl`` line.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from controlplane.api_access.labels import scope_label
from web.api import openapi
from web.auth import login_required
from web.validation import validated

bp = Blueprint("api_docs", __name__)

_METHOD_ORDER = {"get": 0, "post": 1, "put": 2, "patch": 3, "delete": 4}


@bp.get("/api/v1/openapi.json")
@login_required()
@validated()
def spec() -> Any:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi.document(current_app))


def _fields(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of a request body schema (a ``$ref`` to a component), for the page."""
    ref = schema.get("$ref", "")
    target = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else schema
    required = set(target.get("required", ()))
    return [{"name": name, "required": name in required, "schema": _type_text(prop, schemas),
             "description": prop.get("description", "")}
            for name, prop in target.get("properties", {}).items()]


def _type_text(prop: dict[str, Any], schemas: dict[str, Any]) -> str:
    """A short human form of a JSON Schema (``integer 1…2147483647``, ``a | b``)."""
    if "$ref" in prop:
        name = prop["$ref"].rsplit("/", 1)[-1]
        target = schemas.get(name, {})
        return " | ".join(map(str, target["enum"])) if "enum" in target else name
    if "anyOf" in prop:
        return " | ".join(_type_text(p, schemas) for p in prop["anyOf"])
    if "enum" in prop:
        return " | ".join(map(str, prop["enum"]))
    kind = str(prop.get("type", "any"))
    if kind == "array":
        return f"[{_type_text(prop.get('items', {}), schemas)}]"
    bounds = [prop.get(k) for k in ("minimum", "maximum", "minLength", "maxLength")]
    if bounds[0] is not None or bounds[1] is not None:
        kind += f" {bounds[0] if bounds[0] is not None else ''}…{bounds[1] if bounds[1] is not None else ''}"
    elif bounds[3] is not None:
        kind += f" ≤ {bounds[3]}"
    return kind


def _operations(doc: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The document's operations grouped by tag, for the template."""
    schemas = doc["components"]["schemas"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for path, item in doc["paths"].items():
        for method, op in sorted(item.items(), key=lambda kv: _METHOD_ORDER.get(kv[0], 9)):
            body: dict[str, Any] = op.get("requestBody", {}).get("content", {})
            kind = next(iter(body), "")
            schema: dict[str, Any] = body[kind].get("schema", {}) if kind else {}
            curl = f"curl -H 'Authorization: Bearer $TOKEN' -X {method.upper()} BASE{path}"
            if kind == "application/json":
                curl += " -H 'Content-Type: application/json' -d '{…}'"
            groups.setdefault(op["tags"][0], []).append({
                "method": method.upper(), "path": path, "op": op,
                "parameters": [{**p, "type": _type_text(p["schema"], schemas)}
                               for p in op.get("parameters", [])],
                "body_kind": kind,
                "fields": _fields(schema, schemas) if kind else [],
                "responses": [(s, r.get("description", "")) for s, r in op["responses"].items()],
                "curl": curl,
                "anchor": op["operationId"],
            })
    return sorted(groups.items())


@bp.app_template_filter("scope_label")
def _scope_label(scope: str | None) -> str:
    return scope_label(scope)


@bp.get("/api/docs")
@login_required()
def reference() -> Any:
    """The API reference page, rendered from the OpenAPI document."""
    doc = openapi.document(current_app)
    return render_template("api_docs.html", groups=_operations(doc), info=doc["info"],
                           spec_size=len(json.dumps(doc)))
