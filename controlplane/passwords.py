"""Password hashing (argon2id) and generated credentials."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_sip_secret() -> str:
    """A SIP digest password: 32 url-safe characters (~190 bits), no shell/SIP specials."""
    return secrets.token_urlsafe(24)


def generate_password() -> str:
    return secrets.token_urlsafe(12)
