"""Mailbox passwords encrypted at rest: Fernet with a key of the installation.

Theory of operation: :mod:`controlplane.security.vault` with the key ``<runtime>/desk-mail.key``.
The database holds only Fernet tokens: a copy of the database without the key reveals no
password. A token that does not decrypt (the key was replaced) reads as :class:`VaultError`,
which the reader reports as "re-enter the password" instead of failing obscurely.

Passwords are never returned by the pages or the API and never logged.
"""

from __future__ import annotations

from pathlib import Path

from controlplane.security import vault

KEY_FILE = "desk-mail.key"


class VaultError(Exception):
    """A stored password cannot be decrypted with this installation's key."""


def key_path(runtime_dir: Path) -> Path:
    return runtime_dir / KEY_FILE


def encrypt(runtime_dir: Path, password: str) -> str:
    """The Fernet token of ``password`` ("" stays "": no password)."""
    return vault.encrypt(key_path(runtime_dir), password)


def decrypt(runtime_dir: Path, token: str) -> str:
    try:
        return vault.decrypt(key_path(runtime_dir), token)
    except vault.Unreadable:
        raise VaultError("the stored password cannot be decrypted (was the key "
                         f"{KEY_FILE} replaced?): enter the password again") from None
