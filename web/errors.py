"""Panel errors: one base class carrying status, machine id and message (STYLE.md §6).

Requests under ``/api/`` get ``{"error": {"id", "message", "details"?}}``;
pages get a small HTML error page with the same message.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger(__name__)

# Werkzeug's HTTP errors mapped to our machine-readable ids.
_HTTP_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    500: "internal_error",
}


class PanelError(Exception):
    """An error shown to the user: HTTP ``status``, machine ``error_id``, human ``message``."""

    status = 400
    error_id = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class BadParameter(PanelError):
    """A query or form parameter that could not be understood; names the parameter."""

    error_id = "bad_parameter"

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"parameter '{name}': {problem}", details={"parameter": name})
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
        resp = Response(render_template("error.html", status=status, message=message))
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
        resp = error_response(status, _HTTP_IDS.get(status, "http_error"), err.description or "")
        if isinstance(err, MethodNotAllowed) and err.valid_methods:
            resp.headers["Allow"] = ", ".join(err.valid_methods)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal error; see the panel log")
