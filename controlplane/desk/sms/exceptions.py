"""Errors of the SMS channel, each with its HTTP status and machine-readable id."""

from __future__ import annotations

from controlplane.errors import CentralaError, Conflict, NotFound


class SmsError(CentralaError):
    error_id = "sms_error"


class BadSignature(SmsError):
    """An inbound post whose signature or timestamp does not check out."""

    status = 401
    error_id = "sms_bad_signature"


class BadInbound(SmsError):
    """An inbound post that is signed but not of the documented shape (names its field)."""

    status = 400
    error_id = "sms_bad_inbound"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field '{field}': {message}",
                         details={"field": field, "message": message})


class UnknownAccount(NotFound):
    error_id = "sms_account_not_found"


class NotConfigured(Conflict):
    """The tenant has no active SMS account (or it cannot send: no API URL)."""

    error_id = "sms_not_configured"


class TooManyRequests(SmsError):
    status = 429
    error_id = "rate_limited"


class ProviderFailed(SmsError):
    """The provider refused or did not answer; the job retries."""

    status = 502
    error_id = "sms_provider_failed"


class SecretUnreadable(SmsError):
    status = 500
    error_id = "sms_secret_unreadable"
