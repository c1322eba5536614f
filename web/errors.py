"""Panel errors: one base class carrying status, machine id and message (STYLE.md §6).

Requests under ``/api/`` get ``{"error": {"id", "message", "details"?}}``;
pages get a small HTML error page with the same message. Every error about an
input names it the same way in ``details``: ``field`` (``members[1].user_id``),
``message``, and ``errors`` listing each problem when there are several
(:class:`Invalid`, :class:`BadParameter`, the queue form's ``InvalidForm``).

A bug still reaches the user as this shape (500 ``internal_error``), with an
incident id that is also in the log line holding the traceback; the traceback
itself is never sent.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from controlplane.errors import CentralaError

log = logging.getLogger(__name__)

# Werkzeug's HTTP errors mapped to our machine-readable ids.
_HTTP_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "rate_limited",
    500: "internal_error",
}


# Every user-facing error derives from the one root in controlplane/errors.py; the panel's
# historical name stays an alias of it.
PanelError = CentralaError


@dataclass(frozen=True)
class FieldProblem:
    """One wrong input: ``field`` as a reader writes it (``members[1].user_id``), the
    JSON pointer to it in the body (``/members/1/user_id``; empty for parameters)."""

    field: str
    message: str
    pointer: str = ""


def field_details(problems: Sequence[FieldProblem]) -> dict[str, Any]:
    """The ``details`` of every input error: the first problem, then all of them."""
    first = problems[0]
    return {
        "field": first.field,
        "message": first.message,
        "errors": [asdict(p) for p in problems],
    }


class Invalid(PanelError):
    """Input of the wrong shape or value: types, ranges, lengths, unknown fields. Each
    problem names its field; the message lists them all. ``id`` is ``invalid`` for a
    request body and ``bad_parameter`` (with ``details.parameter``) for parameters."""

    error_id = "invalid"

    def __init__(self, problems: Sequence[FieldProblem], *, parameters: bool = False) -> None:
        assert problems, "an Invalid error needs at least one problem"
        noun = "parameter" if parameters else "field"
        message = "; ".join(f"{noun} '{p.field}': {p.message}" for p in problems)
        details = field_details(problems)
        if parameters:
            self.error_id = "bad_parameter"
            details = {"parameter": problems[0].field, **details}
        super().__init__(message, details=details)
        self.problems = tuple(problems)


FieldError = FieldProblem  # field, message (the form names fields, not JSON pointers)


class InvalidForm(Invalid):
    """One or more form values are wrong; ``details.errors`` lists each with its field
    (the queue and outbound-policy forms show each one next to its input)."""

    status = 422
    error_id = "invalid_form"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors)
        self.errors = errors

    def by_field(self) -> dict[str, str]:
        return {e.field: e.message for e in self.errors}


class BadParameter(Invalid):
    """A query or form parameter that could not be understood; names the parameter."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__([FieldProblem(name, problem)], parameters=True)
        self.name = name


class NotFound(PanelError):
    status = 404
    error_id = "not_found"


class CsrfFailed(PanelError):
    status = 400
    error_id = "csrf_failed"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int, error_id: str, message: str, details: dict[str, Any] | None = None
) -> Response:
    """Render an error as JSON (API) or HTML (pages)."""
    if wants_json():
        body: dict[str, Any] = {"id": error_id, "message": message}
        if details:
            body["details"] = details
        resp = jsonify({"error": body})
    else:
        resp = Response(render_template("error.html", status=status, message=message,
                                        error_id=error_id))
    resp.status_code = status
    return resp


def register(app: Flask) -> None:
    """Install the handlers that turn every error into JSON or the HTML error page."""

    @app.errorhandler(PanelError)
    def _panel_error(err: PanelError) -> Response:
        return error_response(err.status, err.error_id, err.message, err.details)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response:
        status = err.code or 500
        message = err.description or ""
        if isinstance(err, RequestEntityTooLarge) and request.max_content_length:
            message = f"the request body is larger than {request.max_content_length} bytes"
        resp = error_response(status, _HTTP_IDS.get(status, "http_error"), message)
        if isinstance(err, MethodNotAllowed) and err.valid_methods:
            resp.headers["Allow"] = ", ".join(err.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        # A bug, not bad input: never a 400 here. The incident id ties what the user
        # saw to the traceback in the log.
        incident = secrets.token_hex(6)
        log.exception("unhandled error (incident %s) on %s %s", incident, request.method,
                      request.path)
        return error_response(
            500,
            "internal_error",
            f"internal error (incident {incident}); see the panel log",
            {"incident": incident},
        )
