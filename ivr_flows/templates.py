"""``{variable}`` templates used in TTS text, HTTP requests, queue fields and conditions.

A template is literal text with ``{name}`` placeholders; ``{{`` and ``}}`` stand
for literal braces. Parsing is done once when a flow is loaded (and by the
validator, which reports syntax errors); rendering is pure and also reports how
many characters came from variables, which is what dynamic TTS prompts are
billed for (see :mod:`ivr_flows.tts`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

VARIABLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}\Z")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A template that cannot be parsed; ``str()`` says what is wrong."""


@dataclass(frozen=True)
class Template:
    """A parsed template: alternating literal text and variable names.

    ``parts`` holds ``(literal, variable)`` pairs where exactly one is not None.
    """

    source: str
    parts: tuple[tuple[str | None, str | None], ...]

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in order of first use."""
        seen: dict[str, None] = {}
        for _, name in self.parts:
            if name is not None:
                seen.setdefault(name, None)
        return tuple(seen)

    @property
    def is_static(self) -> bool:
        """True when the template has no placeholders."""
        return not self.variables

    def render(
        self, variables: Mapping[str, Any], *, quote: Callable[[str], str] | None = None
    ) -> tuple[str, int]:
        """Return the text and the number of characters that came from variables.

        Missing variables render as the empty string (the validator reports
        their use before assignment). ``quote`` escapes variable values, e.g.
        for URLs.
        """
        out: list[str] = []
        dynamic = 0
        for literal, name in self.parts:
            if literal is not None:
                out.append(literal)
                continue
            assert name is not None
            value = format_value(variables.get(name))
            if quote is not None:
                value = quote(value)
            dynamic += len(value)
            out.append(value)
        return "".join(out), dynamic


def format_value(value: Any) -> str:
    """Render a variable value as text (None -> '', True -> 'true', 2.0 -> '2')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@functools.lru_cache(maxsize=4096)
def parse(source: str) -> Template:
    """Parse ``source``; raise :class:`TemplateError` on a stray brace or bad name."""
    parts: list[tuple[str | None, str | None]] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(source):
        literal.append(source[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(
                f"unmatched {token!r} at character {match.start()}; write {token * 2} for a literal brace"
            )
        if not VARIABLE_NAME.match(name):
            raise TemplateError(f"{{{name}}} is not a valid variable name")
        text = "".join(literal)
        if text:
            parts.append((text, None))
        literal = []
        parts.append((None, name))
    literal.append(source[pos:])
    text = "".join(literal)
    if text:
        parts.append((text, None))
    return Template(source, tuple(parts))


def template_variables(value: Any) -> tuple[str, ...]:
    """Variables used by a JSON value whose strings are templates (invalid ones are skipped)."""
    names: dict[str, None] = {}
    for text in _strings(value):
        try:
            for name in parse(text).variables:
                names.setdefault(name, None)
        except TemplateError:
            continue
    return tuple(names)


def render_json(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON value as a template.

    A string that is exactly one placeholder keeps the variable's JSON type,
    so ``{"amount": "{balance}"}`` sends a number when ``balance`` is one.
    """
    if isinstance(value, str):
        template = parse(value)
        if len(template.parts) == 1 and template.parts[0][1] is not None:
            return variables.get(template.parts[0][1])
        return template.render(variables)[0]
    if isinstance(value, list):
        return [render_json(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render_json(item, variables) for key, item in value.items()}
    return value


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []
