"""Limits every request meets before any view runs: ids in range, bounded JSON, clean text.

Theory of operation: three things used to reach the database or a recursive parser
straight from the wire and come back as a 500 (measured: 18 of 80 malformed API
requests). They are stopped here, once, for every route, old and new:

* An ``<int:…>`` path value above 2^31-1 is a 404 like any unknown id (ids are
  PostgreSQL ``integer``), never an overflow in the driver. (Checked here rather
  than with a converter's ``max``: Werkzeug turns a converter's refusal into a 405
  when the same path has a rule for another method.)
* A JSON body must be UTF-8, at most ``MAX_CONTENT_LENGTH`` bytes (413 otherwise,
  from Werkzeug) and at most ``MAX_JSON_DEPTH`` levels deep (measured on the text,
  before the recursive parser sees it); it must parse, and its strings (keys too)
  may hold neither NUL nor lone surrogates (PostgreSQL and every encoder refuse them).
* Query, form and path values may hold no control characters but tab and newlines.

Each refusal is a :class:`~web.errors.PanelError` naming what and where. What a
request *means* (types, ranges, unknown fields) is checked per view with the
schemas of :mod:`web.validation`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from typing import Any

from flask import Flask, current_app, request

from ivr_flows.json_text import MAX_DEPTH, text_depth_exceeds
from web.errors import BadParameter, NotFound, PanelError

MAX_ID = 2**31 - 1  # PostgreSQL integer; SQLite would take 2^63-1, the stricter one wins
DEFAULT_JSON_DEPTH = MAX_DEPTH
# C0 controls except tab, LF and CR (text areas send those).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_IN_JSON = re.compile(r"[\x00\ud800-\udfff]")


class InvalidJson(PanelError):
    error_id = "invalid_json"


def install(app: Flask) -> None:
    """Check every request of ``app`` before its view runs."""
    app.config.setdefault("MAX_JSON_DEPTH", DEFAULT_JSON_DEPTH)
    app.before_request(check_request)


MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around an uploaded file


def allow_uploads(app: Flask, endpoints: Collection[str], limit: Callable[[], int],
                  too_large: Callable[[int], PanelError]) -> None:
    """Let the views ``endpoints`` take a file of up to ``limit()`` bytes, above the
    panel's usual ``MAX_CONTENT_LENGTH``, and no further (``too_large(limit)`` is raised).
    The hook runs first of all, since the CSRF and request checks read the form."""

    def allow() -> None:
        if request.endpoint not in endpoints:
            return
        top = limit()
        if request.content_length is not None and request.content_length > top + MULTIPART_SLACK:
            raise too_large(top)
        request.max_content_length = top + MULTIPART_SLACK

    app.before_request_funcs.setdefault(None, []).insert(0, allow)


def check_request() -> None:
    """The ``before_request`` hook: refuse what no view should ever see."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound(f"no such {name.removesuffix('_id')}: {name} {value} is out of range")
        if isinstance(value, str) and _CONTROL.search(value):
            raise BadParameter(name, "contains control characters")
    _check_text_values(request.args.items(multi=True))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_text_values(request.form.items(multi=True))
    if request.is_json:
        check_json_body()


def _check_text_values(items: Any) -> None:
    for name, value in items:
        if _CONTROL.search(name) or _CONTROL.search(value):
            raise BadParameter(_printable(name), "contains control characters")


def check_json_body() -> None:
    """Size (Werkzeug raises 413 while reading), encoding, depth, syntax and strings."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return  # no body: the view says whether it needs one
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidJson(f"the JSON body is not UTF-8 (byte {err.start})") from None
    limit: int = current_app.config["MAX_JSON_DEPTH"]
    line = text_depth_exceeds(text, limit)
    if line is not None:
        raise InvalidJson(
            f"the JSON body nests deeper than {limit} levels (line {line})",
            details={"max_depth": limit, "line": line},
        )
    try:
        doc = json.loads(text)
    except ValueError as err:  # JSONDecodeError says line and column; huge integers too
        raise InvalidJson(f"the body is not valid JSON: {err}") from None
    bad = _bad_string(doc)
    if bad is not None:
        raise InvalidJson(
            f"a string at {bad or '/'} holds NUL or a lone surrogate (\\ud800-\\udfff)",
            details={"pointer": bad},
        )


def _bad_string(doc: Any) -> str | None:
    """The JSON pointer of the first key or string with NUL or a lone surrogate, or None.

    Iterative: the depth is bounded already, but a walker that cannot recurse is one
    thing less to reason about.
    """
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            if _BAD_IN_JSON.search(value):
                return where
        elif isinstance(value, dict):
            for key, item in value.items():
                path = f"{where}/{_escape(key)}"
                if _BAD_IN_JSON.search(key):
                    return path
                stack.append((item, path))
        elif isinstance(value, list):
            stack.extend((item, f"{where}/{n}") for n, item in enumerate(value))
    return None


def _escape(key: str) -> str:
    return _printable(key.replace("~", "~0").replace("/", "~1"))


def _printable(text: str) -> str:
    """``text`` safe to echo in a message (control characters and surrogates escaped)."""
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")[:80]
