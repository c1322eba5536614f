"""Copying recordings to a tenant's SFTP server (the transport; settings in
:mod:`controlplane.models.recording_sftp`).

Theory of operation
-------------------
* **Our key, not their password.** Each tenant gets an Ed25519 key pair of its own,
  generated on first use: the private half in ``<runtime>/sftp/tenant-<id>.key`` (0600 in
  a 0700 folder, never in the database, never logged), the public half on the settings
  page to paste into the server's ``authorized_keys``.
* **The server's key, pinned.** :func:`probe` connects and returns the host key the
  server shows; the admin's "test connection" pins it when none is pinned yet (they see
  its SHA256 fingerprint). Every later connection must present exactly that key, else
  :class:`SftpError` ("host key changed") and nothing is sent.
* **Whole files only.** A recording is written to ``<name>.part`` and renamed once
  complete, so the tenant's archive never holds half a file; an existing file of the same
  name is replaced (a retry after a lost acknowledgement).
* Paths: ``<remote dir>/<YYYY>/<MM>/<DD>/<call id>-<name>.wav``, the date in the tenant's
  time zone; missing folders are created.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import posixpath
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controlplane.security.file_modes import PRIVATE_DIR, PRIVATE_FILE
from controlplane.webhooks.events import refused_reason

TIMEOUT_S = 15.0


class SftpError(Exception):
    """The copy could not be made; the message says why, for the tenant's admin."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    username: str
    host_key: str  # "ssh-ed25519 AAAA…" as pinned; "" when none is yet


def key_path(runtime_dir: Path, tenant_id: int) -> Path:
    return runtime_dir / "sftp" / f"tenant-{tenant_id}.key"


def ensure_key(runtime_dir: Path, tenant_id: int) -> str:
    """The tenant's public key (OpenSSH form), generating the pair on first use."""
    path = key_path(runtime_dir, tenant_id)
    if not path.exists():
        path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption())
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        tmp.replace(path)
    key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return f"{public} centrala-tenant-{tenant_id}"


def fingerprint(host_key: str) -> str:
    """OpenSSH's ``SHA256:…`` fingerprint of a one-line public key."""
    try:
        blob = base64.b64decode(host_key.split()[1])
    except (IndexError, ValueError):
        return ""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _key_line(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def _address(target: Target, allow_private: bool) -> str:
    """The address to connect to: a private, loopback or reserved one only when allowed
    (a tenant's admin must not make the platform probe its own network)."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise SftpError(f"cannot resolve {target.host}: {err.strerror or err}") from err
    address = str(infos[0][4][0])
    why = None if allow_private else refused_reason(address)
    if why:
        raise SftpError(f"{target.host} is {why} ({address}); only public servers may receive "
                        "recordings on this platform")
    return address


@contextmanager
def _transport(target: Target, allow_private: bool) -> Iterator[paramiko.Transport]:
    address = _address(target, allow_private)
    try:
        sock = socket.create_connection((address, target.port), timeout=TIMEOUT_S)
    except OSError as err:
        raise SftpError(f"cannot reach {target.host}:{target.port}: {err.strerror or err}") from err
    transport = paramiko.Transport(sock)
    transport.banner_timeout = transport.auth_timeout = TIMEOUT_S
    try:
        try:
            transport.start_client(timeout=TIMEOUT_S)
        except paramiko.SSHException as err:
            raise SftpError(f"{target.host}:{target.port} does not speak SSH: {err}") from err
        yield transport
    finally:
        transport.close()


def probe(target: Target, allow_private: bool = False) -> str:
    """The host key the server presents (one line), without logging in."""
    with _transport(target, allow_private) as transport:
        return _key_line(transport.get_remote_server_key())


@contextmanager
def session(runtime_dir: Path, tenant_id: int, target: Target,
            allow_private: bool = False) -> Iterator[paramiko.SFTPClient]:
    """An SFTP session on the pinned server, logged in with the tenant's key."""
    if not target.host_key:
        raise SftpError("the server's host key is not confirmed yet: test the connection first")
    key = paramiko.Ed25519Key.from_private_key(io.StringIO(
        key_path(runtime_dir, tenant_id).read_text()))
    with _transport(target, allow_private) as transport:
        shown = _key_line(transport.get_remote_server_key())
        if shown.split()[:2] != target.host_key.split()[:2]:
            raise SftpError(f"host key changed: the server shows {fingerprint(shown)}, "
                            f"{fingerprint(target.host_key)} was confirmed; nothing was sent")
        try:
            transport.auth_publickey(target.username, key)
        except paramiko.AuthenticationException as err:
            raise SftpError(f"the server refused the key for user {target.username!r}: add the "
                            "public key shown on this page to its authorized_keys") from err
        client = paramiko.SFTPClient.from_transport(transport)
        if client is None:  # pragma: no cover - paramiko returns None only without a channel
            raise SftpError("the server opened no SFTP channel")
        try:
            yield client
        finally:
            client.close()


def remote_path(remote_dir: str, local_day: datetime, call_id: str, name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in f"{call_id}-{name}")
    return posixpath.join(remote_dir.rstrip("/") or ".", f"{local_day:%Y}", f"{local_day:%m}",
                          f"{local_day:%d}", f"{safe}.wav")


def _makedirs(client: paramiko.SFTPClient, folder: str) -> None:
    parts, path = [p for p in folder.split("/") if p], "/" if folder.startswith("/") else ""
    for part in parts:
        path = posixpath.join(path, part) if path else part
        try:
            client.stat(path)
        except OSError:
            client.mkdir(path)


def upload(client: paramiko.SFTPClient, local: Path, remote: str) -> int:
    """Copy ``local`` to ``remote`` through a ``.part`` name; the bytes sent."""
    _makedirs(client, posixpath.dirname(remote))
    part = remote + ".part"
    try:
        attrs = client.put(str(local), part, confirm=True)
        try:
            client.posix_rename(part, remote)
        except OSError:
            with suppress(OSError):
                client.remove(remote)
            client.rename(part, remote)
    except OSError as err:
        raise SftpError(f"writing {remote} failed: {err}") from err
    return int(attrs.st_size or 0)
