"""Per-node value checks and variable uses (used by :mod:`ivr_flows.checks`).

These look at one node (or the settings) at a time: templates and regular
expressions parse, prompts' audio exists, queues/flows/calendars are known,
digit limits agree, platform variables are not assigned. :func:`node_uses`
lists the variables a node reads, for the dataflow check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from .conditions import condition_variables
from .errors import AudioExists, FlowError, suggest
from .model import (
    BUILTIN_VARIABLES,
    CallbackNode,
    CollectNode,
    ConditionNode,
    HttpNode,
    Node,
    PromptItem,
    QueueNode,
    RecordNode,
    ReturnNode,
    SetNode,
    Settings,
    SubflowNode,
    TransferNode,
    pointer,
)
from .templates import TemplateError, parse

READ_ONLY = BUILTIN_VARIABLES  # set by the platform; `language` only via a language node
Err = Callable[[str, str, str, str], None]


def _prompts(node: Node) -> list[PromptItem]:
    items: list[PromptItem] = []
    for field in ("prompt", "no_input_prompt", "invalid_prompt"):
        items += getattr(node, field, ())
    return items


def _templates(node: Node) -> list[tuple[str, str]]:
    """``(relative pointer, template text)`` of every templated string of a node."""
    out = [
        (item.pointer[len(node.pointer) :] + "/tts", item.value)
        for item in _prompts(node)
        if item.kind == "tts"
    ]
    match node:
        case SetNode(assignments=assignments):
            out += [(f"/variables/{name}", v) for name, v in assignments if isinstance(v, str)]
        case HttpNode(url=url, headers=headers, body=body):
            out += [("/url", url)] + [(f"/headers/{k}", v) for k, v in headers]
            out += [(pointer("body", *p), s) for p, s in _json_strings(body, ())]
        case QueueNode(priority=priority, skills=skills):
            out += [("/priority", priority)] if isinstance(priority, str) else []
            out += [(f"/skills/{i}", s) for i, s in enumerate(skills)]
        case TransferNode(target=target):
            out += [("/target", target)]
        case CallbackNode(number=number, note=note):
            out += [("/number", number), ("/note", note)]
    return out


def _json_strings(value: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _json_strings(v, (*path, i))]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _json_strings(v, (*path, k))]
    return []


def node_uses(node: Node) -> list[tuple[str, str]]:
    """``(relative pointer, variable)`` for every variable a node reads, in field order."""
    uses: list[tuple[str, str]] = []
    for rel, text in _templates(node):
        try:
            uses += [(rel, name) for name in parse(text).variables]
        except TemplateError:
            continue
    match node:
        case ConditionNode(branches=branches):
            for i, branch in enumerate(branches):
                uses += [
                    (f"/branches/{i}/when{rel}", name)
                    for rel, name in condition_variables(branch.when)
                ]
        case SubflowNode(inputs=inputs):
            uses += [(f"/inputs/{i}", name) for i, name in enumerate(inputs)]
    return uses


def node_value_errors(
    node: Node,
    doc: Mapping[str, Any],
    *,
    audio_exists: AudioExists | None,
    known_flows: Collection[str] | None,
    known_queues: Collection[str] | None,
    known_calendars: Collection[str] | None,
) -> list[FlowError]:
    """Errors in the values of one schema-valid node."""
    errors: list[FlowError] = []

    def err(ptr: str, code: str, message: str, hint: str) -> None:
        errors.append(FlowError(ptr, code, message, hint))

    ptr = node.pointer
    for rel, text in _templates(node):
        try:
            parse(text)
        except TemplateError as exc:
            err(
                ptr + rel,
                "template",
                f"bad template: {exc}",
                "write variables as {name} and braces as {{ or }}",
            )
    if audio_exists is not None:
        for item in _prompts(node):
            if item.kind != "tts" and not audio_exists(item.kind, item.value):
                what = "sound file" if item.kind == "sound" else "uploaded audio"
                err(
                    f"{item.pointer}/{item.kind}",
                    "missing_audio",
                    f"{what} {item.value!r} does not exist",
                    "upload the file or fix its name",
                )
    for rel, name in _assigned(node):
        if name in READ_ONLY:
            err(
                ptr + rel,
                "invalid_value",
                f"{name!r} is set by the platform and cannot be assigned",
                "use another variable name"
                + ("; switch language with a language node" if name == "language" else ""),
            )
    match node:
        case CollectNode():
            if node.min_digits > node.max_digits:
                err(
                    ptr + "/min_digits",
                    "invalid_value",
                    f"min_digits {node.min_digits} is greater than max_digits {node.max_digits}",
                    "make min_digits <= max_digits",
                )
            if node.pattern is not None:
                _regex(ptr + "/pattern", node.pattern, err)
        case QueueNode() if known_queues is not None and node.queue not in known_queues:
            err(
                ptr + "/queue",
                "unknown_queue",
                f"queue {node.queue!r} does not exist",
                suggest(node.queue, known_queues),
            )
        case CallbackNode() if known_queues is not None and node.queue not in known_queues:
            err(
                ptr + "/queue",
                "unknown_queue",
                f"queue {node.queue!r} does not exist",
                suggest(node.queue, known_queues),
            )
        case SubflowNode() if known_flows is not None and node.flow not in known_flows:
            err(
                ptr + "/flow",
                "unknown_flow",
                f"flow {node.flow!r} does not exist",
                suggest(node.flow, known_flows),
            )
        case TransferNode(to="flow") if known_flows is not None and node.target not in known_flows:
            err(
                ptr + "/target",
                "unknown_flow",
                f"flow {node.target!r} does not exist",
                suggest(node.target, known_flows),
            )
        case ReturnNode() if doc.get("kind", "flow") != "subflow":
            err(
                ptr,
                "invalid_value",
                "a return node is only allowed in a flow of kind 'subflow'",
                'set "kind": "subflow" at the top of the document, or use a hangup node',
            )
        case ConditionNode():
            for i, raw in enumerate(doc["nodes"][node.id]["branches"]):
                _condition(f"{ptr}/branches/{i}/when", raw["when"], err, known_calendars)
    return errors


def _assigned(node: Node) -> list[tuple[str, str]]:
    match node:
        case SetNode(assignments=assignments):
            return [(f"/variables/{name}", name) for name, _ in assignments]
        case CollectNode(variable=var) | RecordNode(variable=var):
            return [("/variable", var)]
        case HttpNode(fields=fields):
            return [(f"/fields/{name}", name) for name, _ in fields]
        case SubflowNode(outputs=outputs):
            return [(f"/outputs/{i}", name) for i, name in enumerate(outputs)]
    return []


def _regex(ptr: str, text: str, err: Err) -> None:
    try:
        re.compile(text)
    except re.error as exc:
        err(ptr, "regex", f"bad regular expression: {exc}", "fix the Python regular expression")


def _condition(
    ptr: str, raw: Mapping[str, Any], err: Err, known_calendars: Collection[str] | None
) -> None:
    """Values inside one condition that the schema cannot check."""
    ((key, body),) = raw.items()
    if key in ("all", "any"):
        for i, item in enumerate(body):
            _condition(f"{ptr}/{key}/{i}", item, err, known_calendars)
    elif key == "not":
        _condition(f"{ptr}/not", body, err, known_calendars)
    elif key == "caller" and "regex" in body:
        _regex(f"{ptr}/caller/regex", body["regex"], err)
    elif key == "compare" and body["op"] == "matches" and isinstance(body.get("value"), str):
        _regex(f"{ptr}/compare/value", body["value"], err)
    elif key == "date":
        if len(body["from"]) != len(body["to"]):
            err(
                f"{ptr}/date",
                "invalid_value",
                "from and to mix YYYY-MM-DD and MM-DD",
                "use the same form for both ends",
            )
    elif key == "holiday":
        country = body.get("country")
        if country is not None and country not in holidays.list_supported_countries():
            err(
                f"{ptr}/holiday/country",
                "invalid_value",
                f"no public holiday data for {country!r}",
                "use an ISO 3166 country code such as PL",
            )
        for i, name in enumerate(body.get("calendars", ())):
            if known_calendars is not None and name not in known_calendars:
                err(
                    f"{ptr}/holiday/calendars/{i}",
                    "unknown_calendar",
                    f"holiday calendar {name!r} does not exist",
                    suggest(name, known_calendars),
                )


def settings_errors(settings: Settings) -> list[FlowError]:
    """Settings the schema cannot check (the time zone and holiday country)."""
    errors = []
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(
            FlowError(
                "/settings/timezone",
                "invalid_value",
                f"unknown time zone {settings.timezone!r}",
                "use an IANA zone name such as Europe/Warsaw",
            )
        )
    if settings.holiday_country not in holidays.list_supported_countries():
        errors.append(
            FlowError(
                "/settings/holiday_country",
                "invalid_value",
                f"no public holiday data for {settings.holiday_country!r}",
                "use an ISO 3166 country code such as PL",
            )
        )
    return errors
