"""The tenant's screen pop: an external URL opened when the agent answers a call.

The template is the admin's (``https://crm.example/find?phone={number}``); only
``{number}``, ``{call_id}`` and ``{queue}`` are filled, each URL-encoded, so a caller id
can never add a path, a query parameter or a scheme, and the host is fixed text. Only absolute http(s) URLs with a
host are accepted (no ``javascript:``, ``data:`` or relative URLs): the page opens what
this returns in a new tab or an iframe.
"""

from __future__ import annotations

import re
import string
from urllib.parse import quote, urlsplit

from controlplane.desktop.exceptions import InvalidField
from controlplane.models.desktop import URL_MAX

PLACEHOLDERS = ("number", "call_id", "queue")
_FIELD = re.compile(r"\{([^{}]*)\}")


def validate(template: str | None) -> str | None:
    """The template, stripped, or None for none; :class:`InvalidField` when unsafe."""
    text = (template or "").strip()
    if not text:
        return None
    if len(text) > URL_MAX:
        raise InvalidField("screen_pop_url", f"at most {URL_MAX} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise InvalidField("screen_pop_url", "no spaces or control characters")
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as err:
        raise InvalidField("screen_pop_url", f"unbalanced braces: {err}") from err
    unknown = sorted(set(names) - set(PLACEHOLDERS))
    if unknown:
        raise InvalidField("screen_pop_url", "unknown placeholder(s): " + ", ".join(
            "{" + n + "}" for n in unknown) + " (known: {number}, {call_id}, {queue})")
    parts = urlsplit(fill(text, number="1", call_id="c", queue="q"))
    if parts.scheme not in ("http", "https"):
        raise InvalidField("screen_pop_url", "must start with https:// or http://")
    if not parts.hostname:
        raise InvalidField("screen_pop_url", "must name a host (https://crm.example/…)")
    if "{" in urlsplit(text).netloc:  # a caller must never choose where the page goes
        raise InvalidField("screen_pop_url", "placeholders are allowed in the path and query "
                           "only, not in the host")
    return text


def fill(template: str, *, number: str, call_id: str, queue: str | None) -> str:
    """The template with its placeholders URL-encoded (see the module doc)."""
    values = {"number": number, "call_id": call_id, "queue": queue or ""}
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})
