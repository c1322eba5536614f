"""Files readable only by the service: modes of the runtime folder and what it holds.

The runtime folder (``var/`` by default) holds every SIP and trunk secret (the SQLite
database, ``secrets.json``, the rendered ``pjsip.conf``), the demo login, Redis' ACL file
and data, logs, pid files, recordings and TLS keys. The rule:

* our files ``0600`` and our folders ``0700`` (our processes run with umask 077, so what
  they create is private from the start; this module tightens what an older version or
  another tool left open);
* the runtime folder itself ``0750`` with the Asterisk group: Asterisk (another user, in
  its chroot) must walk through it to its own ``platform/`` and ``lab/`` trees, which
  belong to it (:meth:`controlplane.asterisk.Instance.fix_ownership`, which also takes
  every permission away from "others" there);
* recordings are written by Asterisk as its own user with umask 027: ``0640``, readable by
  the service (root, or a service user in the Asterisk group), by nobody else.

:func:`plan` is pure (paths and the modes they must have); :func:`secure_runtime` applies it
and returns what it changed, so the caller can put it in the audit trail.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
SHARED_DIR = 0o750  # the runtime folder: the Asterisk group may walk through it
# Folders of ours under the runtime folder whose whole content is private.
PRIVATE_TREES = ("log", "run", "redis", "baresip", "tls", "backups", "sftp")
PRIVATE_FILES = ("secrets.json", "demo-login.txt")
# Asterisk's own trees (owned by its user): fix_ownership handles them.
ASTERISK_TREES = ("platform", "lab")
SQLITE_SIDECARS = ("", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Want:
    path: Path
    mode: int
    gid: int | None = None  # None: leave the group as it is


@dataclass(frozen=True)
class Change:
    path: Path
    old_mode: int
    new_mode: int
    old_gid: int
    new_gid: int

    @property
    def tightened(self) -> bool:
        """Some permission was taken away (worth an audit line; a new folder given to the
        Asterisk group is set-up, not a finding)."""
        return bool(self.old_mode & ~self.new_mode)

    def describe(self) -> str:
        group = f", group {self.old_gid}→{self.new_gid}" if self.old_gid != self.new_gid else ""
        return f"{self.path}: {self.old_mode:04o}→{self.new_mode:04o}{group}"


def sqlite_path(database_url: str) -> Path | None:
    """The database file of a SQLite URL (None for other engines or in-memory)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve()


def plan(runtime_dir: Path, database_url: str, asterisk_gid: int | None) -> Iterator[Want]:
    """What must hold, for what exists now under ``runtime_dir`` (and the SQLite file)."""
    if asterisk_gid is None:
        yield Want(runtime_dir, PRIVATE_DIR)
    else:
        yield Want(runtime_dir, SHARED_DIR, asterisk_gid)
    for name in PRIVATE_FILES:
        yield Want(runtime_dir / name, PRIVATE_FILE)
    for tree in PRIVATE_TREES:
        top = runtime_dir / tree
        if top.is_dir() and not top.is_symlink():
            yield Want(top, PRIVATE_DIR)
            for path in sorted(top.rglob("*")):
                if not path.is_symlink():
                    yield Want(path, PRIVATE_DIR if path.is_dir() else PRIVATE_FILE)
    # loose files of ours in the runtime folder (databases, keys, temporary secrets)
    if runtime_dir.is_dir():
        for path in sorted(runtime_dir.iterdir()):
            if path.is_file() and not path.is_symlink() and path.name not in PRIVATE_FILES:
                yield Want(path, PRIVATE_FILE)
    db = sqlite_path(database_url)
    if db is not None:
        for suffix in SQLITE_SIDECARS:
            yield Want(db.with_name(db.name + suffix), PRIVATE_FILE)


def apply(wants: Iterator[Want]) -> list[Change]:
    """Set each existing path's mode (and group); return the changes made."""
    changes = []
    for want in wants:
        try:
            st = os.lstat(want.path)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        mode, gid = stat.S_IMODE(st.st_mode), st.st_gid
        new_gid = gid if want.gid is None else want.gid
        if new_gid != gid:
            os.chown(want.path, -1, new_gid)
        if mode != want.mode or new_gid != gid:
            os.chmod(want.path, want.mode)  # after chown, which may clear setgid bits
            changes.append(Change(want.path, mode, want.mode, gid, new_gid))
    return changes


def secure_runtime(runtime_dir: Path, database_url: str,
                   asterisk_gid: int | None) -> list[Change]:
    """Tighten the runtime folder (created if missing); returns what was changed."""
    runtime_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    return apply(plan(runtime_dir, database_url, asterisk_gid))
