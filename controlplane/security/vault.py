"""Secrets at rest in the database, encrypted with a key of the installation (Fernet).

Theory of operation: each kind of secret (mailbox passwords, the SMS provider's keys…) has
a key file under the runtime folder, generated on first use: created 0600 with ``O_EXCL``
under a temporary name and hard-linked into place, which fails when the file exists, so
two processes racing to create it agree on the first one's key and no reader sees half a
key. The database holds only Fernet tokens (AES-128-CBC + HMAC-SHA256): a copy of the
database without the runtime folder reveals nothing. A token that does not decrypt (the
key was replaced) raises :class:`Unreadable`, never returns garbage. Nothing here logs a
secret. Callers: :mod:`controlplane.desk.email.vault`, :mod:`controlplane.desk.sms.secrets`.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class Unreadable(Exception):
    """A stored token cannot be decrypted with this installation's key."""


def key(path: Path) -> bytes:
    """The key in ``path``, made on first use (see the module docstring)."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    try:
        os.link(tmp, path)  # fails if another process made the key first: use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


def encrypt(path: Path, plain: str) -> str:
    """``plain`` as a Fernet token under the key in ``path`` ("" stays "")."""
    return Fernet(key(path)).encrypt(plain.encode()).decode() if plain else ""


def decrypt(path: Path, token: str) -> str:
    """The plain text of ``token`` ("" for ""); :class:`Unreadable` if the key differs."""
    if not token:
        return ""
    try:
        return Fernet(key(path)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise Unreadable(path.name) from None
