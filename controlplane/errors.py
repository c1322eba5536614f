"""One root for every error a user or a caller of the API can see (STYLE.md §6).

A domain's ``exceptions.py`` subclasses :class:`CentralaError` and sets ``status`` (the HTTP
status it maps to) and ``error_id`` (a stable, machine-readable id such as
``queue_not_found``). The panel and the API render any of them the same way
(``web/errors.py``: ``{"error": {"id", "message", "details"?}}`` or an error page), so a
domain raises what it means and never builds a response itself.

Errors of the machinery (ARI, AMI, Asterisk start-up) are not user errors and do not derive
from it: a bug or an outage reaches the user as ``internal_error`` with an incident id.
"""

from __future__ import annotations

from typing import Any


class CentralaError(Exception):
    """An error shown to the user: HTTP ``status``, machine ``error_id``, human ``message``,
    and ``details`` (which input was wrong, what is allowed)."""

    status = 400
    error_id = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(CentralaError):
    status = 404
    error_id = "not_found"


class Conflict(CentralaError):
    status = 409
    error_id = "conflict"


class Forbidden(CentralaError):
    status = 403
    error_id = "forbidden"


class Unavailable(CentralaError):
    """A part the request needs (the control plane, Redis) does not answer now."""

    status = 503
    error_id = "unavailable"
