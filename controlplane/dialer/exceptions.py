"""The dialer's errors, under the one root :class:`controlplane.errors.CentralaError`.

Pure (imports nothing but the root), so the pure modules of the package raise them too.
Each carries the HTTP ``status`` and machine-readable ``error_id`` the panel and the API
answer with; ``str()`` says what was wrong and where.

Three keep :class:`ValueError` as a second base, as they had it before the one root:
callers that validate input with ``except ValueError`` still catch them.
"""

from __future__ import annotations

from controlplane.errors import CentralaError

# What the panel answers for each preview refusal code; any other code is a 409 (the
# record or campaign is not in a state that allows it: not_in_batch, not_running, ...).
PREVIEW_STATUS = {"not_found": 404, "forbidden": 403, "bad_command": 400, "expired": 503,
                  "error": 500, "agent_phone": 502}


class DialerError(CentralaError):
    """Base of the dialer's errors."""

    status = 400
    error_id = "dialer_error"


class DialerRecordsError(DialerError, ValueError):
    """Bad data handed to the record-handling functions (says what and where)."""

    error_id = "invalid_dialer_data"


class NoCallerIdAvailable(DialerRecordsError):
    """Every caller-ID number of the policy is tainted or at its daily cap."""

    status = 409
    error_id = "no_caller_id"


class InvalidPlaceCall(DialerError, ValueError):
    """A ``dialer.place`` request that cannot be dialled; says which field and why."""

    error_id = "invalid_place_call"

    def __init__(self, field: str, reason: str, attempt_id: str | None = None) -> None:
        self.field, self.reason, self.attempt_id = field, reason, attempt_id
        where = f"attempt {attempt_id!r}: " if attempt_id else ""
        super().__init__(f"{where}{field}: {reason}", details={"field": field})


class PreviewError(DialerError):
    """A preview request refused: ``code`` for machines (``details.code``), the message
    says what and where; the status follows :data:`PREVIEW_STATUS`. The shape is the
    panel's answer to a refused preview command (``command_refused``), so the panel can
    raise it as it comes back from the daemon."""

    error_id = "command_refused"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, details={"code": code})
        self.code = code
        self.status = PREVIEW_STATUS.get(code, 409)
