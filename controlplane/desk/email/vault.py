"""Mailbox passwords encrypted at rest: Fernet with a key of the installation.

Theory of operation. The key is generated on first use into ``<runtime>/desk-mail.key``
(created 0600 with ``O_EXCL`` and renamed into place, so a reader never sees half a key and
two processes racing to create it agree on the first one written); the runtime folder's
rule (:mod:`controlplane.security.file_modes`: loose files there are private) keeps it so.
The database holds only Fernet tokens: a copy of the database without the key reveals no
password. A token that does not decrypt (the key was replaced) reads as :class:`VaultError`,
which the reader reports as "re-enter the password" instead of failing obscurely.

Passwords are never returned by the pages or the API and never logged.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "desk-mail.key"


class VaultError(Exception):
    """A stored password cannot be decrypted with this installation's key."""


def key_path(runtime_dir: Path) -> Path:
    return runtime_dir / KEY_FILE


def _key(runtime_dir: Path) -> bytes:
    path = key_path(runtime_dir)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    runtime_dir.mkdir(parents=True, exist_ok=True)
    tmp = runtime_dir / f".{KEY_FILE}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    try:
        os.link(tmp, path)  # fails if another process made the key first: use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_bytes().strip()


def encrypt(runtime_dir: Path, password: str) -> str:
    """The Fernet token of ``password`` ("" stays "": no password)."""
    if not password:
        return ""
    return Fernet(_key(runtime_dir)).encrypt(password.encode()).decode()


def decrypt(runtime_dir: Path, token: str) -> str:
    if not token:
        return ""
    try:
        return Fernet(_key(runtime_dir)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise VaultError("the stored password cannot be decrypted (was the key "
                         f"{KEY_FILE} replaced?): enter the password again") from None
