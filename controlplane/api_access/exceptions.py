"""The errors of API access, in the one error shape (controlplane.errors)."""

from __future__ import annotations

from controlplane.errors import CentralaError


class BadToken(CentralaError):
    """No such token, revoked, expired, or its user is gone: 401."""

    status = 401
    error_id = "invalid_token"


class InsufficientScope(CentralaError):
    """The token's scope does not cover the request (a read token on a write route): 403."""

    status = 403
    error_id = "insufficient_scope"


class RateLimited(CentralaError):
    """The user's API requests this month reached the tenant's limit: 429."""

    status = 429
    error_id = "rate_limited"


class TokenNotFound(CentralaError):
    status = 404
    error_id = "not_found"
