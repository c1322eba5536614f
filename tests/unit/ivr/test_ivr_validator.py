"""Validator: examples validate clean; each malformed flow yields exactly the expected errors."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ivr_flows import FORMAT_VERSION, load_schema, parse_flow, validate
from ivr_flows.validator import FlowError

EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
KNOWN = {
    "known_flows": {"main_menu", "account_lookup", "language_switch", "faq"},
    "known_queues": {"sales", "support", "vip", "billing"},
    "known_calendars": {"office_closures"},
}

BASE: dict[str, Any] = {
    "format_version": 1,
    "id": "t",
    "start": "welcome",
    "nodes": {
        "welcome": {"type": "play", "prompt": {"sound": "hello"}, "next": "main_menu"},
        "main_menu": {
            "type": "menu",
            "prompt": {"tts": "Press 1 or 2"},
            "options": {"1": {"next": "sales"}, "2": {"next": "ask"}},
            "fallback": "bye",
        },
        "ask": {
            "type": "collect",
            "prompt": {"tts": "Account?"},
            "variable": "account",
            "max_digits": 8,
            "next": "lookup",
            "fallback": "bye",
        },
        "lookup": {
            "type": "http",
            "url": "https://crm.example.com/a/{account}",
            "fields": {"tier": "/tier"},
            "next": "sales",
            "on_failure": "bye",
        },
        "sales": {"type": "queue", "queue": "sales", "skills": ["{language}"]},
        "bye": {"type": "hangup"},
    },
}


def mutate(*changes: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    for change in changes:
        change(doc)
    return doc


def node(node_id: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    """Set (or with value None delete) fields of one node; creates the node if missing."""

    def change(doc: dict[str, Any]) -> None:
        target = doc["nodes"].setdefault(node_id, {})
        for key, value in fields.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value

    return change


def top(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.update(fields)


def test_schema_is_valid_draft_2020_12_with_format_version() -> None:
    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["format_version"]["const"] == FORMAT_VERSION


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_examples_validate_clean(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert validate(doc, audio_exists=lambda kind, name: True, **KNOWN) == []
    parse_flow(doc)


def test_required_examples_exist() -> None:
    names = {p.stem for p in EXAMPLE_FILES}
    assert {"main_menu", "account_lookup", "language_switch", "faq"} <= names


def test_base_flow_is_clean() -> None:
    assert validate(BASE, audio_exists=lambda k, n: True, known_queues={"sales"}) == []


CASES: list[tuple[str, dict[str, Any], dict[str, Any], set[tuple[str, str]]]] = [
    (
        "unresolved next",
        mutate(node("lookup", next="slaes")),
        {},
        {("unresolved_reference", "/nodes/lookup/next")},
    ),
    ("unresolved start", mutate(top(start="nope")), {}, {("unresolved_reference", "/start")}),
    (
        "unresolved on_max_time",
        mutate(top(settings={"on_max_time": "gone"})),
        {},
        {("unresolved_reference", "/settings/on_max_time")},
    ),
    (
        "dead end: missing on_failure",
        mutate(node("lookup", on_failure=None)),
        {},
        {("dead_end", "/nodes/lookup/on_failure")},
    ),
    (
        "dead end: missing menu fallback",
        mutate(node("main_menu", fallback=None)),
        {},
        {("dead_end", "/nodes/main_menu/fallback")},
    ),
    (
        "unreachable node",
        mutate(node("orphan", type="hangup")),
        {},
        {("unreachable", "/nodes/orphan")},
    ),
    (
        "input-free loop play->condition->play",
        mutate(
            node("welcome", next="check"),
            node(
                "check",
                type="condition",
                branches=[{"when": {"caller": {"prefix": ["+48"]}}, "next": "welcome"}],
                **{"else": "main_menu"},
            ),
        ),
        {},
        {("input_free_loop", "/nodes/welcome")},
    ),
    (
        "input-free loop through http polling",
        mutate(node("lookup", on_failure="lookup")),
        {},
        {("input_free_loop", "/nodes/lookup")},
    ),
    (
        "menu retry loop is fine",
        mutate(
            node("main_menu", fallback="again"),
            node("again", type="play", prompt={"sound": "sorry"}, next="main_menu"),
        ),
        {},
        set(),
    ),
    (
        "loop with no way out",
        mutate(
            lambda d: d["nodes"]["main_menu"]["options"].update({"3": {"next": "trap_menu"}}),
            node(
                "trap_menu",
                type="menu",
                prompt={"sound": "x"},
                options={"1": {"next": "trap_play"}},
                fallback="trap_play",
            ),
            node("trap_play", type="play", prompt={"sound": "y"}, next="trap_menu"),
        ),
        {},
        {("no_exit", "/nodes/trap_menu")},
    ),
    (
        "missing audio",
        BASE,
        {"audio_exists": lambda kind, name: name != "hello"},
        {("missing_audio", "/nodes/welcome/prompt/sound")},
    ),
    (
        "missing uploaded audio in a list",
        mutate(node("welcome", prompt=[{"tts": "Hi"}, {"audio": "up-1"}])),
        {"audio_exists": lambda kind, name: kind == "sound"},
        {("missing_audio", "/nodes/welcome/prompt/1/audio")},
    ),
    (
        "variable used before set on one path",
        mutate(node("sales", skills=["{tier}"])),
        {},
        {("unset_variable", "/nodes/sales/skills/0")},
    ),
    (
        "variable set only on the failure branch's sibling",
        mutate(node("bye", type="transfer", to="agent", target="{tier}"), node("bye", cause=None)),
        {},
        {("unset_variable", "/nodes/bye/target")},
    ),
    (
        "variable in a condition operand",
        mutate(
            node("welcome", next="check"),
            node(
                "check",
                type="condition",
                branches=[
                    {
                        "when": {"compare": {"var": "tier", "op": "eq", "value": "vip"}},
                        "next": "main_menu",
                    }
                ],
                **{"else": "main_menu"},
            ),
        ),
        {},
        {("unset_variable", "/nodes/check/branches/0/when/compare/var")},
    ),
    (
        "declared default makes a variable set",
        mutate(node("sales", skills=["{tier}"]), top(variables={"tier": "std"})),
        {},
        set(),
    ),
    (
        "schema: unknown property",
        mutate(node("welcome", nxt="main_menu")),
        {},
        {("schema", "/nodes/welcome/nxt")},
    ),
    (
        "schema: missing required",
        mutate(node("sales", queue=None)),
        {},
        {("schema", "/nodes/sales")},
    ),
    (
        "schema: two prompt kinds",
        mutate(node("welcome", prompt={"sound": "a", "tts": "b"})),
        {},
        {("schema", "/nodes/welcome/prompt")},
    ),
    ("schema: format version", mutate(top(format_version=2)), {}, {("schema", "/format_version")}),
    (
        "schema: unknown node type",
        mutate(node("bye", type="explode")),
        {},
        {("schema", "/nodes/bye/type")},
    ),
    (
        "schema: variable in URL host",
        mutate(node("lookup", url="https://{host}/a")),
        {},
        {("schema", "/nodes/lookup/url")},
    ),
    (
        "unknown queue",
        BASE,
        {"known_queues": {"support"}},
        {("unknown_queue", "/nodes/sales/queue")},
    ),
    (
        "unknown sub-flow",
        mutate(node("bye", type="subflow", flow="faqq", next="sales"), node("bye", cause=None)),
        {"known_flows": {"faq"}},
        {("unknown_flow", "/nodes/bye/flow")},
    ),
    (
        "bad template",
        mutate(node("main_menu", prompt={"tts": "Hi {name"})),
        {},
        {("template", "/nodes/main_menu/prompt/tts")},
    ),
    ("bad regex", mutate(node("ask", pattern="([0-9]")), {}, {("regex", "/nodes/ask/pattern")}),
    (
        "read-only variable (and so account is never set)",
        mutate(node("ask", variable="caller_id")),
        {},
        {("invalid_value", "/nodes/ask/variable"), ("unset_variable", "/nodes/lookup/url")},
    ),
    (
        "return outside sub-flow",
        mutate(node("bye", type="return")),
        {},
        {("invalid_value", "/nodes/bye")},
    ),
    (
        "unknown time zone",
        mutate(top(settings={"timezone": "Europe/Warszawa"})),
        {},
        {("invalid_value", "/settings/timezone")},
    ),
]


@pytest.mark.parametrize(
    ("doc", "kwargs", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_flow_reports_expected_errors(
    doc: dict[str, Any], kwargs: dict[str, Any], expected: set[tuple[str, str]]
) -> None:
    errors = validate(doc, **kwargs)
    assert {(e.code, e.pointer) for e in errors} == expected, errors
    for error in errors:
        assert error.message and error.hint


def test_five_different_errors_are_all_reported() -> None:
    doc = mutate(
        node("lookup", next="slaes"),  # unresolved reference
        node("lookup", on_failure=None),  # dead end
        node("orphan", type="hangup"),  # unreachable
        node("sales", skills=["{tier}"]),  # used before set (via option 1)
        node("bye", cause="exploded"),  # schema error
    )
    errors = validate(doc)
    assert [(e.code, e.pointer) for e in errors] == [
        ("schema", "/nodes/bye/cause"),
        ("unresolved_reference", "/nodes/lookup/next"),
        ("dead_end", "/nodes/lookup/on_failure"),
        ("unreachable", "/nodes/orphan"),
        ("unset_variable", "/nodes/sales/skills/0"),
    ]
    assert validate(copy.deepcopy(doc)) == errors  # deterministic


def test_errors_in_and_after_a_schema_broken_node_are_still_found() -> None:
    doc = mutate(
        node("welcome", nxt="main_menu"),  # schema error: welcome is not checked further
        node("ask", prompt={"sound": "gone"}),
        node("sales", skills=["{tier}"]),
    )
    errors = validate(doc, audio_exists=lambda k, n: n != "gone")
    assert {(e.code, e.pointer) for e in errors} == {
        ("schema", "/nodes/welcome/nxt"),
        ("missing_audio", "/nodes/ask/prompt/sound"),
        ("unset_variable", "/nodes/sales/skills/0"),
    }


def test_unresolved_reference_hint_suggests_the_closest_id() -> None:
    (error,) = validate(mutate(node("lookup", next="slaes")))
    assert "'sales'" in error.hint
    assert str(error).startswith("#/nodes/lookup/next: node 'slaes' does not exist (")


def test_schema_error_in_one_node_does_not_cascade() -> None:
    # the broken node's own references still count, so "sales" is not reported unreachable
    doc = mutate(node("lookup", timeout_s="soon"))
    assert [(e.code, e.pointer) for e in validate(doc)] == [("schema", "/nodes/lookup/timeout_s")]


def test_flow_error_is_frozen() -> None:
    error = FlowError("/a", "x", "m", "h")
    with pytest.raises(dataclasses.FrozenInstanceError):
        error.pointer = "/b"  # type: ignore[misc]


@pytest.mark.parametrize("doc", [None, [], "x", {"format_version": 1}])
def test_garbage_documents_give_schema_errors(doc: Any) -> None:
    errors = validate(doc)
    assert errors and all(e.code == "schema" for e in errors)


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        # assignments in one set node run in order
        (
            mutate(
                node("welcome", next="s"),
                node("s", type="set", variables={"a": "1", "b": "{a}x"}, next="main_menu"),
            ),
            set(),
        ),
        (
            mutate(
                node("welcome", next="s"),
                node("s", type="set", variables={"b": "{a}x", "a": "1"}, next="main_menu"),
            ),
            {("unset_variable", "/nodes/s/variables/b")},
        ),
        # a sub-flow may or may not ask the caller: a loop through it alone is rejected
        (
            mutate(
                node("lookup", on_failure="sub"),
                node("sub", type="subflow", flow="faq", next="lookup"),
            ),
            {("input_free_loop", "/nodes/lookup")},
        ),
        # the sub-flow's outputs are set after it
        (
            mutate(
                node("lookup", on_failure="sub"),
                node("sub", type="subflow", flow="faq", outputs=["tier"], next="sales"),
                node("sales", skills=["{tier}"]),
                lambda d: d["nodes"]["main_menu"]["options"].pop("1"),
            ),
            set(),
        ),
        # an HTTP field is not set on the failure branch
        (
            mutate(
                node("lookup", on_failure="oops"),
                node("oops", type="play", prompt={"tts": "{tier}"}, next="bye"),
            ),
            {("unset_variable", "/nodes/oops/prompt/tts")},
        ),
    ],
)
def test_dataflow_and_loop_rules(doc: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert {(e.code, e.pointer) for e in validate(doc)} == expected


@pytest.mark.parametrize(
    ("doc", "pointer", "hint_part"),
    [
        (
            mutate(lambda d: d["nodes"]["main_menu"]["options"].update({"12": {"next": "bye"}})),
            "/nodes/main_menu/options/12",
            "DTMF key",
        ),
        (mutate(top(variables={"Tier": 1})), "/variables/Tier", "lower-case"),
        (mutate(node("lookup", timeout_s=99)), "/nodes/lookup/timeout_s", "maximum"),
        (mutate(node("bye", type="queue")), "/nodes/bye", "'queue'"),
    ],
)
def test_schema_errors_point_at_the_field_and_say_how_to_fix(
    doc: dict[str, Any], pointer: str, hint_part: str
) -> None:
    errors = [e for e in validate(doc) if e.code == "schema"]
    assert [e.pointer for e in errors] == [pointer]
    assert hint_part in errors[0].hint
