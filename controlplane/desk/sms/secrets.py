"""Secrets of the SMS channel at rest: the provider's API key and the inbound HMAC secret.

Theory of operation: :mod:`controlplane.security.vault` (Fernet tokens under one key per
installation) with the key ``<runtime>/keys/desk-sms.key``. A copy of the database alone (a backup, a support dump) then holds no
usable key; the runtime folder is what must be guarded. The key file is written under a
temporary name and hard-linked into place, which fails when the file exists: two
processes that start at once agree on the first one's key. Decrypting with a different key raises :class:`SecretUnreadable`, never returns
garbage. Nothing here logs a secret.
"""

from __future__ import annotations

from pathlib import Path

from controlplane.desk.sms.exceptions import SecretUnreadable
from controlplane.security import vault

KEY_FILE = Path("keys") / "desk-sms.key"


def key_path(runtime_dir: Path) -> Path:
    return runtime_dir / KEY_FILE


def encrypt(runtime_dir: Path, plain: str) -> str:
    """``plain`` as a Fernet token ("" stays "": nothing to protect)."""
    return vault.encrypt(key_path(runtime_dir), plain)


def decrypt(runtime_dir: Path, token: str) -> str:
    """The plain text of ``token`` ("" for ""); :class:`SecretUnreadable` if the key differs."""
    try:
        return vault.decrypt(key_path(runtime_dir), token)
    except vault.Unreadable:
        raise SecretUnreadable("the SMS account's secret cannot be read with this "
                               "installation's key; enter the API key again") from None
