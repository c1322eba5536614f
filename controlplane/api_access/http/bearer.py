"""The bearer hook: every ``/api/v1`` request with ``Authorization: Bearer`` passes here.

Theory of operation (a ``before_app_request`` hook, after the request guard and the CSRF
check, which lets a bearer request through, :func:`controlplane.api_access.tokens.bearer_secret`):

1. The secret is looked up by its hash. Unknown, revoked, expired, or its user
   deactivated → 401 ``invalid_token`` (the session cookie is never tried instead).
2. The request is counted against the tenant's monthly limit (:mod:`..quota`); past it
   → 429 ``rate_limited``. The ``X-RateLimit-*`` headers go on every answer to the token.
3. The token's scope must cover the route (:func:`..scopes.required_scope`, from the
   view's ``centrala_roles`` and the method) → else 403 ``insufficient_scope``.
4. The holder becomes this request's user (``g.centrala_bearer_user``, which
   :func:`web.auth.login_required` takes instead of a session), and the view's own role
   check runs as for a logged-in user.

The token's last use (time, address) is written at most once a minute per token.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request

from controlplane.api_access import quota, scopes, store
from controlplane.api_access.exceptions import BadToken, InsufficientScope, RateLimited
from controlplane.api_access.tokens import bearer_secret
from controlplane.db import transaction
from web.auth import CurrentUser, client_address
from web.services import services
from web.session_cookie import clock

USER_KEY = "centrala_bearer_user"
SCOPE_KEY = "centrala_bearer_scope"
USAGE_KEY = "centrala_api_usage"
MAX_SECRET_LEN = 200


def authenticate() -> None:
    """The hook (see the module's docstring)."""
    for name in (USER_KEY, SCOPE_KEY, USAGE_KEY):
        # ``g`` lives as long as the app context, which a test client may share between
        # requests: nothing of an earlier request's token may carry over.
        g.pop(name, None)
    secret = bearer_secret(request.path, request.headers.get("Authorization"))
    if secret is None:
        return
    now = clock(current_app)
    holder = None
    if 0 < len(secret) <= MAX_SECRET_LEN:
        with transaction(services().sessions) as s:
            holder = store.holder(s, secret, now)
            if holder is not None:
                store.touch(s, holder.token_id, client_address(), now)
    if holder is None:
        raise BadToken("invalid API token: unknown, revoked or expired")
    setattr(g, USER_KEY, CurrentUser(
        id=holder.user_id, tenant_id=holder.tenant_id, tenant_domain=holder.tenant_domain,
        tenant_name=holder.tenant_name, login=holder.login, display_name=holder.display_name,
        role=holder.role, locale=holder.locale, time_zone=holder.time_zone))
    setattr(g, SCOPE_KEY, holder.scope)
    usage = quota.count(services().redis, holder.tenant_id, holder.user_id,
                        holder.monthly_limit, now)
    if usage is not None:
        setattr(g, USAGE_KEY, usage)
        if usage.exceeded:
            raise RateLimited(
                f"monthly API request limit reached ({usage.limit} requests per user); "
                "it resets at the start of next month",
                details={"limit": usage.limit, "reset": usage.reset})
    view: Any = current_app.view_functions.get(request.endpoint or "")
    roles = getattr(view, "centrala_roles", None)
    if roles:
        needed = scopes.required_scope(request.method, roles)
        if not scopes.includes(holder.scope, needed):
            raise InsufficientScope(
                f"this token's scope is '{holder.scope}'; {request.method} {request.path} "
                f"needs '{needed}'", details={"scope": holder.scope, "required": needed})


def token_scope() -> str | None:
    """The scope of this request's API token; None for a session request."""
    scope: str | None = g.get(SCOPE_KEY)
    return scope


def rate_headers(resp: Response) -> Response:
    """The ``after_app_request`` hook: the user's standing, on every answer to a token."""
    usage: quota.Usage | None = g.get(USAGE_KEY)
    if usage is not None:
        for name, value in usage.headers().items():
            resp.headers[name] = value
    return resp
