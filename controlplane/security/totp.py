"""TOTP second factor (RFC 6238 via pyotp) and recovery codes: the rules, no storage.

Theory of operation: a secret is 32 base32 characters (160 bits). A code is accepted in
the 30-second step it belongs to or the one either side (clock drift on a phone), and
only in a step later than the last accepted one (``last_counter``): a code seen over a
shoulder cannot be replayed. Recovery codes are ten random ``xxxx-xxxx-xxxx`` strings
shown once; only their SHA-256 digests are kept, and one used is crossed out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

ISSUER = "Centrala"
STEP_S = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (as a QR code or typed)."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def counter_at(now: datetime) -> int:
    return int(now.timestamp()) // STEP_S


def accepted_counter(secret: str, code: str, now: datetime, last_counter: int) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and newer than
    ``last_counter``; else None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    here = counter_at(now)
    for counter in range(here - DRIFT_STEPS, here + DRIFT_STEPS + 1):
        if counter > last_counter and hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def new_recovery_codes() -> list[str]:
    return ["-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))
            for _ in range(RECOVERY_CODES)]


def recovery_hash(code: str) -> str:
    return hashlib.sha256("".join(code.lower().split()).encode()).hexdigest()


def use_recovery_code(hashes: list[str], code: str) -> list[str] | None:
    """``hashes`` without ``code``'s digest if it is one of them, else None."""
    digest = recovery_hash(code)
    if not any(hmac.compare_digest(digest, h) for h in hashes):
        return None
    return [h for h in hashes if h != digest]
