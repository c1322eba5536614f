"""JSON read with a bounded nesting depth: no RecursionError, whatever the input.

Python's ``json`` parser, ``json.dumps``, jsonschema and every walker of a parsed
document recurse once per level, so ``[[[[…]]]]`` a few thousand levels deep
crashes them all with a RecursionError. Both the text (before parsing) and a
parsed value (before walking it) are measured here without recursion, and
anything deeper than the limit is refused with a message saying where.

This pure module is the lowest layer that both the flow tools (CLI, validator)
and the panel's request guard (:mod:`web.request_limits`) depend on, hence its
home here.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32
"""Deep enough for any real flow (the examples nest 9 levels) or API body."""

# A JSON string literal (escapes included: what is inside is not structure) or a bracket.
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset(b"[{")
_CLOSE = frozenset(b"]}")


class TooDeep(ValueError):
    """The JSON nests deeper than allowed; ``line`` (1-based) is where the limit was passed
    (None for a parsed value)."""

    def __init__(self, limit: int, line: int | None = None) -> None:
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"JSON nested deeper than {limit} levels{where}")
        self.limit = limit
        self.line = line


def text_depth_exceeds(text: str | bytes, limit: int = MAX_DEPTH) -> int | None:
    """The 1-based line where ``text`` first nests deeper than ``limit``, or None.

    Brackets inside string literals do not count. Works on text that is not valid
    JSON too (the parser reports that afterwards).
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None  # the common case, at C speed
    depth = 0
    for match in _TOKEN.finditer(raw):
        first = raw[match.start()]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return raw.count(b"\n", 0, match.start()) + 1
        elif first in _CLOSE:
            depth -= 1
    return None


def value_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and dicts (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def loads(text: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises :class:`TooDeep` (a ValueError) instead of recursing
    past ``limit`` levels; other errors are ``json.JSONDecodeError`` as usual."""
    line = text_depth_exceeds(text, limit)
    if line is not None:
        raise TooDeep(limit, line)
    return json.loads(text)
