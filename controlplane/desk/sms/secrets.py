"""Secrets of the SMS channel at rest: the provider's API key and the inbound HMAC secret.

Theory of operation: they are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256, from
``cryptography``) under one key per installation, generated on first use into
``<runtime>/keys/desk-sms.key`` with mode 0600 (the same runtime folder as
``secrets.json``). A copy of the database alone (a backup, a support dump) then holds no
usable key; the runtime folder is what must be guarded. The key file is written under a
temporary name and hard-linked into place, which fails when the file exists: two
processes that start at once agree on the first one's key. Decrypting with a different key raises :class:`SecretUnreadable`, never returns
garbage. Nothing here logs a secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from controlplane.desk.sms.exceptions import SecretUnreadable

KEY_FILE = Path("keys") / "desk-sms.key"


def key_path(runtime_dir: Path) -> Path:
    return runtime_dir / KEY_FILE


def _key(runtime_dir: Path) -> bytes:
    path = key_path(runtime_dir)
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    try:
        os.link(tmp, path)  # fails if another process made the key meanwhile: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()


def encrypt(runtime_dir: Path, plain: str) -> str:
    """``plain`` as a Fernet token ("" stays "": nothing to protect)."""
    if not plain:
        return ""
    return Fernet(_key(runtime_dir)).encrypt(plain.encode()).decode()


def decrypt(runtime_dir: Path, token: str) -> str:
    """The plain text of ``token`` ("" for ""); :class:`SecretUnreadable` if the key differs."""
    if not token:
        return ""
    try:
        return Fernet(_key(runtime_dir)).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the SMS account's secret cannot be read with this "
                               "installation's key; enter the API key again") from None
