"""Flow validator: JSON Schema errors plus semantic checks, all reported at once.

Theory of operation
-------------------
1. The document is checked against ``schema.json`` (draft 2020-12). Each
   schema error becomes a :class:`FlowError` pointing at the offending field.
2. Nodes without schema errors are parsed into :mod:`ivr_flows.model`; a node
   with schema errors stays "opaque": its ``next``-like fields still count for
   reachability, but it is not checked further, so one typo does not cascade
   into a page of follow-up errors.
3. Semantic checks run over the graph (see :mod:`ivr_flows.checks`):
   references, dead ends, loops without a way out, unreachable nodes, loops that
   spin without caller input, audio files, queues, flows, calendars, templates,
   regular expressions and "variable set before use on every path".

A document nesting deeper than :data:`~ivr_flows.json_text.MAX_DEPTH` levels gets
one ``too_deep`` error and no other check (every step above recurses per level).

Errors are sorted by (pointer, code, message), so the output is deterministic.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Collection, Mapping
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match

from .checks import semantic_errors
from .errors import AudioExists, FlowError
from .json_text import MAX_DEPTH, value_depth
from .model import Node, parse_node, parse_settings, pointer

__all__ = ["AudioExists", "FlowError", "load_schema", "schema_errors", "too_deep", "validate"]


@functools.cache
def load_schema() -> dict[str, Any]:
    """The published JSON Schema of flow documents."""
    text = resources.files("ivr_flows").joinpath("schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


def validate(
    doc: Any,
    *,
    audio_exists: AudioExists | None = None,
    known_flows: Collection[str] | None = None,
    known_queues: Collection[str] | None = None,
    known_calendars: Collection[str] | None = None,
) -> list[FlowError]:
    """Return every error in ``doc`` (an empty list means the flow is valid).

    ``audio_exists(kind, name)`` is asked for each ``sound`` (Asterisk sound
    name) and ``audio`` (tenant upload id) prompt; the ``known_*`` collections
    list the tenant's flows, queues and holiday calendars. A check whose
    argument is None is skipped.
    """
    if value_depth(doc) > MAX_DEPTH:
        return [too_deep()]
    errors = schema_errors(doc)
    if isinstance(doc, dict) and isinstance(doc.get("nodes"), dict):
        bad = _bad_nodes(errors, doc["nodes"])
        nodes: dict[str, Node | Mapping[str, Any]] = {}
        for node_id, raw in doc["nodes"].items():
            nodes[node_id] = raw if node_id in bad else parse_node(node_id, raw)
        settings_ok = not any(e.pointer.startswith("/settings") for e in errors)
        variables_ok = not any(e.pointer.startswith("/variables") for e in errors)
        errors += semantic_errors(
            doc,
            nodes,
            settings=parse_settings(doc.get("settings", {}) if settings_ok else {}),
            variables=doc.get("variables", {}) if variables_ok else {},
            audio_exists=audio_exists,
            known_flows=known_flows,
            known_queues=known_queues,
            known_calendars=known_calendars,
        )
    return sorted(set(errors), key=lambda e: (e.pointer, e.code, e.message))


def too_deep() -> FlowError:
    """The one error of a document nested deeper than :data:`MAX_DEPTH` levels."""
    return FlowError(
        "",
        "too_deep",
        f"the document nests lists and objects deeper than {MAX_DEPTH} levels",
        "flatten it: real flows nest a few levels (use separate nodes and named conditions)",
    )


def _bad_nodes(errors: list[FlowError], nodes: Mapping[str, Any]) -> set[str]:
    bad = {node_id for node_id, raw in nodes.items() if not isinstance(raw, dict)}
    for error in errors:
        parts = error.pointer.split("/")
        if error.code == "schema" and len(parts) > 2 and parts[1] == "nodes":
            bad.add(parts[2].replace("~1", "/").replace("~0", "~"))
    return bad


def schema_errors(doc: Any) -> list[FlowError]:
    """Schema errors of ``doc`` as :class:`FlowError`, one per failing field."""
    if value_depth(doc) > MAX_DEPTH:
        return [too_deep()]
    out = []
    for error in _validator().iter_errors(doc):
        out.append(_from_schema_error(error))
    return out


def _from_schema_error(error: ValidationError) -> FlowError:
    if error.validator in ("oneOf", "anyOf") and error.context:
        deepest = best_match(error.context)
        if len(deepest.absolute_path) > len(error.absolute_path) or error.validator == "anyOf":
            return _from_schema_error(deepest)
    path = list(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = schema.get("x-hint", "")
    message = error.message
    if "propertyNames" in error.schema_path:  # the error is about a key, not a value
        path.append(instance)
        return FlowError(
            pointer(*path), "schema", f"invalid name {instance!r}", hint or "rename it"
        )
    if kind == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        message = f"missing required property {missing[0]!r}" if missing else message
        hint = f"add {missing[0]!r}" if missing else "add the required properties"
    elif kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(instance) - set(allowed)) if isinstance(instance, dict) else []
        if extra:
            path.append(extra[0])
            close = difflib.get_close_matches(extra[0], allowed, n=1)
            message = f"unknown property {extra[0]!r}"
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else "remove it; allowed: " + ", ".join(allowed)
            )
    elif kind == "enum":
        hint = hint or "use one of: " + ", ".join(json.dumps(v) for v in value)
    elif kind == "const":
        hint = hint or f"use {json.dumps(value)}"
    elif kind == "type":
        hint = hint or f"use a value of type {value}"
    elif kind == "pattern":
        hint = hint or f"match the regular expression {value}"
    elif kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        hint = hint or f"use a value within the {kind} {value}"
    elif kind in ("minItems", "minProperties", "maxProperties", "minLength"):
        hint = hint or f"{kind} is {value}"
    elif kind == "oneOf":
        message = f"{json.dumps(instance, ensure_ascii=False)[:60]} does not match exactly one allowed form"
        hint = hint or "make the value match exactly one allowed form"
    return FlowError(pointer(*path), "schema", message, hint or "see schema.json")
