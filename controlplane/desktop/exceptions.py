"""The desktop room's errors: each is a :class:`CentralaError` with its status, so the
panel's error handler answers them in the one error shape, naming the field."""

from __future__ import annotations

from controlplane.errors import CentralaError


class DesktopError(CentralaError):
    status = 400
    error_id = "invalid"


class InvalidField(DesktopError):
    """A value the desktop refuses; ``field`` names it."""

    status = 400
    error_id = "bad_parameter"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", details={"field": field, "message": problem})
        self.field = field


class NotYourCall(DesktopError):
    status = 403
    error_id = "not_your_call"


class CallNotFound(DesktopError):
    status = 404
    error_id = "not_found"


class NoRecord(DesktopError):
    """A recontact needs a campaign record of the caller, and there is none."""

    status = 409
    error_id = "no_campaign_record"
