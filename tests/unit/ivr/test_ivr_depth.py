"""Deep nesting is refused with a message, never a RecursionError: the JSON reader, the
validator, the store's reader and ``ivr validate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controlplane.ivr import exceptions as ivr_errors
from controlplane.ivr import store as flow_store
from ivr_flows import json_text
from ivr_flows.cli import main
from ivr_flows.validator import schema_errors, validate

EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"
HOSTILE = 100_000  # far past Python's recursion limit


def flow_with_condition_depth(levels: int) -> dict[str, object]:
    """A valid flow whose one condition nests ``levels`` ``not``s."""
    cond: dict[str, object] = {"weekday": ["mon"]}
    for _ in range(levels):
        cond = {"not": cond}
    return {
        "format_version": 1,
        "id": "deep",
        "name": "deep",
        "start": "c",
        "nodes": {
            "c": {"type": "condition", "branches": [{"when": cond, "next": "h"}], "else": "h"},
            "h": {"type": "hangup"},
        },
    }


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[" * HOSTILE, 1),
        ("{}" + "\n" * 4 + '{"a":' * 40, 5),
        ('["' + "[" * 100 + '"]', None),  # brackets inside a string are text
        ('["\\"' + "[" * 100 + '"]', None),  # an escaped quote does not end the string
        ("[" * json_text.MAX_DEPTH + "]" * json_text.MAX_DEPTH, None),  # exactly at the limit
        ("[" * (json_text.MAX_DEPTH + 1), 1),
    ],
)
def test_text_depth(text: str, line: int | None) -> None:
    assert json_text.text_depth_exceeds(text) == line


def test_loads_refuses_deep_text_and_reads_the_rest() -> None:
    with pytest.raises(json_text.TooDeep, match="deeper than 32 levels \\(line 1\\)"):
        json_text.loads("[" * HOSTILE + "]" * HOSTILE)
    assert json_text.loads('{"a": [1, {"b": "[[["}]}') == {"a": [1, {"b": "[[["}]}
    with pytest.raises(ValueError):
        json_text.loads("[1,")


def deep_list(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels):
        value = [value]
    return value


def test_validator_reports_too_deep_once_for_any_depth() -> None:
    for doc in (deep_list(HOSTILE), {"nodes": {"a": deep_list(HOSTILE)}}):
        errors = validate(doc)
        assert [(e.pointer, e.code) for e in errors] == [("", "too_deep")]
        assert "deeper than 32 levels" in errors[0].message
        assert schema_errors(doc) == errors


def test_a_flow_nested_to_the_limit_still_validates() -> None:
    levels = 0
    while json_text.value_depth(flow_with_condition_depth(levels + 1)) <= json_text.MAX_DEPTH:
        levels += 1
    assert levels > 20
    assert validate(flow_with_condition_depth(levels)) == []
    assert [e.code for e in validate(flow_with_condition_depth(levels + 1))] == ["too_deep"]


def test_store_reader_refuses_deep_text_as_an_invalid_flow() -> None:
    with pytest.raises(ivr_errors.FlowInvalid, match="deeper than 32 levels"):
        flow_store.load_document("[" * HOSTILE)


def test_cli_validate_reports_deep_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"nodes":\n' + "[" * HOSTILE + "]" * HOSTILE + "}", encoding="utf-8")
    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"format_version": 1, "nodes": deep_list(40)}))
    good = EXAMPLES / "faq.json"
    assert main(["validate", str(deep), str(nested), str(good)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{deep}#: cannot read JSON: JSON nested deeper than 32 levels (line 2) " \
        "(fix the file)"
    assert out[1] == f"{nested}#: cannot read JSON: JSON nested deeper than 32 levels (line 1) " \
        "(fix the file)"
    assert len(out) == 2  # faq.json is fine and says nothing
