"""SMS texts with parameters: templates and the auto-reply say ``{{ ticket_number }}``.

Theory of operation: a placeholder is ``{{ name }}`` (spaces inside the braces optional)
and ``name`` must be one of :data:`PARAMETERS`; :func:`check` lists the unknown ones so a
template is refused when saved, not when sent. :func:`render` replaces each placeholder
by its value (an unknown or missing one renders empty) and nothing else: the text is not a Jinja
template, so a customer-facing text can never run code or reach other variables.
Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PARAMETERS = ("ticket_number", "customer_number", "agent_name", "company")


def names(text: str) -> list[str]:
    """The parameter names ``text`` uses, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(text)))


def check(text: str) -> list[str]:
    """The placeholders of ``text`` that are not known parameters (empty: fine)."""
    return [n for n in names(text) if n not in PARAMETERS]


def render(text: str, values: Mapping[str, object]) -> str:
    """``text`` with each known placeholder replaced by its value (see the docstring)."""
    def value(m: re.Match[str]) -> str:
        found = values.get(m.group(1))
        return "" if found is None else str(found)
    return PLACEHOLDER.sub(value, text)
