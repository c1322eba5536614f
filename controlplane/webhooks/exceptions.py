"""The webhooks' user-facing errors (``controlplane.errors.CentralaError``)."""

from __future__ import annotations

from typing import Any

from controlplane.errors import CentralaError, NotFound


class InvalidTarget(CentralaError):
    """A target URL that may not receive webhooks (bad URL, private address, no address)."""

    status = 422
    error_id = "invalid_target"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None,
                 kind: str = "bad_url", params: dict[str, str] | None = None) -> None:
        # kind + params: what a page needs to say it in the user's language
        self.kind, self.params = kind, params or {}
        problem = {"field": "url", "message": message, "pointer": "/url"}
        super().__init__(message, details=details or {"field": "url", "message": message,
                                                      "errors": [problem]})


class SubscriptionNotFound(NotFound):
    error_id = "webhook_not_found"


class DeliveryNotFound(NotFound):
    error_id = "webhook_delivery_not_found"


class UnknownEvent(CentralaError):
    status = 422
    error_id = "invalid_form"
