"""A flow document pretty-printed line by line, with each validator error placed at its line.

:func:`annotate` prints the document the way ``json.dumps(indent=2)`` does while
remembering on which line every JSON pointer starts, then hangs each
:class:`~ivr_flows.validator.FlowError` on the line of its pointer (or of the
nearest enclosing value that exists: "missing property" errors point at a key
that is not there). Text that is not JSON is shown as uploaded, with the parse
error on its line; a document nested too deep to print is shown as that error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ivr_flows.json_text import MAX_DEPTH, value_depth
from ivr_flows.model import pointer as make_pointer
from ivr_flows.validator import FlowError, too_deep

INDENT = 2


@dataclass
class SourceLine:
    number: int  # 1-based
    text: str
    errors: list[FlowError] = field(default_factory=list)


@dataclass
class Annotated:
    lines: list[SourceLine]
    unplaced: list[FlowError]  # errors about the whole document (pointer "")

    @property
    def error_count(self) -> int:
        return len(self.unplaced) + sum(len(line.errors) for line in self.lines)


def pretty_lines(doc: Any) -> tuple[list[str], dict[str, int]]:
    """The document as ``json.dumps(indent=2)`` lines and the 0-based line of each pointer."""
    lines: list[str] = []
    where: dict[str, int] = {}

    def emit(value: Any, ptr: str, prefix: str, depth: int, comma: str) -> None:
        where.setdefault(ptr, len(lines))
        pad = " " * (INDENT * depth)
        if isinstance(value, dict) and value:
            lines.append(prefix + "{")
            items = list(value.items())
            for i, (key, item) in enumerate(items):
                key_prefix = " " * (INDENT * (depth + 1)) + json.dumps(str(key), ensure_ascii=False)
                emit(
                    item,
                    ptr + make_pointer(key),
                    key_prefix + ": ",
                    depth + 1,
                    "," if i < len(items) - 1 else "",
                )
            lines.append(pad + "}" + comma)
        elif isinstance(value, list) and value:
            lines.append(prefix + "[")
            for i, item in enumerate(value):
                emit(
                    item,
                    ptr + make_pointer(i),
                    " " * (INDENT * (depth + 1)),
                    depth + 1,
                    "," if i < len(value) - 1 else "",
                )
            lines.append(pad + "]" + comma)
        else:
            lines.append(prefix + json.dumps(value, ensure_ascii=False) + comma)

    emit(doc, "", "", 0, "")
    return lines, where


def line_of(where: dict[str, int], pointer: str) -> int | None:
    """Line of ``pointer`` or of its nearest existing parent; None for the whole document."""
    ptr = pointer
    while ptr:
        if ptr in where:
            return where[ptr]
        ptr = ptr.rsplit("/", 1)[0]
    return None


def annotate(doc: Any, errors: list[FlowError]) -> Annotated:
    """Pretty lines of ``doc`` with every error attached to the line it concerns.

    A document too deep to print (:func:`pretty_lines` recurses per level) is shown
    as its errors alone.
    """
    if value_depth(doc) > MAX_DEPTH:
        return Annotated([], [e for e in errors if e.code == "too_deep"] or [too_deep()])
    texts, where = pretty_lines(doc)
    lines = [SourceLine(i + 1, text) for i, text in enumerate(texts)]
    unplaced = []
    for error in errors:
        index = line_of(where, error.pointer)
        if index is None:
            unplaced.append(error)
        else:
            lines[index].errors.append(error)
    return Annotated(lines, unplaced)


def annotate_text(text: str, error: FlowError, lineno: int | None) -> Annotated:
    """Raw text that is not JSON, with the parse error on line ``lineno`` (1-based)."""
    lines = [SourceLine(i + 1, t) for i, t in enumerate(text.splitlines())]
    if lineno is not None and 1 <= lineno <= len(lines):
        lines[lineno - 1].errors.append(error)
        return Annotated(lines, [])
    return Annotated(lines, [error])
