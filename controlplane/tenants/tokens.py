"""Link secrets: how they are drawn, hashed and how long they live (pure).

A secret is 32 random bytes (URL-safe base64): far beyond guessing, so a plain SHA-256
is a sufficient hash at rest (no salt or slow hash needed, unlike passwords), and looking
a link up by its hash is one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum


class Purpose(StrEnum):
    ACTIVATION = "activation"
    RESET = "reset"


LIFETIME = {Purpose.ACTIVATION: timedelta(hours=48), Purpose.RESET: timedelta(hours=1)}
PATH = {Purpose.ACTIVATION: "/activate/", Purpose.RESET: "/password/reset/"}
MAX_SECRET_LEN = 100


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link(public_url: str, purpose: Purpose, secret: str) -> str:
    return f"{public_url.rstrip('/')}{PATH[purpose]}{secret}"
