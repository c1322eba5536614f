"""The "known browser" cookie that lets an account's own browsers past an attack on it.

After a successful login the browser gets ``centrala_device``: a random device id and
digests of the accounts that logged in from it, signed with the app's secret key
(itsdangerous; it cannot be forged or edited, and it grants nothing by itself). A login
attempt for one of those accounts from that browser is throttled under its own key
(``controlplane.security.login_throttle``), so a stranger's failures on the account do
not slow its owner down. Digests, not logins, so the cookie does not list who used a
shared PC.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import Flask, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

COOKIE = "centrala_device"
MAX_AGE = timedelta(days=180)
MAX_ACCOUNTS = 10
_SALT = "centrala-known-device"


def _serializer(app: Flask) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(app.secret_key), salt=_SALT)


def _account_digest(account: str) -> str:
    return hashlib.sha256(account.encode()).hexdigest()[:16]


def _read(app: Flask, request: Request) -> tuple[str, list[str]] | None:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 2000:
        return None
    try:
        value = _serializer(app).loads(raw, max_age=int(MAX_AGE.total_seconds()))
    except BadSignature:
        return None
    if not (isinstance(value, dict) and isinstance(value.get("d"), str)
            and isinstance(value.get("a"), list)):
        return None
    return value["d"], [a for a in value["a"] if isinstance(a, str)]


def device_for(app: Flask, request: Request, account: str) -> str | None:
    """This browser's device id if it is known to ``account``, else None."""
    known = _read(app, request)
    if known is None or _account_digest(account) not in known[1]:
        return None
    return known[0]


def browser_id(app: Flask, request: Request) -> str:
    """This browser's device id (whatever accounts it knows), or a new one that
    :func:`remember` will give it: the "workstation" of the one-workstation rule."""
    known = _read(app, request)
    return known[0] if known is not None else secrets.token_urlsafe(16)


def remember(app: Flask, request: Request, response: Response, account: str,
             device: str | None = None) -> None:
    """Add ``account`` to this browser's device cookie (after a successful login)."""
    known = _read(app, request)
    device, accounts = known if known is not None else (device or secrets.token_urlsafe(16), [])
    digest = _account_digest(account)
    accounts = [a for a in accounts if a != digest][-(MAX_ACCOUNTS - 1):] + [digest]
    response.set_cookie(
        COOKIE, _serializer(app).dumps({"d": device, "a": accounts}),
        max_age=int(MAX_AGE.total_seconds()), httponly=True, samesite="Lax",
        secure=bool(app.config["SESSION_COOKIE_SECURE"]), path="/")
