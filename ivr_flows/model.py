"""Typed, frozen form of a flow document (``schema.json``, format_version 1).

:func:`parse_flow` assumes the document passed the JSON Schema (the validator
checks that first) and fills in the defaults the schema documents. Every node
keeps its JSON pointer so the validator and logs can point back at the source.
:func:`exits` lists the edges out of a node together with the variables that
are set when the call leaves along that edge; the validator's graph checks and
dataflow analysis are built on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .conditions import Condition, parse_condition

FORMAT_VERSION = 1
TERMINAL_TYPES = frozenset({"queue", "transfer", "hangup", "return"})
INPUT_TYPES = frozenset({"menu", "collect", "record"})  # nodes that wait for the caller
BUILTIN_VARIABLES = frozenset({"caller_id", "did", "language", "call_id", "now"})


def pointer(*parts: object) -> str:
    """Build a JSON pointer (RFC 6901) from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class PromptItem:
    """One piece of a prompt: an Asterisk sound, an uploaded audio id or TTS text."""

    kind: str  # "sound" | "audio" | "tts"
    value: str
    voice: str | None
    pointer: str


Prompt = tuple[PromptItem, ...]


@dataclass(frozen=True)
class Exit:
    """An edge out of a node: the field holding it, its target and what it sets."""

    field: str  # pointer relative to the node, e.g. "/options/1/next"
    target: str | None  # None: the field is missing (a dead end)
    defines: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    pointer: str


@dataclass(frozen=True)
class PlayNode(Node):
    prompt: Prompt
    next: str | None
    barge_in: bool


@dataclass(frozen=True)
class MenuNode(Node):
    prompt: Prompt
    options: tuple[tuple[str, str | None], ...]  # (DTMF key, next)
    timeout_s: float
    max_retries: int
    no_input_prompt: Prompt
    invalid_prompt: Prompt
    fallback: str | None
    barge_in: bool


@dataclass(frozen=True)
class CollectNode(Node):
    prompt: Prompt
    variable: str
    min_digits: int
    max_digits: int
    terminator: str
    timeout_s: float
    inter_digit_timeout_s: float
    pattern: str | None
    max_retries: int
    no_input_prompt: Prompt
    invalid_prompt: Prompt
    next: str | None
    fallback: str | None
    barge_in: bool


@dataclass(frozen=True)
class Branch:
    when: Condition
    next: str | None


@dataclass(frozen=True)
class ConditionNode(Node):
    branches: tuple[Branch, ...]
    otherwise: str | None  # "else" in the document


@dataclass(frozen=True)
class SetNode(Node):
    assignments: tuple[tuple[str, Any], ...]  # strings are templates
    next: str | None


@dataclass(frozen=True)
class HttpNode(Node):
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: Any
    timeout_s: float
    fields: tuple[tuple[str, str], ...]  # (variable, JSON pointer into the response)
    next: str | None
    on_failure: str | None


@dataclass(frozen=True)
class QueueNode(Node):
    queue: str
    priority: int | str  # str: a template
    skills: tuple[str, ...]  # templates


@dataclass(frozen=True)
class TransferNode(Node):
    to: str  # "number" | "agent" | "flow"
    target: str  # template


@dataclass(frozen=True)
class RecordNode(Node):
    prompt: Prompt
    variable: str
    max_duration_s: int
    beep: bool
    terminator: str
    next: str | None


@dataclass(frozen=True)
class CallbackNode(Node):
    queue: str
    number: str  # template
    note: str  # template
    next: str | None


@dataclass(frozen=True)
class LanguageNode(Node):
    language: str
    voice: str | None
    next: str | None


@dataclass(frozen=True)
class SubflowNode(Node):
    flow: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    next: str | None


@dataclass(frozen=True)
class HangupNode(Node):
    cause: str


@dataclass(frozen=True)
class ReturnNode(Node):
    pass


@dataclass(frozen=True)
class Settings:
    language: str = "pl-PL"
    voice: str = "pl"
    timezone: str = "Europe/Warsaw"
    holiday_country: str = "PL"
    max_duration_s: int = 300
    prompt_timeout_s: int = 120
    on_max_time: str | None = None


@dataclass(frozen=True)
class Flow:
    """A parsed flow. ``nodes`` keeps document order; treat it as read-only."""

    id: str
    name: str
    kind: str  # "flow" | "subflow"
    start: str
    settings: Settings
    variables: tuple[tuple[str, Any], ...]  # declared defaults
    nodes: Mapping[str, Node]


def _prompt(raw: Any, base: str) -> Prompt:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, item in enumerate(items):
        kind = next(k for k in ("sound", "audio", "tts") if k in item)
        ptr = f"{base}/{i}" if isinstance(raw, list) else base
        out.append(PromptItem(kind, item[kind], item.get("voice"), ptr))
    return tuple(out)


def _retry_fields(raw: Mapping[str, Any], ptr: str) -> dict[str, Any]:
    return {
        "timeout_s": float(raw.get("timeout_s", 5)),
        "max_retries": int(raw.get("max_retries", 2)),
        "no_input_prompt": _prompt(raw.get("no_input_prompt"), ptr + "/no_input_prompt"),
        "invalid_prompt": _prompt(raw.get("invalid_prompt"), ptr + "/invalid_prompt"),
        "fallback": raw.get("fallback"),
        "barge_in": bool(raw.get("barge_in", True)),
    }


def parse_node(node_id: str, raw: Mapping[str, Any]) -> Node:
    """Build one node from its schema-valid JSON form."""
    t = raw["type"]
    ptr = pointer("nodes", node_id)
    base = {"id": node_id, "type": t, "pointer": ptr}
    prompt = _prompt(raw.get("prompt"), ptr + "/prompt")
    nxt = raw.get("next")
    if t == "play":
        return PlayNode(**base, prompt=prompt, next=nxt, barge_in=bool(raw.get("barge_in", False)))
    if t == "menu":
        options = tuple((key, opt.get("next")) for key, opt in raw["options"].items())
        return MenuNode(**base, prompt=prompt, options=options, **_retry_fields(raw, ptr))
    if t == "collect":
        return CollectNode(
            **base,
            prompt=prompt,
            variable=raw["variable"],
            min_digits=int(raw.get("min_digits", 1)),
            max_digits=int(raw.get("max_digits", 20)),
            terminator=raw.get("terminator", "#"),
            inter_digit_timeout_s=float(raw.get("inter_digit_timeout_s", 3)),
            pattern=raw.get("pattern"),
            next=nxt,
            **_retry_fields(raw, ptr),
        )
    if t == "condition":
        branches = tuple(Branch(parse_condition(b["when"]), b.get("next")) for b in raw["branches"])
        return ConditionNode(**base, branches=branches, otherwise=raw.get("else"))
    if t == "set":
        return SetNode(**base, assignments=tuple(raw["variables"].items()), next=nxt)
    if t == "http":
        return HttpNode(
            **base,
            method=raw.get("method", "GET"),
            url=raw["url"],
            headers=tuple(raw.get("headers", {}).items()),
            body=raw.get("body"),
            timeout_s=float(raw.get("timeout_s", 5)),
            fields=tuple(raw.get("fields", {}).items()),
            next=nxt,
            on_failure=raw.get("on_failure"),
        )
    if t == "queue":
        return QueueNode(
            **base,
            queue=raw["queue"],
            priority=raw.get("priority", 0),
            skills=tuple(raw.get("skills", ())),
        )
    if t == "transfer":
        return TransferNode(**base, to=raw["to"], target=raw["target"])
    if t == "record":
        return RecordNode(
            **base,
            prompt=prompt,
            variable=raw["variable"],
            max_duration_s=int(raw.get("max_duration_s", 120)),
            beep=bool(raw.get("beep", True)),
            terminator=raw.get("terminator", "#"),
            next=nxt,
        )
    if t == "callback":
        return CallbackNode(
            **base,
            queue=raw["queue"],
            number=raw.get("number", "{caller_id}"),
            note=raw.get("note", ""),
            next=nxt,
        )
    if t == "language":
        return LanguageNode(**base, language=raw["language"], voice=raw.get("voice"), next=nxt)
    if t == "subflow":
        return SubflowNode(
            **base,
            flow=raw["flow"],
            inputs=tuple(raw.get("inputs", ())),
            outputs=tuple(raw.get("outputs", ())),
            next=nxt,
        )
    if t == "hangup":
        return HangupNode(**base, cause=raw.get("cause", "normal"))
    if t == "return":
        return ReturnNode(**base)
    raise ValueError(f"unknown node type {t!r}")


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    """Settings with the schema's defaults filled in."""
    return Settings(**{k: v for k, v in raw.items() if k in Settings.__dataclass_fields__})


def parse_flow(doc: Mapping[str, Any]) -> Flow:
    """Build a :class:`Flow` from a schema-valid document (run the validator first)."""
    return Flow(
        id=doc["id"],
        name=doc.get("name", doc["id"]),
        kind=doc.get("kind", "flow"),
        start=doc["start"],
        settings=parse_settings(doc.get("settings", {})),
        variables=tuple(doc.get("variables", {}).items()),
        nodes={node_id: parse_node(node_id, raw) for node_id, raw in doc["nodes"].items()},
    )


def exits(node: Node) -> tuple[Exit, ...]:
    """Edges out of ``node`` with the variables set along each; terminals have none."""
    match node:
        case PlayNode(next=nxt) | CallbackNode(next=nxt):
            return (Exit("/next", nxt),)
        case MenuNode(options=options, fallback=fallback):
            edges = [Exit(f"/options/{key}/next", target) for key, target in options]
            return (*edges, Exit("/fallback", fallback))
        case CollectNode(next=nxt, fallback=fallback, variable=var):
            return (Exit("/next", nxt, frozenset({var})), Exit("/fallback", fallback))
        case ConditionNode(branches=branches, otherwise=otherwise):
            edges = [Exit(f"/branches/{i}/next", b.next) for i, b in enumerate(branches)]
            return (*edges, Exit("/else", otherwise))
        case SetNode(next=nxt, assignments=assignments):
            return (Exit("/next", nxt, frozenset(name for name, _ in assignments)),)
        case HttpNode(next=nxt, on_failure=failure, fields=fields):
            return (
                Exit("/next", nxt, frozenset(var for var, _ in fields)),
                Exit("/on_failure", failure),
            )
        case RecordNode(next=nxt, variable=var):
            return (Exit("/next", nxt, frozenset({var})),)
        case LanguageNode(next=nxt):
            return (Exit("/next", nxt, frozenset({"language"})),)
        case SubflowNode(next=nxt, outputs=outputs):
            return (Exit("/next", nxt, frozenset(outputs)),)
    return ()
