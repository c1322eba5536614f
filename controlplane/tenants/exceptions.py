"""Errors of tenant and account administration (rendered by ``web/errors.py``)."""

from __future__ import annotations

from controlplane.errors import CentralaError, Conflict, NotFound


class TenantExists(Conflict):
    error_id = "tenant_exists"


class TenantNotFound(NotFound):
    error_id = "tenant_not_found"


class EmailTaken(Conflict):
    error_id = "email_taken"


class LoginTaken(Conflict):
    error_id = "login_taken"


class BadLink(CentralaError):
    """An activation or reset link that is unknown (404), used or expired (410)."""

    error_id = "bad_link"

    def __init__(self, message: str, reason: str, status: int) -> None:
        super().__init__(message, details={"reason": reason})
        self.reason = reason
        self.status = status
