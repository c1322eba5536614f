"""API token secrets: made, hashed and read from a request (pure).

A secret is ``cnt_`` and 43 URL-safe characters (32 random bytes): the prefix lets secret
scanners and people recognise it. Only :func:`digest` (SHA-256, hex) is stored; 32 random
bytes need no slow KDF. :func:`bearer_secret` is the one rule for which requests carry a
token: ``Authorization: Bearer <secret>`` on ``/api/v1`` only (a page never takes one).
"""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "cnt_"
API_PREFIX = "/api/v1/"
SHOWN_PREFIX_LEN = 10  # "cnt_" and six characters: enough to tell tokens apart


def new_secret() -> str:
    """A fresh token secret (shown once, never stored)."""
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database keeps of ``secret``."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def shown_prefix(secret: str) -> str:
    return secret[:SHOWN_PREFIX_LEN]


def bearer_secret(path: str, authorization: str | None) -> str | None:
    """The token of a request to ``path`` with this ``Authorization`` header, if it has one.

    Any ``Bearer`` credential counts, well-formed or not (a bad one must get a 401, never
    fall back to the session cookie). A browser sends this header only when a script of
    this site's origin sets it, so such a request needs no CSRF token.
    """
    if not path.startswith(API_PREFIX) or not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credential.strip()
