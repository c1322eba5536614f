"""Response templates: a tenant's canned replies with parameters, rendered in a sandbox.

A template is Jinja text (``Dzień dobry {{ requester_name }}, zgłoszenie nr {{ ticket_number
}}…``) written by the tenant's supervisors, so it is rendered by Jinja's
``ImmutableSandboxedEnvironment``: no attribute of a Python object beyond plain values, no
mutation, no imports; the parameters are plain strings and numbers (:data:`PARAMETERS`).
A template is checked when saved and again when rendered: a syntax error or a name that
is not a parameter is :class:`~controlplane.desk.exceptions.TemplateInvalid` (400, the
parameter named), never a half-rendered reply or a 500. Output is capped at
:data:`MAX_OUTPUT` characters, checked while it is generated (a loop cannot produce
megabytes; Jinja's sandbox caps ``range`` at 100,000 items).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from controlplane.desk.exceptions import TemplateInvalid

PARAMETERS = ("requester_name", "requester", "ticket_number", "subject", "status",
              "priority", "category", "queue", "agent_name", "agent_login", "tenant_name")
MAX_OUTPUT = 20_000

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False,
                                     keep_trailing_newline=True)


def check(body: str) -> None:
    """Refuse a template that does not parse or names anything but :data:`PARAMETERS`."""
    try:
        tree = _ENV.parse(body)
    except TemplateSyntaxError as err:
        raise TemplateInvalid(f"line {err.lineno}: {err.message}") from None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(PARAMETERS))
    if unknown:
        raise TemplateInvalid(
            f"unknown parameter {unknown[0]!r}; the parameters are: " + ", ".join(PARAMETERS),
            parameter=unknown[0])


SAMPLE: dict[str, Any] = {"requester_name": "Jan Kowalski", "requester": "jan@example.com",
                          "ticket_number": 1042, "subject": "Awaria", "status": "open",
                          "priority": "normal", "category": "Reklamacje", "queue": "Obsługa",
                          "agent_name": "Anna Nowak", "agent_login": "anna",
                          "tenant_name": "Firma"}


def trial(body: str) -> None:
    """Check ``body`` and render it once with :data:`SAMPLE` values: a template saved is
    one that renders (the sandbox refuses ``{{ subject.__class__ }}`` only when run)."""
    render(body, SAMPLE)


def render(body: str, params: Mapping[str, Any]) -> str:
    """``body`` with ``params``; TemplateInvalid naming what is wrong."""
    check(body)
    parts: list[str] = []
    size = 0
    try:
        # generated piece by piece: a loop that writes too much is stopped early
        for piece in _ENV.from_string(body).generate({k: params.get(k, "") for k in PARAMETERS}):
            parts.append(piece)
            size += len(piece)
            if size > MAX_OUTPUT:
                raise TemplateInvalid(
                    f"the rendered text is longer than {MAX_OUTPUT} characters")
    except UndefinedError as err:
        raise TemplateInvalid(f"the template uses something undefined: {err.message}") from None
    except SecurityError as err:
        raise TemplateInvalid(f"not allowed in a template: {err}") from None
    except TemplateError as err:
        raise TemplateInvalid(f"the template does not render: {err}") from None
    except (TypeError, ValueError, ArithmeticError, OverflowError) as err:
        raise TemplateInvalid(f"the template does not render: {err}") from None
    return "".join(parts)
