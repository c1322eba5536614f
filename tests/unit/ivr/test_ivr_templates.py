"""Templates and the TTS billing rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivr_flows import parse_flow
from ivr_flows.templates import TemplateError, parse, render_json
from ivr_flows.tts import static_billable_chars, static_prompts

EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"


@pytest.mark.parametrize(
    ("source", "variables", "text", "billable"),
    [
        ("Saldo: {balance} zł", {"balance": "120.50"}, "Saldo: 120.50 zł", 6),
        ("Dzień dobry, {name}!", {"name": "Łucja"}, "Dzień dobry, Łucja!", 5),
        ("{a}{b}", {"a": 1, "b": 2.0}, "12", 2),
        ("Static text", {}, "Static text", 0),
        ("{{literal}} {x}", {"x": True}, "{literal} true", 4),
        ("missing: {nope}.", {}, "missing: .", 0),
    ],
)
def test_render_counts_only_variable_characters(
    source: str, variables: dict, text: str, billable: int
) -> None:
    assert parse(source).render(variables) == (text, billable)


@pytest.mark.parametrize("source", ["Hi {name", "Hi }", "{Bad}", "{1x}", "{}"])
def test_bad_templates_raise(source: str) -> None:
    with pytest.raises(TemplateError):
        parse(source)


def test_render_json_keeps_types_of_whole_placeholders() -> None:
    body = {"account": "{account}", "text": "acc {account}", "n": [1, "{n}"]}
    assert render_json(body, {"account": "0042", "n": 7}) == {
        "account": "0042",
        "text": "acc 0042",
        "n": [1, 7],
    }


def test_static_prompts_are_billed_once_per_text_and_voice() -> None:
    flow = parse_flow(json.loads((EXAMPLES / "language_switch.json").read_text(encoding="utf-8")))
    assert static_prompts(flow) == {
        ("Witamy. Aby kontynuować po polsku, wciśnij 1.", "pl"),
        ("For English, press 2.", "en"),
    }
    assert static_billable_chars(flow) == len(
        "Witamy. Aby kontynuować po polsku, wciśnij 1."
    ) + len("For English, press 2.")


def test_dynamic_prompts_are_not_in_the_static_bill() -> None:
    flow = parse_flow(json.loads((EXAMPLES / "account_lookup.json").read_text(encoding="utf-8")))
    texts = {text for text, _ in static_prompts(flow)}
    assert "Nie udało się sprawdzić konta." in texts
    assert not any("{" in t for t in texts)
